// thaw/models/alexnet.hpp — torchvision's AlexNet as a Net whose freeze pattern is the type.
// AlexNet<CL1..CL5, FC1, FC2, FC3, Outputs>: one tag per conv layer and per linear layer.
#pragma once

#include <cstddef>

#include "thaw/core/net.hpp"
#include "thaw/core/tags.hpp"
#include "thaw/layers/adaptive_avgpool2d.hpp"
#include "thaw/layers/conv2d.hpp"
#include "thaw/layers/dropout.hpp"
#include "thaw/layers/flatten.hpp"
#include "thaw/layers/linear.hpp"
#include "thaw/layers/maxpool2d.hpp"
#include "thaw/layers/relu.hpp"
#include "thaw/layers/scope.hpp"

namespace thaw {
namespace detail {

// A non-tag argument falls back to Frozen after its assertion fired, so the user sees one
// message naming the position instead of a cascade from inside the layers.
template <class T>
using mode_or_frozen = std::conditional_t<is_mode_v<T>, T, Frozen>;

template <class CL1, class CL2, class CL3, class CL4, class CL5, class FC1, class FC2, class FC3,
          std::size_t Outputs>
struct alexnet_of {
  static_assert(is_mode_v<CL1>, "thaw::AlexNet: argument 1 (CL1, conv1) must be thaw::Freeze or thaw::Train");
  static_assert(is_mode_v<CL2>, "thaw::AlexNet: argument 2 (CL2, conv2) must be thaw::Freeze or thaw::Train");
  static_assert(is_mode_v<CL3>, "thaw::AlexNet: argument 3 (CL3, conv3) must be thaw::Freeze or thaw::Train");
  static_assert(is_mode_v<CL4>, "thaw::AlexNet: argument 4 (CL4, conv4) must be thaw::Freeze or thaw::Train");
  static_assert(is_mode_v<CL5>, "thaw::AlexNet: argument 5 (CL5, conv5) must be thaw::Freeze or thaw::Train");
  static_assert(is_mode_v<FC1>, "thaw::AlexNet: argument 6 (FC1) must be thaw::Freeze or thaw::Train");
  static_assert(is_mode_v<FC2>, "thaw::AlexNet: argument 7 (FC2) must be thaw::Freeze or thaw::Train");
  static_assert(is_mode_v<FC3>, "thaw::AlexNet: argument 8 (FC3) must be thaw::Freeze or thaw::Train");
  static_assert(Outputs > 0, "thaw::AlexNet: argument 9 (Outputs) must be at least 1");

  // torchvision.models.alexnet, layer for layer; the Scope markers give its state-dict keys.
  using type = Net<Input<3, 224, 224>,
                   Scope<"features">,
                   Conv2d<3, 64, 11, 4, 2, mode_or_frozen<CL1>>, ReLU, MaxPool2d<3, 2>,
                   Conv2d<64, 192, 5, 1, 2, mode_or_frozen<CL2>>, ReLU, MaxPool2d<3, 2>,
                   Conv2d<192, 384, 3, 1, 1, mode_or_frozen<CL3>>, ReLU,
                   Conv2d<384, 256, 3, 1, 1, mode_or_frozen<CL4>>, ReLU,
                   Conv2d<256, 256, 3, 1, 1, mode_or_frozen<CL5>>, ReLU, MaxPool2d<3, 2>,
                   Scope<"avgpool">, AdaptiveAvgPool2d<6, 6>, Flatten,
                   Scope<"classifier">,
                   Dropout<50>, Linear<9216, 4096, mode_or_frozen<FC1>>, ReLU,
                   Dropout<50>, Linear<4096, 4096, mode_or_frozen<FC2>>, ReLU,
                   Linear<4096, (Outputs > 0 ? Outputs : 1), mode_or_frozen<FC3>>>;
};

}  // namespace detail

// The paper's defaults: FC1 and FC2 frozen, a trainable one-logit head.
template <class CL1, class CL2, class CL3, class CL4, class CL5, class FC1 = Frozen, class FC2 = Frozen,
          class FC3 = Trainable, std::size_t Outputs = 1>
using AlexNet = typename detail::alexnet_of<CL1, CL2, CL3, CL4, CL5, FC1, FC2, FC3, Outputs>::type;

}  // namespace thaw
