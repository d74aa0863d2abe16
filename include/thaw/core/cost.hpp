// thaw/core/cost.hpp — cost_v<Net>: what one training step of a freeze pattern costs, known
// before any run, so a user sees what freezing saves and why.
#pragma once

#include <cstddef>
#include <utility>

#include "thaw/core/conv_algorithm.hpp"
#include "thaw/core/net.hpp"

namespace thaw {

// Per-image work and memory of a training step; parameter-sized figures are per model.
struct Cost {
  std::size_t forward_flops = 0;          // one image, forward
  std::size_t backward_flops = 0;         // one image: data gradients above the first trainable
                                          // layer, plus weight gradients of trainable layers
  std::size_t kept_activation_bytes = 0;  // one image: what backward needs kept from forward
  std::size_t gradient_bytes = 0;         // model: one float per trainable parameter
  std::size_t optimizer_state_bytes = 0;  // model: Adam's two moments per trainable parameter
  // The FLOPs above count the direct algorithm (as torchvision's metadata does); these count
  // what the CPU backend runs, Winograd F(2x2, 3x3) and F(2x2, 5x5) for 3x3 and 5x5 stride-1
  // convolutions that keep the map's size (core/conv_algorithm.hpp).
  std::size_t cpu_forward_flops = 0;
  std::size_t cpu_backward_flops = 0;
};

namespace detail {

template <class N, std::size_t I>
constexpr Cost layer_cost() {
  using L = typename N::template layer<I>;
  constexpr Shape in = N::shapes[I];
  Cost c;
  c.forward_flops = L::forward_flops(in);
  c.cpu_forward_flops = cpu::cpu_forward_flops<L>(in);
  if constexpr (I >= N::first_trainable) {
    constexpr bool weight_grad = layer_is_trainable_v<L>;
    // The lowest trainable layer needs no gradient for its input: backward stops there.
    if constexpr (I > N::first_trainable) {
      c.backward_flops += L::backward_data_flops(in);
      c.cpu_backward_flops += cpu::cpu_backward_data_flops<L>(in);
    }
    if constexpr (weight_grad) {
      c.backward_flops += L::backward_weight_flops(in);
      c.cpu_backward_flops += cpu::cpu_backward_weight_flops<L>(in);
      c.gradient_bytes = L::parameter_count * sizeof(float);
      c.optimizer_state_bytes = 2 * L::parameter_count * sizeof(float);
    }
    c.kept_activation_bytes = L::kept_bytes(in, weight_grad);
  }
  return c;
}

constexpr Cost& operator+=(Cost& a, const Cost& b) {
  a.forward_flops += b.forward_flops;
  a.backward_flops += b.backward_flops;
  a.kept_activation_bytes += b.kept_activation_bytes;
  a.gradient_bytes += b.gradient_bytes;
  a.optimizer_state_bytes += b.optimizer_state_bytes;
  a.cpu_forward_flops += b.cpu_forward_flops;
  a.cpu_backward_flops += b.cpu_backward_flops;
  return a;
}

template <class N, std::size_t... I>
constexpr Cost net_cost(std::index_sequence<I...>) {
  Cost total;
  ((total += layer_cost<N, I>()), ...);
  return total;
}

}  // namespace detail

template <class N>
inline constexpr Cost cost_v = detail::net_cost<N>(std::make_index_sequence<N::size>{});

}  // namespace thaw
