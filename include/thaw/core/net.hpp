// thaw/core/net.hpp — Net<Input<C,H,W>, Layers...>: a flat layer list and what the compiler
// derives from it (every shape, parameter counts, first trainable layer, workspace, keys).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>

#include "thaw/core/shape.hpp"
#include "thaw/core/tags.hpp"

namespace thaw {

// The shape of one input sample, as a type: Net<Input<3, 224, 224>, ...>.
template <std::size_t C, std::size_t H, std::size_t W>
struct Input {
  static_assert(C > 0 && H > 0 && W > 0, "thaw::Input: every extent must be positive");
  static constexpr Shape shape{C, H, W};
};

template <class L>
concept ParameterizedLayer = L::has_parameters;

// A marker that names the layers after it (layers/scope.hpp's Scope). The Net reads only its
// `scope_name`, so the core needs no layer header.
template <class L>
inline constexpr bool is_scope_v = requires { L::scope_name; };

template <class L>
inline constexpr bool layer_is_trainable_v = [] {
  if constexpr (ParameterizedLayer<L>) return is_trainable_v<typename L::mode>;
  else return false;
}();

namespace detail {

// Instantiated once per layer; on a mismatch the compiler prints this type, and with it the
// layer's index and both shapes.
template <std::size_t LayerIndex, Shape Produced, Shape Expected>
struct check_layer_input {
  static_assert(Produced == Expected,
                "thaw::Net: shape mismatch between adjacent layers: the layer at index LayerIndex "
                "expects the shape Expected but receives the shape Produced (see the "
                "check_layer_input<LayerIndex, Produced, Expected> line of this diagnostic)");
  static constexpr bool ok = true;
};

}  // namespace detail

template <class InputT, class... Layers>
struct Net {
  static_assert(sizeof...(Layers) > 0, "thaw::Net: the layer list is empty");

  using input_type = InputT;
  using layers = std::tuple<Layers...>;
  template <std::size_t I>
  using layer = std::tuple_element_t<I, layers>;

  static constexpr std::size_t size = sizeof...(Layers);
  static constexpr Shape input_shape = InputT::shape;

  // shapes[0] is the input; shapes[i + 1] is the output of layer i.
  static constexpr std::array<Shape, size + 1> shapes = [] {
    std::array<Shape, size + 1> s{};
    s[0] = input_shape;
    std::size_t i = 0;
    ((s[i + 1] = Layers::output_shape(s[i]), ++i), ...);
    return s;
  }();
  static constexpr Shape output_shape = shapes[size];

 private:
  template <std::size_t... I>
  static constexpr bool check_all(std::index_sequence<I...>) {
    return (detail::check_layer_input<I, shapes[I], layer<I>::expected_input(shapes[I])>::ok && ...);
  }
  static_assert(check_all(std::make_index_sequence<size>{}));

 public:
  static constexpr std::array<bool, size> trainable{layer_is_trainable_v<Layers>...};
  static constexpr std::array<bool, size> has_parameters{Layers::has_parameters...};

  static constexpr std::size_t parameter_count = (std::size_t{0} + ... + Layers::parameter_count);
  static constexpr std::size_t trainable_parameter_count =
      (std::size_t{0} + ... + (layer_is_trainable_v<Layers> ? Layers::parameter_count : 0));

  // Index of the lowest trainable layer; `size` when every layer is frozen. Backward stops here.
  static constexpr std::size_t first_trainable = [] {
    for (std::size_t i = 0; i < size; ++i)
      if (trainable[i]) return i;
    return size;
  }();

  // Floats per sample for every layer output: an upper bound, since backends alias outputs
  // of layers that move no data (Flatten, a fused ReLU, an identity pool).
  static constexpr std::size_t workspace_floats_per_sample = [] {
    std::size_t n = 0;
    for (std::size_t i = 1; i <= size; ++i) n += shapes[i].size();
    return n;
  }();

  // State-dict key prefix of layer I: "<scope>.<position>" after a Scope marker (PyTorch's
  // nn.Sequential naming), else the plain index.
  static std::string key(std::size_t index) {
    constexpr std::array<std::string_view, size> scope_names{scope_name_of<Layers>()...};
    for (std::size_t j = index; j-- > 0;)
      if (!scope_names[j].empty())
        return std::string(scope_names[j]) + "." + std::to_string(index - j - 1);
    return std::to_string(index);
  }

 private:
  template <class L>
  static constexpr std::string_view scope_name_of() {
    if constexpr (is_scope_v<L>) return L::scope_name;
    else return {};
  }
};

template <class N>
inline constexpr std::size_t parameter_count_v = N::parameter_count;
template <class N>
inline constexpr std::size_t trainable_parameter_count_v = N::trainable_parameter_count;
template <class N>
inline constexpr std::size_t first_trainable_v = N::first_trainable;

}  // namespace thaw
