// thaw/data/synthetic.hpp — a built-in, clearly synthetic stand-in for the Shenzhen and
// Montgomery sets, so the whole pipeline (PNG files on disk, NLM names, decoding, resizing,
// training, external testing) runs where the real images cannot be downloaded.
//
// Each image is a grey chest-radiograph-like picture: body outline, two lung fields with domed
// diaphragms, mediastinum and heart shadow, spine, clavicles, posterior ribs, noise. Class 1
// adds TB-like findings in the upper zones (nodular opacities, a cavity, pleural thickening) of
// varying size and contrast; some are faint. Class 0 sometimes has a small calcified granuloma,
// so "a bright dot" alone does not mean TB. Two sites differ as the real ones do (the paper's
// Fig. 3): resolution, intensity histogram (gamma, window) and noise (additive vs. signal-
// dependent), so training on one and testing on the other shows a domain shift.
//
// Every pixel follows from (seed, site, index) through mt19937_64 and thaw's own uniform and
// normal draws, so the files are the same wherever the maths library (glibc's libm here) is. They say they are synthetic: in
// their names (SYNCHN_/SYNMCU_), in a PNG tEXt "Description", and in a README beside them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <thaw/core/shuffle.hpp>
#include <thaw/data/parallel_for.hpp>
#include <thaw/data/png.hpp>
#include <thaw/data/progress.hpp>
#include <thaw/io/atomic_file.hpp>

namespace thaw::data {

struct SyntheticSite {
  std::string folder;      // under the output folder
  std::string prefix;      // file names: <prefix>_<####>_<label>.png
  std::size_t images;
  std::size_t tb;          // how many of them are class 1
  std::size_t width, height;
  double gamma, black, white;  // intensity histogram: black + (white - black) * v^gamma
  double noise;                // standard deviation, in 8-bit grey levels
  bool signal_dependent;       // noise grows with brightness (quantum noise of CR plates)
  double scale;                // patient size in the field of view
};

struct SyntheticOptions {
  std::uint64_t seed = 2020;
  // Counts and class balance of the real sets (REFERENCE.md §3): 662 = 326 + 336, 138 = 80 + 58.
  SyntheticSite train{"shenzhen-like", "SYNCHN", 662, 336, 1024, 1024, 1.0, 0.02, 0.98, 3.0, false, 0.92};
  SyntheticSite test{"montgomery-like", "SYNMCU", 138, 58, 896, 1088, 0.75, 0.10, 0.90, 2.0, true, 0.85};
};

namespace detail {

// Portable draws (std's distributions differ between standard libraries).
struct Draw {
  std::mt19937_64 rng;
  double unit() { return double(rng() >> 11) * 0x1.0p-53; }
  double between(double lo, double hi) { return lo + (hi - lo) * unit(); }
  double normal() {  // Box-Muller
    const double u = 1.0 - unit(), v = unit();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2 * std::numbers::pi * v);
  }
};

// A float picture in [0, 1] with the few primitives an idealised radiograph needs; each
// primitive touches only its bounding box.
struct Canvas {
  std::size_t w, h;
  std::vector<float> v;

