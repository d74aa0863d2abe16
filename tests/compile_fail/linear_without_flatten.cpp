// A Linear layer fed an unflattened feature map: the shapes show the missing Flatten.
// expect: check_layer_input<1, (thaw::Shape)?[{]4, 2, 2[}], (thaw::Shape)?[{]16, 1, 1[}]>
#include "thaw/core/net.hpp"
#include "thaw/layers/conv2d.hpp"
#include "thaw/layers/flatten.hpp"
#include "thaw/layers/linear.hpp"

#if defined(THAW_SHOULD_FAIL)
using Net = thaw::Net<thaw::Input<1, 4, 4>, thaw::Conv2d<1, 4, 3, 1, 0, thaw::Frozen>,
                      thaw::Linear<16, 2, thaw::Trainable>>;
#else
using Net = thaw::Net<thaw::Input<1, 4, 4>, thaw::Conv2d<1, 4, 3, 1, 0, thaw::Frozen>, thaw::Flatten,
                      thaw::Linear<16, 2, thaw::Trainable>>;
#endif
static_assert(Net::output_shape == thaw::Shape{2, 1, 1});
