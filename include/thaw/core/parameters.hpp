// thaw/core/parameters.hpp — walking a network's parameters, in layer order, over the tuple of
// layer objects a Model owns: by layer, or tensor by tensor with torchvision's key and shape;
// PyTorch's default initialization; the index of the head (the last layer with parameters).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <tuple>
#include <utility>

#include "thaw/core/net.hpp"

namespace thaw {

// f.template operator()<I>(layer object) for every layer of N with parameters; Layers is the
// tuple of layer objects, const or not, so readers and writers share one walk.
template <class N, class Layers, class F>
void for_each_parameterized(Layers& layers, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if constexpr (ParameterizedLayer<typename N::template layer<I>>) f.template operator()<I>(std::get<I>(layers));
        }(),
        ...);
  }(std::make_index_sequence<N::size>{});
}

// f(key, expected shape, values) for every weight and bias. The values are the layer's own
// container (std::vector for thaw::Cpu, device memory for thaw::Cuda): a Model reads and writes
// them through its backend's memory hooks.
template <class N, class Layers, class F>
void for_each_parameter(Layers& layers, F&& f) {
  for_each_parameterized<N>(layers, [&]<std::size_t I>(auto& layer) {
    using L = typename N::template layer<I>;
    const std::string prefix = N::key(I);
    f(prefix + ".weight", L::weight_shape, layer.weight);
    f(prefix + ".bias", std::array<std::size_t, 1>{L::bias_size}, layer.bias);
  });
}

template <class N>
inline constexpr std::size_t last_parameterized_v = [] {
  std::size_t last = 0;
  for (std::size_t i = 0; i < N::size; ++i)
    if (N::has_parameters[i]) last = i;
  return last;
}();

// PyTorch's default for Conv2d and Linear (layer I of N): kaiming_uniform(a = sqrt(5)) weights
// and uniform biases, both within +-1/sqrt(fan_in).
template <class N, std::size_t I, class Layer>
void initialize_like_pytorch(Layer& layer, std::mt19937_64& rng) {
  using L = typename N::template layer<I>;
  const float bound = 1.0f / std::sqrt(float(L::fan_in));
  std::uniform_real_distribution<float> u(-bound, bound);
  for (float& w : layer.weight) w = u(rng);
  for (float& b : layer.bias) b = u(rng);
}

}  // namespace thaw
