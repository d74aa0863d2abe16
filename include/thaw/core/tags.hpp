// thaw/core/tags.hpp — the freeze tags Frozen/Trainable, their trait and concept.
// A layer's training mode is a type, so freezing decides at compile time what code exists.
#pragma once

#include <type_traits>

namespace thaw {

// The layer's parameters are fixed: no weight gradient, no optimizer state.
struct Frozen {};
// The layer's parameters learn.
struct Trainable {};

using Freeze = Frozen;
using Train = Trainable;

template <class T>
inline constexpr bool is_mode_v = std::is_same_v<T, Frozen> || std::is_same_v<T, Trainable>;

// A training-mode tag: exactly thaw::Frozen or thaw::Trainable (or their aliases).
template <class T>
concept Mode = is_mode_v<T>;

template <class T>
inline constexpr bool is_trainable_v = std::is_same_v<T, Trainable>;

}  // namespace thaw
