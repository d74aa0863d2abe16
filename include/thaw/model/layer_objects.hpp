// thaw/model/layer_objects.hpp — which implementation object Model<N, Backend> holds for each
// layer: the backend's layer<L, In, Fused>, where Fused says that a Conv2d or Linear applies the
// ReLU after it (and that this ReLU has nothing left to do). Decided from the types alone.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "thaw/core/net.hpp"
#include "thaw/layers/relu.hpp"

namespace thaw {

namespace detail {

// Layer I applies the ReLU that follows it (saves one pass over its output).
template <class N, std::size_t I>
constexpr bool applies_next_relu() {
  if constexpr (I + 1 < N::size)
    return ParameterizedLayer<typename N::template layer<I>> &&
           std::is_same_v<typename N::template layer<I + 1>, ReLU>;
  else
    return false;
}

// Layer I is a ReLU already applied by its predecessor.
template <class N, std::size_t I>
constexpr bool relu_applied_before() {
  if constexpr (I > 0) return applies_next_relu<N, I - 1>();
  else return false;
}

template <class N, class Backend, class Seq>
struct layer_objects;
template <class N, class Backend, std::size_t... I>
struct layer_objects<N, Backend, std::index_sequence<I...>> {
  using type = std::tuple<typename Backend::template layer<
      typename N::template layer<I>, N::shapes[I],
      applies_next_relu<N, I>() || relu_applied_before<N, I>()>...>;
};

}  // namespace detail

}  // namespace thaw
