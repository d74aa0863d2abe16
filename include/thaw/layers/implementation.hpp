// thaw/layers/implementation.hpp — what every backend's layer objects share, whatever memory
// they live in: the layers that move no data, and gradient members only where a layer trains.
#pragma once

#include <cstddef>
#include <type_traits>

#include "thaw/core/net.hpp"
#include "thaw/layers/flatten.hpp"
#include "thaw/layers/relu.hpp"

namespace thaw {

// Flatten, a Scope marker and a ReLU its predecessor already applied: output = input.
template <class L, bool Fused>
concept MovesNoData = std::is_same_v<L, Flatten> || is_scope_v<L> || (std::is_same_v<L, ReLU> && Fused);

template <class Context>
struct PassThrough {
  const float* forward(const float* x, std::size_t, Context&) { return x; }
  const float* backward(const float*, const float* dy, std::size_t, bool need_dx, Context&) {
    return need_dx ? dy : nullptr;
  }
};

// Gradients exist only for trainable layers: a frozen layer has no such members at all.
template <class Vector>
struct ParameterGradients {
  Vector weight_grad, bias_grad;
};
struct NoGradients {};
template <class L, class Vector>
using GradientsOf = std::conditional_t<layer_is_trainable_v<L>, ParameterGradients<Vector>, NoGradients>;

}  // namespace thaw
