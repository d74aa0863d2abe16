// thaw/layers/scope.hpp — a name marker in a Net's layer list; does no work.
// It gives the layers after it PyTorch's state-dict keys ("features.3.weight").
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include "thaw/core/shape.hpp"

namespace thaw {

// A string usable as a template argument: Scope<"features">.
template <std::size_t N>
struct FixedString {
  char text[N]{};
  constexpr FixedString(const char (&s)[N]) { std::copy_n(s, N, text); }  // NOLINT: implicit by design
  constexpr std::string_view view() const { return {text, N - 1}; }
};

// Layers after Scope<"name"> are keyed "name.<position>", counting from 0 at the layer right
// after the marker, like the modules of a torch.nn.Sequential called `name`.
template <FixedString Name>
struct Scope {
  static_assert(Name.view().size() > 0, "thaw::Scope: the name must not be empty");
  static constexpr std::string_view scope_name = Name.view();
  static constexpr bool has_parameters = false;
  static constexpr std::size_t parameter_count = 0;
  static constexpr Shape expected_input(Shape in) { return in; }
  static constexpr Shape output_shape(Shape in) { return in; }
  static constexpr std::size_t forward_flops(Shape) { return 0; }
  static constexpr std::size_t backward_data_flops(Shape) { return 0; }
  static constexpr std::size_t kept_bytes(Shape, bool) { return 0; }
  static std::string name() { return "Scope(\"" + std::string(scope_name) + "\")"; }
};

}  // namespace thaw
