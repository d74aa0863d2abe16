// A layer's mode argument must be a tag.
// expect: thaw::Conv2d: the last template argument must be thaw::Frozen or thaw::Trainable
#include "thaw/layers/conv2d.hpp"

#if defined(THAW_SHOULD_FAIL)
using Layer = thaw::Conv2d<3, 8, 3, 1, 1, bool>;
#else
using Layer = thaw::Conv2d<3, 8, 3, 1, 1, thaw::Frozen>;
#endif
static_assert(Layer::parameter_count == 3 * 8 * 9 + 8);
