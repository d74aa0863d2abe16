// tests/static/net_static.cpp — Net<...> derivations on a small custom network: shapes,
// counts, the first trainable layer, state-dict keys' structure and the cost model's terms.
#include "thaw/core/cost.hpp"
#include "thaw/core/net.hpp"
#include "thaw/layers/adaptive_avgpool2d.hpp"
#include "thaw/layers/conv2d.hpp"
#include "thaw/layers/dropout.hpp"
#include "thaw/layers/flatten.hpp"
#include "thaw/layers/linear.hpp"
#include "thaw/layers/maxpool2d.hpp"
#include "thaw/layers/relu.hpp"

namespace {

using namespace thaw;

using Small = Net<Input<1, 8, 8>, Conv2d<1, 2, 3, 1, 1, Frozen>, ReLU, MaxPool2d<2>,
                  Conv2d<2, 4, 3, 2, 0, Trainable>, ReLU, AdaptiveAvgPool2d<3, 2>, Flatten, Dropout<25>,
                  Linear<24, 5, Trainable>>;

static_assert(Small::size == 9);
static_assert(Small::shapes[1] == Shape{2, 8, 8});
static_assert(Small::shapes[3] == Shape{2, 4, 4});
static_assert(Small::shapes[4] == Shape{4, 1, 1});  // (4 - 3) / 2 + 1
static_assert(Small::shapes[6] == Shape{4, 3, 2});
static_assert(Small::output_shape == Shape{5, 1, 1});
static_assert(Small::parameter_count == (2 * 9 + 2) + (4 * 2 * 9 + 4) + (24 * 5 + 5));
static_assert(Small::trainable_parameter_count == (4 * 2 * 9 + 4) + (24 * 5 + 5));
static_assert(Small::first_trainable == 3);
static_assert(Small::workspace_floats_per_sample == 128 + 128 + 32 + 4 + 4 + 24 + 24 + 24 + 5);

static_assert(!layer_is_trainable_v<ReLU>);
static_assert(layer_is_trainable_v<Linear<2, 2, Trainable>>);
static_assert(is_mode_v<Freeze> && is_mode_v<Train> && !is_mode_v<int>);
static_assert(Mode<Frozen> && !Mode<void>);

// Cost terms for the small net (one image): only layers from index 3 on do backward work.
constexpr Cost c = cost_v<Small>;
static_assert(c.gradient_bytes == Small::trainable_parameter_count * sizeof(float));
// Layer 3 (first trainable) needs no data gradient, only its weight gradient.
static_assert(c.backward_flops == Conv2d<2, 4, 3, 2, 0, Trainable>::backward_weight_flops({2, 4, 4}) +
                                      ReLU::backward_data_flops({4, 1, 1}) +
                                      AdaptiveAvgPool2d<3, 2>::backward_data_flops({4, 1, 1}) +
                                      Dropout<25>::backward_data_flops({24, 1, 1}) +
                                      Linear<24, 5, Trainable>::backward_data_flops({24, 1, 1}) +
                                      Linear<24, 5, Trainable>::backward_weight_flops({24, 1, 1}));
static_assert(c.kept_activation_bytes == 2 * 4 * 4 * 4 /* conv input */ + 4 * 4 /* relu output */ +
                                             24 /* dropout mask */ + 24 * 4 /* linear input */);

}  // namespace
