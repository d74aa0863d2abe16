// examples/visualize.cpp — the paper's layer pictures (its Figs. 8-10): for each conv layer,
// every image beside the deconvnet projection of its strongest activation in that layer.
//
//   visualize [--weights FILE|DIR] [--compare FILE|DIR] [--images DIR] [--layers 1,2,3,4,5]
//             [--crop] [--out DIR]
//
// FILE: a .pth or .safetensors state dict or a thaw training checkpoint (the 1-logit AlexNet;
// an ImageNet file keeps its body); DIR: <key>.npy files. Without --weights the weights are
// random. --images: up to 9 PNG/JPEG files, converted to RGB, resized to 224 x 224 (bilinear,
// not yet Pillow-exact) and normalized with ImageNet's mean and std; without it, 9 seeded
// synthetic images. --compare adds a second model's projections beside the first's (the
// paper's Fig. 10: mid-level FE against fine-tuning); --crop shows only each projected unit's
// receptive field. Writes OUT/cl<k>.png (default OUT: visualize_out).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include <stb/stb_image.h>
#include <xtensor/xrandom.hpp>

#include "thaw/thaw.hpp"
#include "thaw/viz/grid.hpp"

namespace fs = std::filesystem;
using Net = thaw::paper::MidLevelFE;  // any pattern: the deconvnet only reads the weights

namespace {

struct Options {
  std::string weights, compare, images, out = "visualize_out";
  std::vector<std::size_t> layers{1, 2, 3, 4, 5};
  bool crop = false;
};

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr,
               "visualize: %s\nusage: visualize [--weights FILE|DIR] [--compare FILE|DIR] [--images DIR] "
               "[--layers 1,2,3,4,5] [--crop] [--out DIR]\n",
               message.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--crop") {
      o.crop = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) usage("missing value after " + arg);
    const std::string value = argv[i + 1];
    if (arg == "--weights") o.weights = value;
    else if (arg == "--compare") o.compare = value;
    else if (arg == "--images") o.images = value;
    else if (arg == "--out") o.out = value;
    else if (arg == "--layers") {
      o.layers.clear();
      for (std::size_t at = 0; at < value.size();) {
        const std::size_t comma = std::min(value.find(',', at), value.size());
        const int k = std::atoi(value.substr(at, comma - at).c_str());
        if (k < 1 || k > 5) usage("layers are 1..5, got '" + value + "'");
        o.layers.push_back(std::size_t(k));
        at = comma + 1;
      }
    } else usage("unknown option " + arg);
  }
  return o;
}

// One image file as a normalized [3, 224, 224] tensor row.
void load_image(const fs::path& path, float* dst) {
  int w = 0, h = 0, channels = 0;
  unsigned char* pixels = stbi_load(path.c_str(), &w, &h, &channels, 3);
  if (!pixels) throw std::runtime_error("cannot decode '" + path.string() + "': " + stbi_failure_reason());
  constexpr float mean[3] = {0.485f, 0.456f, 0.406f}, std_dev[3] = {0.229f, 0.224f, 0.225f};
  for (std::size_t y = 0; y < 224; ++y)
    for (std::size_t x = 0; x < 224; ++x) {
      // Bilinear sample at the output pixel's centre.
      const float sy = std::clamp((float(y) + 0.5f) * float(h) / 224.0f - 0.5f, 0.0f, float(h - 1));
      const float sx = std::clamp((float(x) + 0.5f) * float(w) / 224.0f - 0.5f, 0.0f, float(w - 1));
      const int y0 = int(sy), x0 = int(sx), y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
      const float fy = sy - float(y0), fx = sx - float(x0);
      for (int c = 0; c < 3; ++c) {
        const auto at = [&](int yy, int xx) { return float(pixels[(yy * w + xx) * 3 + c]); };
        const float v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
        dst[std::size_t(c) * 224 * 224 + y * 224 + x] = (v / 255.0f - mean[c]) / std_dev[c];
      }
    }
  stbi_image_free(pixels);
}

xt::xtensor<float, 4> load_images(const std::string& dir) {
  std::vector<fs::path> files;
  if (!dir.empty()) {
    if (!fs::is_directory(dir)) throw std::runtime_error("'" + dir + "' is not a folder of images");
    for (const auto& e : fs::directory_iterator(dir)) {
      auto ext = e.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
      if (ext == ".png" || ext == ".jpg" || ext == ".jpeg") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) throw std::runtime_error("no .png/.jpg images in '" + dir + "'");
    files.resize(std::min<std::size_t>(files.size(), 9));
  }
  if (files.empty()) {  // seeded synthetic images: smooth noise
    xt::random::seed(2020);
    return xt::random::randn<float>({std::size_t{9}, std::size_t{3}, std::size_t{224}, std::size_t{224}});
  }
  xt::xtensor<float, 4> images = xt::zeros<float>({files.size(), std::size_t{3}, std::size_t{224}, std::size_t{224}});
  for (std::size_t i = 0; i < files.size(); ++i) load_image(files[i], images.data() + i * 3 * 224 * 224);
  std::printf("loaded %zu images from %s\n", files.size(), dir.c_str());
  return images;
}

}  // namespace

// Weights from a .pth/.safetensors file (body kept, a 1000-class head redrawn) or an npy folder.
void load_weights(thaw::Model<Net, thaw::Cpu>& model, const std::string& weights) {
  if (weights.empty()) {
    std::printf("weights: random (seed 2020); pass --weights for a trained or pretrained model\n");
  } else if (fs::is_directory(weights)) {
    model.load_state_dict(thaw::io::load_npy_dir(weights));
  } else {
    const bool safetensors = fs::path(weights).extension() == ".safetensors";
    const auto report =
        model.load_pretrained(safetensors ? thaw::io::load_safetensors(weights) : thaw::io::load_torch(weights));
    std::printf("%s: loaded %zu tensors\n", weights.c_str(), report.loaded.size());
  }
}

int main(int argc, char** argv) try {
  const Options opt = parse(argc, argv);
  thaw::Model<Net, thaw::Cpu> model(2020), other(2021);
  load_weights(model, opt.weights);
  if (!opt.compare.empty()) load_weights(other, opt.compare);
  const auto images = load_images(opt.images);
  thaw::viz::DeconvNet<Net> deconv(model), deconv_other(other);
  fs::create_directories(opt.out);
  for (const std::size_t layer : opt.layers) {
    const auto maps = deconv.project(images, {.layer = layer});
    std::vector<const thaw::viz::Projections*> columns{&maps};
    thaw::viz::Projections maps_other;
    if (!opt.compare.empty()) {
      maps_other = deconv_other.project(images, {.layer = layer});
      columns.push_back(&maps_other);
    }
    const fs::path file = fs::path(opt.out) / ("cl" + std::to_string(layer) + ".png");
    thaw::viz::save_grid(file, images, columns, {.crop = opt.crop});
    std::printf("CL%zu: %s (image: channel, activation)", layer, file.c_str());
    for (std::size_t i = 0; i < maps.channel.size(); ++i) std::printf("  %zu: %zu, %.2f", i, maps.channel[i], maps.activation[i]);
    std::printf("\n");
  }
} catch (const std::exception& e) {
  std::fprintf(stderr, "visualize: %s\n", e.what());
  return 1;
}
