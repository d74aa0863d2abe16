// thaw/layers/dropout.hpp — inverted dropout, active only in train mode.
// The probability is in percent because clang 14 has no floating-point template arguments.
#pragma once

#include <cstddef>
#include <string>

#include "thaw/core/shape.hpp"

namespace thaw {

template <std::size_t PercentDropped = 50>
struct Dropout {
  static_assert(PercentDropped < 100, "thaw::Dropout: the dropped percentage must be below 100");

  static constexpr double probability = PercentDropped / 100.0;
  static constexpr bool has_parameters = false;
  static constexpr std::size_t parameter_count = 0;

  static constexpr Shape expected_input(Shape in) { return in; }
  static constexpr Shape output_shape(Shape in) { return in; }
  static constexpr std::size_t forward_flops(Shape in) { return in.size(); }
  static constexpr std::size_t backward_data_flops(Shape in) { return in.size(); }
  // One byte of mask per element in train mode.
  static constexpr std::size_t kept_bytes(Shape in, bool) { return in.size(); }

  static std::string name() { return "Dropout(p=" + std::to_string(PercentDropped) + "%)"; }
};

namespace detail {
template <class L>
inline constexpr bool is_dropout_v = false;
template <std::size_t P>
inline constexpr bool is_dropout_v<Dropout<P>> = true;
}  // namespace detail

}  // namespace thaw
