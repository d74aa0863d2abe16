// thaw/model/frozen_prefix.hpp — the frozen prefix of a network: the layers below its lowest
// trainable one, up to the first dropout (whose output changes every pass). Their output is the
// same in every epoch, so a trainer may compute it once per image and cache it; which cases of an
// experiment can share such a cache follows from the same facts (experiment/sharing_plan.hpp).
// Pure functions of the layer list: every backend has the same prefix.
#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include "thaw/layers/dropout.hpp"

namespace thaw {

// How many layers of N the frozen prefix holds.
template <class N>
inline constexpr std::size_t frozen_prefix_v = []<std::size_t... I>(std::index_sequence<I...>) {
  constexpr std::array<bool, N::size> dropout{detail::is_dropout_v<typename N::template layer<I>>...};
  std::size_t p = 0;
  // != rather than <: p counts up from 0, and `p < 0` (a net whose first layer trains) is a
  // -Wtype-limits error.
  while (p != N::first_trainable && p < N::size && !dropout[p]) ++p;
  return p;
}(std::make_index_sequence<N::size>{});

// Whether that prefix holds a layer with parameters. One of markers alone (fine-tuning's, whose
// first real layer trains) computes nothing: caching it would only copy the images.
template <class N>
inline constexpr bool frozen_prefix_computes_v = [] {
  for (std::size_t i = 0; i < frozen_prefix_v<N>; ++i)
    if (N::has_parameters[i]) return true;
  return false;
}();

}  // namespace thaw
