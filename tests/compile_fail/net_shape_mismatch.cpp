// Adjacent layers whose shapes disagree: the diagnostic names the layer index and both shapes.
// expect: thaw::Net: shape mismatch between adjacent layers
// expect: check_layer_input<2, (thaw::Shape)?[{]8, 32, 32[}], (thaw::Shape)?[{]16, 32, 32[}]>
#include "thaw/core/net.hpp"
#include "thaw/layers/conv2d.hpp"
#include "thaw/layers/relu.hpp"

#if defined(THAW_SHOULD_FAIL)
constexpr std::size_t second_in = 16;
#else
constexpr std::size_t second_in = 8;
#endif

using Net = thaw::Net<thaw::Input<3, 32, 32>, thaw::Conv2d<3, 8, 3, 1, 1, thaw::Frozen>, thaw::ReLU,
                      thaw::Conv2d<second_in, 8, 3, 1, 1, thaw::Trainable>>;
static_assert(Net::parameter_count > 0);
