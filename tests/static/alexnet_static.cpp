// tests/static/alexnet_static.cpp — the paper's Table 1 and torchvision's shapes as
// compile-time facts: this file compiling is the test.
#include "thaw/core/cost.hpp"
#include "thaw/models/paper_cases.hpp"

namespace {

using thaw::Freeze;
using thaw::Shape;
using thaw::Train;
using Mid = thaw::paper::MidLevelFE;

// Table 1: parameters per conv layer (index = the layer's position in the Net).
static_assert(Mid::layer<1>::parameter_count == 23'296);
static_assert(Mid::layer<4>::parameter_count == 307'392);
static_assert(Mid::layer<7>::parameter_count == 663'936);
static_assert(Mid::layer<9>::parameter_count == 884'992);
static_assert(Mid::layer<11>::parameter_count == 590'080);

// Totals: 1-logit head, and torchvision's 1000-class head (61,100,840 in its metadata).
static_assert(thaw::parameter_count_v<Mid> == 57'007'937);
static_assert(thaw::parameter_count_v<thaw::AlexNet<Freeze, Freeze, Freeze, Freeze, Freeze, Freeze, Freeze,
                                                    Train, 1000>> == 61'100'840);

// Spatial sizes at 224: 55 -> 27 -> 27 -> 13 -> ... -> 6, flattened to 9216.
static_assert(Mid::shapes[2] == Shape{64, 55, 55});
static_assert(Mid::shapes[4] == Shape{64, 27, 27});
static_assert(Mid::shapes[5] == Shape{192, 27, 27});
static_assert(Mid::shapes[7] == Shape{192, 13, 13});
static_assert(Mid::shapes[12] == Shape{256, 13, 13});
static_assert(Mid::shapes[14] == Shape{256, 6, 6});
static_assert(Mid::shapes[17] == Shape{9216, 1, 1});
static_assert(Mid::output_shape == Shape{1, 1, 1});

// Trainable parameters of the nine cases (conv layers per pattern + the 4,097-parameter head).
constexpr std::size_t cl1 = 23'296, cl2 = 307'392, cl3 = 663'936, cl4 = 884'992, cl5 = 590'080;
constexpr std::size_t head = 4'097;
static_assert(thaw::trainable_parameter_count_v<Mid> == 1'553'025);
static_assert(thaw::trainable_parameter_count_v<thaw::paper::CL3FE> == cl3 + head);
static_assert(thaw::trainable_parameter_count_v<thaw::paper::CL4FE> == cl4 + head);
static_assert(thaw::trainable_parameter_count_v<thaw::paper::FineTuning> == cl1 + cl2 + cl3 + cl4 + cl5 + head);
static_assert(thaw::trainable_parameter_count_v<thaw::paper::LowLevelFE> == cl1 + cl2 + head);
static_assert(thaw::trainable_parameter_count_v<thaw::paper::CL1FE> == cl1 + head);
static_assert(thaw::trainable_parameter_count_v<thaw::paper::CL2FE> == cl2 + head);
static_assert(thaw::trainable_parameter_count_v<thaw::paper::HighLevelFE> == cl5 + head);
static_assert(thaw::trainable_parameter_count_v<thaw::paper::HMLevelFE> == cl3 + cl4 + cl5 + head);

// Backward stops at the lowest trainable layer.
static_assert(thaw::first_trainable_v<Mid> == 7);
static_assert(thaw::first_trainable_v<thaw::paper::FineTuning> == 1);
static_assert(thaw::first_trainable_v<thaw::paper::HighLevelFE> == 11);
static_assert(thaw::paper::case_count == 9);

// The cost model: freezing the bottom removes backward work and kept activations.
constexpr thaw::Cost mid = thaw::cost_v<Mid>, fine = thaw::cost_v<thaw::paper::FineTuning>;
static_assert(mid.forward_flops == fine.forward_flops);
static_assert(mid.backward_flops < fine.backward_flops);
static_assert(mid.kept_activation_bytes < fine.kept_activation_bytes);
static_assert(mid.gradient_bytes == 1'553'025 * sizeof(float));
static_assert(mid.optimizer_state_bytes == 2 * mid.gradient_bytes);
// torchvision's metadata: 0.714 GFLOPs meaning multiply-adds; thaw counts 2 per MAC plus biases.
static_assert(mid.forward_flops / 2 > 710'000'000 && mid.forward_flops / 2 < 720'000'000);

// Backward FLOPs by hand, in cost.hpp's convention (conv2d.hpp, linear.hpp): a multiply-add is
// 2 FLOPs; a data gradient is one product per weight use, 2*Cout*Hout*Wout*(Cin*k*k); a weight
// gradient also sums the bias gradient, Cout*Hout*Wout*(2*Cin*k*k + 1); ReLU and dropout one
// per input, max-pool one per output, identity pools, flattens and scopes none.
// conv3 (192 -> 384, k3, 13x13 -> 13x13): data 2*384*169*1728 = 224,280,576;
// weight 384*169*3457 = 64,896*3457 = 224,345,472.
static_assert(Mid::layer<7>::backward_data_flops(Mid::shapes[7]) == 224'280'576);
static_assert(Mid::layer<7>::backward_weight_flops(Mid::shapes[7]) == 224'345'472);
// Mid-level FE, one image: backward stops at conv3 (its weight gradient only), then
//   ReLU 384*169                          =      64,896
//   conv4 (384 -> 256) data 2*43,264*3456 = 299,040,768   (43,264 = 256*169)
//   conv4 weight 43,264*6913              = 299,084,032
//   ReLU                                  =      43,264
//   frozen conv5 data 2*43,264*2304       = 199,360,512
//   ReLU                                  =      43,264
//   max-pool, 256*6*6 outputs             =       9,216   (then avgpool 6x6 -> 6x6: identity)
//   dropout                               =       9,216
//   frozen FC6 data 2*4096*9216           =  75,497,472
//   ReLU, dropout                         =       8,192
//   frozen FC7 data 2*4096*4096           =  33,554,432
//   ReLU                                  =       4,096
//   head (4096 -> 1) data 2*4096          =       8,192
//   head weight 2*4096 + 1                =       8,193
// Sum with conv3's 224,345,472: 1,131,081,217.
static_assert(mid.backward_flops == 1'131'081'217);

}  // namespace
