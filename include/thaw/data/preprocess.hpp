// thaw/data/preprocess.hpp — the paper's input pipeline, equal to torchvision's
//   Compose([Resize((224, 224)), ToTensor(), Normalize(mean, std)])
// applied to `Image.open(f).convert('RGB')`: Pillow-exact bilinear resize of the 8-bit image,
// /255 into [0, 1], then (x - mean) / std per channel in float32, grey repeated over R, G, B.
#pragma once

#include <array>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string>

#include <xtensor/xtensor.hpp>

#include <thaw/data/image.hpp>
#include <thaw/data/image_file.hpp>
#include <thaw/data/resize.hpp>

namespace thaw::data {

struct Preprocess {
  std::size_t width = 224;
  std::size_t height = 224;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};  // ImageNet's, as torchvision's weights expect
  std::array<float, 3> stddev{0.229f, 0.224f, 0.225f};

  // The 8-bit stage: what the cache stores.
  Image resize(const Image& image) const { return resize_bilinear(image, width, height); }

  // ToTensor + Normalize of an image already resized, into out[3 * height * width] (CHW).
  void normalize_into(const Image& resized, float* out) const {
    if (resized.width != width || resized.height != height)
      throw ImageError("thaw::data::Preprocess: expected a " + std::to_string(width) + "x" + std::to_string(height) +
                       " image, got " + std::to_string(resized.width) + "x" + std::to_string(resized.height));
    const std::size_t plane = width * height;
    for (std::size_t c = 0; c < 3; ++c) {
      const std::size_t source = resized.channels == 1 ? 0 : c;
      for (std::size_t p = 0; p < plane; ++p) {
        const float unit = float(resized.pixels[p * resized.channels + source]) / 255.0f;  // ToTensor
        out[c * plane + p] = (unit - mean[c]) / stddev[c];                                  // Normalize
      }
    }
  }

  xt::xtensor<float, 3> normalize(const Image& resized) const {
    xt::xtensor<float, 3> out = xt::empty<float>({std::size_t(3), height, width});
    normalize_into(resized, out.data());
    return out;
  }

  xt::xtensor<float, 3> operator()(const Image& image) const { return normalize(resize(image)); }
  xt::xtensor<float, 3> operator()(const std::filesystem::path& file) const { return (*this)(read_image(file)); }

  // Everything that changes the cached 8-bit image; part of every cache key.
  std::string cache_key() const {
    return "pillow-bilinear-v1 " + std::to_string(width) + "x" + std::to_string(height) + " " + decoder_version;
  }
};

}  // namespace thaw::data
