// thaw/viz/grid.hpp — pictures of deconvnet projections: each input image beside its
// projection, in a grid, written as an 8-bit RGB PNG (stb_image_write, Debian's libstb-dev),
// atomically. Inputs are shown min-max scaled per image; projections are scaled per image
// either symmetrically (0 is mid-grey, the largest |value| reaches black or white, so the
// sign of the reconstruction stays visible) or min-max.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <stb/stb_image_write.h>
#include <xtensor/xtensor.hpp>

#include "thaw/io/atomic_file.hpp"
#include "thaw/viz/deconvnet.hpp"

namespace thaw::viz {

enum class Normalize { Symmetric, MinMax };

struct GridOptions {
  Normalize normalize = Normalize::Symmetric;
  std::size_t pairs_per_row = 3;  // input + projection pairs side by side
  std::size_t gap = 4;            // white pixels between tiles
};

namespace detail {

// One [C, H, W] float image (C = 1 or 3) into an RGB tile at (left, top) of `canvas`.
inline void draw(const float* image, std::size_t c, std::size_t h, std::size_t w, Normalize mode,
                 std::vector<std::uint8_t>& canvas, std::size_t canvas_width, std::size_t left, std::size_t top) {
  const std::size_t count = c * h * w;
  const auto [lo_it, hi_it] = std::minmax_element(image, image + count);
  double lo = *lo_it, hi = *hi_it;
  if (mode == Normalize::Symmetric) {
    const double m = std::max(std::abs(lo), std::abs(hi));
    lo = -m;
    hi = m;
  }
  const double scale = hi > lo ? 255.0 / (hi - lo) : 0.0;
  for (std::size_t y = 0; y < h; ++y)
    for (std::size_t x = 0; x < w; ++x)
      for (std::size_t k = 0; k < 3; ++k) {
        const float v = image[(c == 3 ? k : 0) * h * w + y * w + x];
        const double level = hi > lo ? (v - lo) * scale : 127.5;
        canvas[((top + y) * canvas_width + left + x) * 3 + k] = std::uint8_t(std::clamp(std::lround(level), 0L, 255L));
      }
}

}  // namespace detail

// Writes inputs[i] beside maps.pixels[i] for every image, `pairs_per_row` pairs per row.
inline void save_grid(const std::filesystem::path& path, const xt::xtensor<float, 4>& inputs, const Projections& maps,
                      GridOptions options = {}) {
  const auto& s = inputs.shape();
  const std::size_t n = s[0], c = s[1], h = s[2], w = s[3];
  if (maps.pixels.shape() != s)
    throw std::invalid_argument("thaw::viz::save_grid: the projections' shape differs from the inputs'");
  if ((c != 1 && c != 3) || n == 0 || options.pairs_per_row == 0)
    throw std::invalid_argument("thaw::viz::save_grid: need 1 or 3 channels, at least one image and one pair per row");
  const std::size_t columns = std::min(n, options.pairs_per_row), rows = (n + columns - 1) / columns;
  const std::size_t g = options.gap, width = columns * (2 * w + g) + g, height = rows * (h + g) + g;
  std::vector<std::uint8_t> canvas(width * height * 3, 255);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t left = g + (i % columns) * (2 * w + g), top = g + (i / columns) * (h + g);
    detail::draw(inputs.data() + i * c * h * w, c, h, w, Normalize::MinMax, canvas, width, left, top);
    detail::draw(maps.pixels.data() + i * c * h * w, c, h, w, options.normalize, canvas, width, left + w, top);
  }
  std::vector<char> png;
  const auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<char>*>(context);
    out->insert(out->end(), static_cast<char*>(data), static_cast<char*>(data) + size);
  };
  if (!stbi_write_png_to_func(append, &png, int(width), int(height), 3, canvas.data(), int(width * 3)))
    throw std::runtime_error("thaw::viz::save_grid: PNG encoding failed for '" + path.string() + "'");
  io::write_atomically(path, [&](std::ostream& out) { out.write(png.data(), std::streamsize(png.size())); });
}

}  // namespace thaw::viz
