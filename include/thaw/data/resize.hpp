// thaw/data/resize.hpp — Pillow's bilinear resize, bit for bit: what torchvision's
// Resize((224, 224)) does to a PIL image (Pillow's src/libImaging/Resample.c, 8-bit path).
//
// Pillow always antialiases: the triangle kernel is stretched by max(in/out, 1), so shrinking a
// 3000-pixel row to 224 averages ~27 source pixels per output pixel. Weights are normalised in
// double, rounded to 22-bit fixed point, and the image is filtered horizontally, rounded and
// clipped to 8 bits, then filtered vertically. A float implementation differs from Pillow by a
// grey level now and then; this one follows the integer path so the tensors match exactly.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <thaw/data/image.hpp>

namespace thaw::data {

namespace pillow {

inline constexpr int precision_bits = 32 - 8 - 2;

// For each output pixel: the first source pixel it reads, how many, and their weights.
struct Taps {
  std::size_t width = 0;  // weights per output pixel (Pillow's ksize)
  std::vector<std::size_t> first, count;
  std::vector<std::int32_t> weights;
};

inline Taps bilinear_taps(std::size_t in_size, std::size_t out_size) {
  const double scale = double(in_size) / double(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;  // the triangle's support is 1
  Taps taps;
  taps.width = std::size_t(std::ceil(support)) * 2 + 1;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  taps.weights.assign(out_size * taps.width, 0);
  std::vector<double> k(taps.width);
  for (std::size_t xx = 0; xx < out_size; ++xx) {
    // Written as Pillow writes it (no `0 + ...`, which -ffp-contract could fuse into an FMA).
    const double center = (double(xx) + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    const int xmin = std::max(0, int(center - support + 0.5));                 // C's truncation
    const int xmax = std::min(int(in_size), int(center + support + 0.5)) - xmin;
    double sum = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double d = std::abs((double(x + xmin) - center + 0.5) * ss);
      k[std::size_t(x)] = d < 1.0 ? 1.0 - d : 0.0;
      sum += k[std::size_t(x)];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = sum != 0.0 ? k[std::size_t(x)] / sum : k[std::size_t(x)];
      taps.weights[xx * taps.width + std::size_t(x)] = std::int32_t(0.5 + w * (1 << precision_bits));  // w >= 0
    }
    taps.first[xx] = std::size_t(xmin);
    taps.count[xx] = std::size_t(std::max(xmax, 0));
  }
  return taps;
}

inline std::uint8_t clip8(std::int32_t sum) {
  return std::uint8_t(std::clamp(sum >> precision_bits, 0, 255));
}

}  // namespace pillow

// Image.resize((width, height), Image.BILINEAR) for a grey or RGB image.
inline Image resize_bilinear(const Image& in, std::size_t width, std::size_t height) {
  if (in.width == 0 || in.height == 0 || width == 0 || height == 0)
    throw ImageError("thaw::data::resize_bilinear: cannot resize " + std::to_string(in.width) + "x" +
                     std::to_string(in.height) + " to " + std::to_string(width) + "x" + std::to_string(height));
  const std::size_t channels = in.channels;
  const pillow::Taps vertical = pillow::bilinear_taps(in.height, height);
  constexpr std::int32_t half = 1 << (pillow::precision_bits - 1);

  // Horizontal pass, only over the source rows the vertical pass will read (as Pillow does).
  const std::size_t row_first = vertical.first.front();
  const std::size_t row_last = vertical.first.back() + vertical.count.back();
  Image rows;
  if (width != in.width) {
    const pillow::Taps horizontal = pillow::bilinear_taps(in.width, width);
    rows = Image::blank(width, row_last - row_first, channels);
    for (std::size_t y = 0; y < rows.height; ++y) {
      const std::uint8_t* src = &in.pixels[(y + row_first) * in.width * channels];
      std::uint8_t* dst = &rows.pixels[y * width * channels];
      for (std::size_t x = 0; x < width; ++x) {
        const std::int32_t* k = &horizontal.weights[x * horizontal.width];
        const std::uint8_t* s = src + horizontal.first[x] * channels;
        for (std::size_t c = 0; c < channels; ++c) {
          std::int32_t sum = half;
          for (std::size_t t = 0; t < horizontal.count[x]; ++t) sum += std::int32_t(s[t * channels + c]) * k[t];
          dst[x * channels + c] = pillow::clip8(sum);
        }
      }
    }
  } else {
    rows = in;
  }
  const std::size_t rows_offset = width != in.width ? row_first : 0;
  if (height == in.height) return rows;

  Image out = Image::blank(width, height, channels);
  const std::size_t stride = width * channels;
  for (std::size_t y = 0; y < height; ++y) {
    const std::int32_t* k = &vertical.weights[y * vertical.width];
    const std::uint8_t* src = &rows.pixels[(vertical.first[y] - rows_offset) * stride];
    std::uint8_t* dst = &out.pixels[y * stride];
    for (std::size_t i = 0; i < stride; ++i) {
      std::int32_t sum = half;
      for (std::size_t t = 0; t < vertical.count[y]; ++t) sum += std::int32_t(src[t * stride + i]) * k[t];
      dst[i] = pillow::clip8(sum);
    }
  }
  return out;
}

}  // namespace thaw::data
