// tests/static/winograd_cost_static.cpp — cost_v's CPU figures count what the CPU backend runs:
// Winograd F(2x2, 3x3) and F(2x2, 5x5) for 3x3 and 5x5 stride-1 convolutions that keep the map's
// size, the direct count otherwise.
// The expected numbers are worked out here by hand from the tile arithmetic.
#include "thaw/core/cost.hpp"
#include "thaw/layers/conv2d.hpp"
#include "thaw/layers/relu.hpp"
#include "thaw/models/paper_cases.hpp"

namespace {

using namespace thaw;

// 13x13 maps: ceil(13/2)^2 = 7*7 = 49 tiles of 2x2 outputs, each 16 element-wise products per
// (output, input) channel pair; the input transform B^T d B is 8 four-element transforms of 4
// additions = 32 per input channel and tile, the output transform A^T m A 4*4 + 2*4 = 24 per
// output channel and tile, A dy A^T of a 2x2 gradient tile 2*2 + 4*2 = 12. FLOPs: a
// multiply-add is 2.
using Conv5to7 = Conv2d<5, 7, 3, 1, 1, Trainable>;  // Winograd
using Conv7to4 = Conv2d<7, 4, 3, 1, 1, Trainable>;  // Winograd, above the first trainable layer
using Conv4to2 = Conv2d<4, 2, 3, 2, 0, Trainable>;  // stride 2: im2col + GEMM, direct count
using Small = Net<Input<5, 13, 13>, Conv5to7, ReLU, Conv7to4, Conv4to2>;

// Conv5to7 forward: 49 * (32*5 + 2*16*7*5 + 24*7) + 7*169 (bias) = 49 * 1448 + 1183 = 72,135.
static_assert(cpu::cpu_forward_flops<Conv5to7>({5, 13, 13}) == 72'135);
// Conv7to4 forward: 49 * (32*7 + 2*16*4*7 + 24*4) + 4*169 = 49 * 1216 + 676 = 60,260.
static_assert(cpu::cpu_forward_flops<Conv7to4>({7, 13, 13}) == 60'260);
// Conv4to2 on 13x13 -> 6x6: 2*36 outputs * (2*36 + 1) = 5,256, the direct count.
static_assert(cpu::cpu_forward_flops<Conv4to2>({4, 13, 13}) == 5'256);
static_assert(cost_v<Small>.cpu_forward_flops == 72'135 + 7 * 169 /* ReLU */ + 60'260 + 5'256);

// Backward (first trainable = layer 0, so it alone has no data gradient):
//   Conv5to7 weight: 49 * (12*7 + 32*5 + 2*16*7*5) + 1183 = 49 * 1364 + 1183 = 68,019
//   ReLU: 1,183
//   Conv7to4 data, the transposed convolution 4 -> 7 channels: 49 * (32*4 + 2*16*7*4 + 24*7)
//     = 49 * 1192 = 58,408;  weight: 49 * (12*4 + 32*7 + 2*16*4*7) + 676 = 49 * 1168 + 676 = 57,908
//   Conv4to2 data 2*72*36 = 5,184; weight 72 * 73 = 5,256 (layers/conv2d.hpp's direct counts)
static_assert(cost_v<Small>.cpu_backward_flops == 68'019 + 1'183 + 58'408 + 57'908 + 5'184 + 5'256);
// The direct FLOPs stay the algorithm-independent figure.
static_assert(cost_v<Small>.forward_flops == 7 * 169 * (2 * 45 + 1) + 1'183 + 4 * 169 * (2 * 63 + 1) + 5'256);

// AlexNet conv3 (192 -> 384 on 13x13): 49 * (32*192 + 2*16*384*192 + 24*384) + 384*169
//   = 49 * 2,374,656 + 64,896 = 116,423,040, about 52% of the direct 224,345,472.
using Mid = paper::MidLevelFE;
static_assert(cpu::cpu_forward_flops<Mid::layer<7>>(Mid::shapes[7]) == 116'423'040);
static_assert(Mid::layer<7>::forward_flops(Mid::shapes[7]) == 224'345'472);
// AlexNet conv2 (64 -> 192, 5x5 on 27x27): 14*14 = 196 tiles, each 36 products per channel pair;
// B^T d B is 12 six-element transforms of 19 operations = 228 per input channel, A^T m A
// (6 + 2) * 9 = 72 per output channel: 196 * (228*64 + 2*36*192*64 + 72*192) + 192*729
//   = 196 * 913,344 + 139,968 = 179,117,760, 40% of the direct 448,037,568.
static_assert(cpu::cpu_forward_flops<Mid::layer<4>>(Mid::shapes[4]) == 179'117'760);
static_assert(Mid::layer<4>::forward_flops(Mid::shapes[4]) == 448'037'568);
// conv1 (11x11, stride 4) keeps im2col + GEMM.
static_assert(cpu::cpu_forward_flops<Mid::layer<1>>(Mid::shapes[1]) == Mid::layer<1>::forward_flops(Mid::shapes[1]));
static_assert(cost_v<Mid>.cpu_forward_flops < cost_v<Mid>.forward_flops);

}  // namespace
