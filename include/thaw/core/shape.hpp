// thaw/core/shape.hpp — the static shape of one sample (channels, height, width).
// Shapes are structural values so they can be template arguments and print in diagnostics.
#pragma once

#include <cstddef>
#include <string>

namespace thaw {

// One sample's shape in CHW order. A flattened vector of n features is Shape{n, 1, 1}.
struct Shape {
  std::size_t c = 0;
  std::size_t h = 1;
  std::size_t w = 1;

  constexpr std::size_t size() const { return c * h * w; }
  constexpr bool operator==(const Shape&) const = default;
};

inline std::string to_string(Shape s) {
  return "[" + std::to_string(s.c) + ", " + std::to_string(s.h) + ", " + std::to_string(s.w) + "]";
}

}  // namespace thaw
