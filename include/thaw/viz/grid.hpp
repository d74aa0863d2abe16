// thaw/viz/grid.hpp — pictures of deconvnet projections: each input image beside its
// projection(s), labelled with layer and channel, in a grid, written as an 8-bit RGB PNG
// (stb_image_write, Debian's libstb-dev), atomically. Inputs are shown min-max scaled per image; projections are scaled per image
// either symmetrically (0 is mid-grey, the largest |value| reaches black or white, so the
// sign of the reconstruction stays visible) or min-max.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
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
  std::size_t pairs_per_row = 3;  // input + projection(s) groups side by side
  std::size_t gap = 4;            // white pixels between tiles
  bool crop = false;              // show only the projected unit's receptive field
  bool labels = true;             // "CL<layer> c<channel>" above each projection
};

namespace detail {

// The `box` of one [C, H, W] float image (C = 1 or 3) into an RGB tile at (left, top) of
// `canvas`, scaled over the box.
inline void draw(const float* image, std::size_t c, std::size_t h, std::size_t w, Box box, Normalize mode,
                 std::vector<std::uint8_t>& canvas, std::size_t canvas_width, std::size_t left, std::size_t top) {
  double lo = std::numeric_limits<double>::max(), hi = std::numeric_limits<double>::lowest();
  for (std::size_t k = 0; k < c; ++k)
    for (std::size_t y = box.top; y < box.bottom; ++y)
      for (std::size_t x = box.left; x < box.right; ++x) {
        lo = std::min(lo, double(image[k * h * w + y * w + x]));
        hi = std::max(hi, double(image[k * h * w + y * w + x]));
      }
  if (mode == Normalize::Symmetric) {
    const double m = std::max(std::abs(lo), std::abs(hi));
    lo = -m;
    hi = m;
  }
  const double scale = hi > lo ? 255.0 / (hi - lo) : 0.0;
  for (std::size_t y = box.top; y < box.bottom; ++y)
    for (std::size_t x = box.left; x < box.right; ++x)
      for (std::size_t k = 0; k < 3; ++k) {
        const float v = image[(c == 3 ? k : 0) * h * w + y * w + x];
        const double level = hi > lo ? (v - lo) * scale : 127.5;
        canvas[((top + y - box.top) * canvas_width + left + x - box.left) * 3 + k] =
            std::uint8_t(std::clamp(std::lround(level), 0L, 255L));
      }
}

// A 3 x 5 pixel font for labels: the digits, 'C', 'L' and 'c' (bit 2 is the left column).
inline const std::uint8_t* glyph(char ch) {
  static constexpr std::uint8_t digits[10][5] = {{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
                                                 {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
                                                 {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};
  static constexpr std::uint8_t big_c[5] = {7, 4, 4, 4, 7}, big_l[5] = {4, 4, 4, 4, 7}, small_c[5] = {0, 0, 7, 4, 7};
  static constexpr std::uint8_t space[5] = {0, 0, 0, 0, 0};
  if (ch >= '0' && ch <= '9') return digits[ch - '0'];
  return ch == 'C' ? big_c : ch == 'L' ? big_l : ch == 'c' ? small_c : space;
}

// Writes `text` in black at (left, top), each font pixel `scale` canvas pixels wide.
inline void label(const std::string& text, std::vector<std::uint8_t>& canvas, std::size_t canvas_width,
                  std::size_t left, std::size_t top, std::size_t scale) {
  for (std::size_t i = 0; i < text.size(); ++i)
    for (std::size_t row = 0; row < 5; ++row)
      for (std::size_t col = 0; col < 3; ++col)
        if (glyph(text[i])[row] & (4 >> col))
          for (std::size_t dy = 0; dy < scale; ++dy)
            for (std::size_t dx = 0; dx < scale; ++dx) {
              const std::size_t at = ((top + row * scale + dy) * canvas_width + left + (i * 4 + col) * scale + dx) * 3;
              if (at + 2 < canvas.size()) canvas[at] = canvas[at + 1] = canvas[at + 2] = 0;
            }
}

}  // namespace detail

// Writes, for every image, the input followed by its projection in each of `columns` (one
// model's projections each: two give the paper's Fig. 10 comparison), `pairs_per_row` images
// per row. With `crop`, every tile shows the receptive field of its own projected unit (the
// input tile that of the first projection), padded with white to the largest field.
inline void save_grid(const std::filesystem::path& path, const xt::xtensor<float, 4>& inputs,
                      const std::vector<const Projections*>& columns, GridOptions options = {}) {
  const auto& s = inputs.shape();
  const std::size_t n = s[0], c = s[1], h = s[2], w = s[3];
  if (columns.empty()) throw std::invalid_argument("thaw::viz::save_grid: no projections");
  for (const Projections* maps : columns)
    if (maps->pixels.shape() != s || (options.crop && maps->field.size() != n))
      throw std::invalid_argument("thaw::viz::save_grid: the projections do not match the inputs' shape");
  if ((c != 1 && c != 3) || n == 0 || options.pairs_per_row == 0)
    throw std::invalid_argument("thaw::viz::save_grid: need 1 or 3 channels, at least one image and one per row");
  const auto box_of = [&](const Projections& maps, std::size_t i) { return options.crop ? maps.field[i] : Box{0, 0, h, w}; };
  std::size_t tile_h = 0, tile_w = 0;
  for (const Projections* maps : columns)
    for (std::size_t i = 0; i < n; ++i) {
      const Box b = box_of(*maps, i);
      tile_h = std::max(tile_h, b.bottom - b.top);
      tile_w = std::max(tile_w, b.right - b.left);
    }
  const std::size_t tiles = 1 + columns.size(), per_row = std::min(n, options.pairs_per_row);
  const std::size_t rows = (n + per_row - 1) / per_row, g = options.gap;
  // Labels get a strip above each row: 5 font rows at a scale that fits "CL5 c255" in a tile.
  const std::size_t scale = std::clamp<std::size_t>(tile_w / 36, 1, 3), strip = options.labels ? 5 * scale + 2 : 0;
  const std::size_t width = per_row * (tiles * tile_w + g) + g, height = rows * (tile_h + strip + g) + g;
  std::vector<std::uint8_t> canvas(width * height * 3, 255);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t left = g + (i % per_row) * (tiles * tile_w + g);
    const std::size_t top = g + (i / per_row) * (tile_h + strip + g) + strip;
    if (options.labels)
      for (std::size_t t = 0; t < columns.size(); ++t)
        detail::label("CL" + std::to_string(columns[t]->layer) + " c" + std::to_string(columns[t]->channel[i]), canvas,
                      width, left + (t + 1) * tile_w, top - strip, scale);
    detail::draw(inputs.data() + i * c * h * w, c, h, w, box_of(*columns[0], i), Normalize::MinMax, canvas, width,
                 left, top);
    for (std::size_t t = 0; t < columns.size(); ++t)
      detail::draw(columns[t]->pixels.data() + i * c * h * w, c, h, w, box_of(*columns[t], i), options.normalize,
                   canvas, width, left + (t + 1) * tile_w, top);
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

// Each input beside its projection.
inline void save_grid(const std::filesystem::path& path, const xt::xtensor<float, 4>& inputs, const Projections& maps,
                      GridOptions options = {}) {
  save_grid(path, inputs, std::vector<const Projections*>{&maps}, options);
}

}  // namespace thaw::viz