  template <class F>  // F(dx, dy) -> added value, for pixels within (rx, ry) of (cx, cy)
  void paint(double cx, double cy, double rx, double ry, F&& f) {
    const auto x0 = std::size_t(std::clamp(cx - rx, 0.0, double(w))), x1 = std::size_t(std::clamp(cx + rx + 1, 0.0, double(w)));
    const auto y0 = std::size_t(std::clamp(cy - ry, 0.0, double(h))), y1 = std::size_t(std::clamp(cy + ry + 1, 0.0, double(h)));
    for (std::size_t y = y0; y < y1; ++y)
      for (std::size_t x = x0; x < x1; ++x) v[y * w + x] += float(f(double(x) - cx, double(y) - cy));
  }
  // 1 inside the ellipse, 0 outside, a linear ramp `soft` pixels wide across the edge.
  static double inside(double dx, double dy, double rx, double ry, double soft) {
    const double d = std::sqrt(dx * dx / (rx * rx) + dy * dy / (ry * ry));
    return std::clamp(0.5 - (d - 1) * std::min(rx, ry) / soft, 0.0, 1.0);
  }
  void ellipse(double cx, double cy, double rx, double ry, double value, double soft) {
    paint(cx, cy, rx + soft, ry + soft, [&](double dx, double dy) { return value * inside(dx, dy, rx, ry, soft); });
  }
  void blob(double cx, double cy, double r, double value) {
    paint(cx, cy, 3 * r, 3 * r, [&](double dx, double dy) { return value * std::exp(-(dx * dx + dy * dy) / (2 * r * r)); });
  }
  void ring(double cx, double cy, double r, double thickness, double value) {
    paint(cx, cy, r + 3 * thickness, r + 3 * thickness, [&](double dx, double dy) {
      const double d = std::sqrt(dx * dx + dy * dy) - r;
      return value * std::exp(-d * d / (2 * thickness * thickness)) - (d < 0 ? 0.6 * value : 0.0);
    });
  }
  // A band along y = y0 + bend * (x - x0)^2 for x in [xa, xb], `thickness` pixels thick.
  void arc(double xa, double xb, double x0, double y0, double bend, double thickness, double value) {
    for (auto x = std::size_t(std::max(0.0, xa)); x < std::size_t(std::min(double(w), xb)); ++x) {
      const double yc = y0 + bend * (double(x) - x0) * (double(x) - x0);
      paint(double(x), yc, 0, 2 * thickness, [&](double, double dy) {
        return value * std::exp(-dy * dy / (2 * thickness * thickness / 4));
      });
    }
  }
};

inline Image render_radiograph(const SyntheticSite& site, bool tb, Draw& d) {
  Canvas c{site.width, site.height, std::vector<float>(site.width * site.height, 0.04f)};
  const double W = double(site.width), H = double(site.height), s = site.scale * d.between(0.93, 1.05);
  const double cx = W / 2 + d.between(-0.03, 0.03) * W, top = H * d.between(0.04, 0.09);
  const double soft = W / 300;
    c.ellipse(cx, top + 0.55 * H * s, 0.44 * W * s, 0.58 * H * s, 0.42, 12 * soft);  // body
  c.ellipse(cx, top + 0.08 * H * s, 0.47 * W * s, 0.12 * H * s, 0.10, 20 * soft);  // shoulders
  const double lung_rx = 0.16 * W * s * d.between(0.92, 1.08), lung_ry = 0.29 * H * s * d.between(0.92, 1.08);
  const double lung_dx = 0.18 * W * s, lung_cy = top + 0.40 * H * s;
  c.ellipse(cx, lung_cy + 0.05 * H * s, 0.06 * W * s, 0.34 * H * s, 0.10, 4 * soft);  // mediastinum
  for (int side : {-1, 1}) {
    // Air in each lung, cut off below by the domed diaphragm.
    const double lx = cx + side * lung_dx * d.between(0.95, 1.05), dome_ry = 0.22 * H * s;
    const double dome_cy = lung_cy + lung_ry * d.between(0.55, 0.7) + dome_ry;
    c.paint(lx, lung_cy, lung_rx + soft, lung_ry + soft, [&](double dx, double dy) {
      return -0.30 * Canvas::inside(dx, dy, lung_rx, lung_ry, 3 * soft) *
             (1 - Canvas::inside(dx + side * 0.02 * W, dy + lung_cy - dome_cy, lung_rx * 1.1, dome_ry, 3 * soft));
    });
  }
  // Heart shadow, over the lower part of the patient's left lung (the image's right).
  c.ellipse(cx + 0.07 * W * s, lung_cy + 0.17 * H * s, 0.12 * W * s * d.between(0.85, 1.15), 0.12 * H * s, 0.20, 6 * soft);
  c.ellipse(cx, H / 2, 0.03 * W * s, 0.6 * H, 0.16, 2 * soft);  // spine
  for (int side : {-1, 1})  // clavicles
    c.arc(cx + side * 0.04 * W * s - (side < 0 ? 0.30 * W * s : 0), cx + side * 0.04 * W * s + (side > 0 ? 0.30 * W * s : 0),
          cx, top + 0.10 * H * s, 0.25 / W, 0.012 * H * s, 0.16);
  const int ribs = 9;
  for (int k = 0; k < ribs; ++k)  // posterior ribs: arcs over each lung, curving down laterally
    for (int side : {-1, 1}) {
      const double x0 = cx + side * 0.03 * W * s, reach = 0.38 * W * s;
      c.arc(side < 0 ? x0 - reach : x0, side < 0 ? x0 : x0 + reach, x0, lung_cy - lung_ry * 0.85 + k * lung_ry * 0.21,
            0.9 / W, 0.010 * H * s, 0.09);
    }
  if (!tb && d.unit() < 0.25)  // a calcified granuloma: small, dense, benign
    c.blob(cx + (d.unit() < 0.5 ? -1 : 1) * lung_dx * d.between(0.6, 1.2), lung_cy + d.between(-0.3, 0.5) * lung_ry,
           W * d.between(0.003, 0.006), d.between(0.3, 0.5));
  if (tb) {
    const double contrast = d.between(0.04, 0.22);  // some findings are faint
    const int side = d.unit() < 0.5 ? -1 : 1;
    const double ux = cx + side * lung_dx, uy = lung_cy - 0.45 * lung_ry;  // upper zone
    const int nodules = 2 + int(d.unit() * 7);
    for (int n = 0; n < nodules; ++n)
      c.blob(ux + d.between(-0.6, 0.6) * lung_rx, uy + d.between(-0.35, 0.35) * lung_ry, W * d.between(0.006, 0.025),
             contrast * d.between(0.6, 1.2));
    if (d.unit() < 0.4) c.ring(ux + d.between(-0.3, 0.3) * lung_rx, uy, W * d.between(0.015, 0.03), W * 0.004, contrast * 1.4);
    if (d.unit() < 0.35)  // pleural thickening along the lateral edge
      c.ellipse(cx + side * (lung_dx + lung_rx * 0.9), lung_cy, 0.02 * W * s, lung_ry * 0.7, contrast, 2 * soft);
    if (d.unit() < 0.3) {  // disease in both upper zones
      c.blob(cx - side * lung_dx + d.between(-0.4, 0.4) * lung_rx, uy, W * d.between(0.01, 0.03), contrast);
    }
  }
  Image image = Image::blank(site.width, site.height, 1);
  for (std::size_t i = 0; i < c.v.size(); ++i) {
    const double v = std::clamp(double(c.v[i]), 0.0, 1.0);
    double grey = 255 * (site.black + (site.white - site.black) * std::pow(v, site.gamma));
    grey += d.normal() * site.noise * (site.signal_dependent ? std::sqrt(grey / 128.0) : 1.0);
    image.pixels[i] = std::uint8_t(std::clamp(std::lround(grey), 0L, 255L));
  }
  return image;
}

inline nlohmann::json synthetic_stamp(const SyntheticOptions& o) {
  const auto site = [](const SyntheticSite& s) {
    return nlohmann::json{{"folder", s.folder}, {"prefix", s.prefix}, {"images", s.images}, {"tb", s.tb},
                          {"width", s.width}, {"height", s.height}, {"gamma", s.gamma}, {"black", s.black},
                          {"white", s.white}, {"noise", s.noise}, {"signal_dependent", s.signal_dependent},
                          {"scale", s.scale}};
  };
  return {{"generator", "thaw synthetic CXR v1"}, {"seed", o.seed}, {"train", site(o.train)}, {"test", site(o.test)}};
}

}  // namespace detail

