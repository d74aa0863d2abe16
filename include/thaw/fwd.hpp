// thaw/fwd.hpp — declarations only: the tags, layer templates, nets, models and backends.
// Include this where names are needed and definitions are not; it includes nothing heavy.
#pragma once

#include <cstddef>
#include <map>
#include <string>

namespace thaw {

struct Frozen;
struct Trainable;
using Freeze = Frozen;
using Train = Trainable;

struct Shape;
template <std::size_t C, std::size_t H, std::size_t W>
struct Input;

template <std::size_t InChannels, std::size_t OutChannels, std::size_t Kernel, std::size_t Stride,
          std::size_t Padding, class Mode>
struct Conv2d;
struct ReLU;
template <std::size_t Kernel, std::size_t Stride>
struct MaxPool2d;
template <std::size_t OutH, std::size_t OutW>
struct AdaptiveAvgPool2d;
template <std::size_t PercentDropped>
struct Dropout;
struct Flatten;
template <std::size_t InFeatures, std::size_t OutFeatures, class Mode>
struct Linear;

template <class InputShape, class... Layers>
struct Net;
struct Cost;

// Backend policies.
struct Cpu;

template <class Net, class Backend>
class Model;

}  // namespace thaw
