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

}  // namespace
