// thaw/data/image.hpp — an 8-bit image as the decoders hand it over: grey (1 channel) or RGB
// (3 channels), rows top to bottom, channels interleaved; and the error every image reader
// throws, which names the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace thaw::data {

struct ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Image {
  std::size_t width = 0;
  std::size_t height = 0;
  std::size_t channels = 1;  // 1: grey, 3: RGB
  std::vector<std::uint8_t> pixels;

  static Image blank(std::size_t width, std::size_t height, std::size_t channels) {
    return {width, height, channels, std::vector<std::uint8_t>(width * height * channels)};
  }
  std::uint8_t& at(std::size_t y, std::size_t x, std::size_t c = 0) { return pixels[(y * width + x) * channels + c]; }
  std::uint8_t at(std::size_t y, std::size_t x, std::size_t c = 0) const {
    return pixels[(y * width + x) * channels + c];
  }
  bool operator==(const Image&) const = default;
};

}  // namespace thaw::data
