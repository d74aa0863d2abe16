// tests/unit/small_net.hpp — a small Net with every layer kind, so model tests run in
// milliseconds (AlexNet itself is covered by the parity test).
#pragma once

#include "thaw/thaw.hpp"

namespace thaw_test {

using SmallNet = thaw::Net<thaw::Input<3, 16, 16>, thaw::Scope<"features">,
                           thaw::Conv2d<3, 4, 3, 1, 1, thaw::Frozen>, thaw::ReLU, thaw::MaxPool2d<3, 2>,
                           thaw::Conv2d<4, 6, 3, 1, 1, thaw::Trainable>, thaw::ReLU,
                           thaw::Scope<"avgpool">, thaw::AdaptiveAvgPool2d<2, 2>, thaw::Flatten,
                           thaw::Scope<"classifier">, thaw::Dropout<50>, thaw::Linear<24, 3, thaw::Trainable>>;

// The same with one logit (a binary classifier, what Trainer trains), and a variant whose
// first convolution trains too (another freeze pattern).
template <class FirstConv>
using SmallBinaryNetOf = thaw::Net<thaw::Input<3, 16, 16>, thaw::Scope<"features">,
                                   thaw::Conv2d<3, 4, 3, 1, 1, FirstConv>, thaw::ReLU, thaw::MaxPool2d<3, 2>,
                                   thaw::Conv2d<4, 6, 3, 1, 1, thaw::Trainable>, thaw::ReLU,
                                   thaw::Scope<"avgpool">, thaw::AdaptiveAvgPool2d<2, 2>, thaw::Flatten,
                                   thaw::Scope<"classifier">, thaw::Dropout<50>, thaw::Linear<24, 1, thaw::Trainable>>;
using SmallBinaryNet = SmallBinaryNetOf<thaw::Frozen>;

}  // namespace thaw_test