// Writes <folder>/<site>/CXR_png/<prefix>_<####>_<label>.png for both sites (in parallel on
// `threads` threads) and a README.txt. synthetic.json records the options, and whether the set
// is complete: with the same options a complete set is kept as it is, and an interrupted one
// (Ctrl-C) is finished, keeping the images already written (each was written atomically).
// Other options redraw everything. Returns the two image folders.
struct SyntheticFolders {
  std::filesystem::path train, test;
};

inline SyntheticFolders write_synthetic_cxr(const std::filesystem::path& folder, const SyntheticOptions& options = {},
                                            std::ostream* log = &std::clog, std::size_t threads = 2) {
  namespace fs = std::filesystem;
  const SyntheticFolders out{folder / options.train.folder / "CXR_png", folder / options.test.folder / "CXR_png"};
  for (const SyntheticSite* site : {&options.train, &options.test})  // before anything is touched
    if (site->tb > site->images)
      throw std::invalid_argument("thaw::data: synthetic site '" + site->folder + "' asks for more TB images than images");
  const nlohmann::json stamp = detail::synthetic_stamp(options);
  nlohmann::json recorded;
  if (std::ifstream in(folder / "synthetic.json"); in) recorded = nlohmann::json::parse(in, nullptr, false);
  const bool same = recorded.is_object() && recorded.contains("options") && recorded["options"] == stamp;
  if (same && recorded.value("complete", false)) {
    if (log != nullptr) *log << "thaw::data: synthetic set already in '" << folder.string() << "'\n";
    return out;
  }
  const auto record = [&](bool complete) {
    io::write_atomically(folder / "synthetic.json", [&](std::ostream& o) {
      o << nlohmann::json{{"options", stamp}, {"complete", complete}}.dump(1) << "\n";
    });
  };
  record(false);
  for (const SyntheticSite* site : {&options.train, &options.test}) {
    const std::uint64_t site_seed = options.seed * 2 + (site == &options.test ? 1 : 0);
    const fs::path images = folder / site->folder / "CXR_png";
    if (!same) fs::remove_all(images);
    fs::create_directories(images);
    std::mt19937_64 label_rng(site_seed);
    std::vector<int> labels(site->images, 0);
    std::fill_n(labels.begin(), site->tb, 1);
    shuffle_in_place(labels, label_rng);
    Progress progress(log, "synthetic " + site->folder + " images drawn", site->images);
    parallel_for(site->images, threads, [&](std::size_t i) {
      detail::Draw d{std::mt19937_64(site_seed * 1000003 + i)};
      char name[64];
      std::snprintf(name, sizeof name, "%s_%04zu_%d.png", site->prefix.c_str(), i + 1, labels[i]);
      if (!fs::exists(images / name))
        write_png(images / name, detail::render_radiograph(*site, labels[i] == 1, d),
                  {{"Description", "SYNTHETIC chest radiograph drawn by thaw; not a medical image"},
                   {"Software", "thaw synthetic CXR v1"},
                   {"Comment", "site " + site->folder + ", seed " + std::to_string(options.seed) + ", label " +
                                   std::to_string(labels[i])}});
      progress.step();
    });
  }
  io::write_atomically(folder / "README.txt", [](std::ostream& o) {
    o << "SYNTHETIC DATA. These images were drawn by thaw's built-in generator (thaw/data/synthetic.hpp).\n"
         "They imitate the layout of the NLM Shenzhen and Montgomery chest X-ray sets (names ending in _0\n"
         "normal / _1 TB-like findings) so that thaw's pipeline can run without the real data. They are\n"
         "not radiographs of anyone and say nothing about tuberculosis. scripts/fetch-data.sh gets the real sets.\n";
  });
  record(true);
  return out;
}

}  // namespace thaw::data
