// thaw/backend/cpu/layers.hpp — the CPU implementation object of each layer type: its
// parameters (and, for trainable layers only, their gradients), its output buffer, and its
// forward and backward steps. Model<Net, Cpu> holds one per layer.
//
// backward(x, dy, batch, need_dx, ctx) takes the layer's input x and the gradient of its
// output, stores parameter gradients if the layer trains, and returns the gradient of its input
// (nullptr when need_dx is false: nothing below needs it). That gradient lies in the Context's
// DataGradients, and so may dy, which the step may then overwrite.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <type_traits>
#include <variant>
#include <vector>

#include "thaw/backend/cpu/conv2d.hpp"
#include "thaw/backend/cpu/elementwise.hpp"
#include "thaw/backend/cpu/linear.hpp"
#include "thaw/backend/cpu/pooling.hpp"
#include "thaw/backend/cpu/direct_conv.hpp"
#include "thaw/backend/cpu/winograd.hpp"
#include "thaw/core/conv_algorithm.hpp"
#include "thaw/core/net.hpp"
#include "thaw/layers/adaptive_avgpool2d.hpp"
#include "thaw/layers/conv2d.hpp"
#include "thaw/layers/dropout.hpp"
#include "thaw/layers/flatten.hpp"
#include "thaw/layers/implementation.hpp"
#include "thaw/layers/linear.hpp"
#include "thaw/layers/maxpool2d.hpp"
#include "thaw/layers/relu.hpp"
#include "thaw/layers/scope.hpp"

namespace thaw::cpu {

// The gradients of the layers' inputs during a backward pass. Layer I's is read only by layer
// I-1's step, so two buffers serve the whole pass: a layer writes the one its output's gradient is
// not in. (A buffer per layer held every gradient of the pass at once: 22 of the mid-level FE's
// 430 MiB at batch 32, against 13 for the pair.)
class DataGradients {
 public:
  float* other_than(const float* dy, std::size_t count) {
    return ensure(buffers_[0].data() == dy ? buffers_[1] : buffers_[0], count);
  }
  // dy, writable, when it is one of the two: its layer may overwrite it (with the gradient
  // through its activation), since nothing reads it after that layer's step. Null otherwise (the
  // loss gradient, which the Model keeps).
  float* reusable(const float* dy) {
    for (auto& b : buffers_)
      if (b.data() == dy) return b.data();
    return nullptr;
  }

 private:
  std::array<std::vector<float>, 2> buffers_;
};

// What the layers of one model share during a pass.
struct Context {
  bool training = true;  // a new Model trains, like a new torch.nn.Module; eval() for inference
  bool dropout = true;  // off: dropout is the identity even in train mode (for parity tests)
  ConvScratch conv;
  WinogradScratch winograd;
  MaxPoolScratch pooling;
  std::vector<float> linear_packing;  // the batch side a linear layer's products copy
  DataGradients data_gradients;
  std::mt19937_64 dropout_rng{0};
};

// Layer<L, In, Fused>: L is the layer type and In its input shape. For Conv2d and Linear,
// Fused means "apply the following ReLU here"; for ReLU it means "already applied".
template <class L, Shape In, bool Fused>
struct Layer;

template <class L, Shape In, bool Fused>
  requires MovesNoData<L, Fused>
struct Layer<L, In, Fused> : PassThrough<Context> {};

template <class L, Shape In, bool Fused>
  requires ParameterizedLayer<L>
struct Layer<L, In, Fused> : GradientsOf<L, std::vector<float>> {
  static constexpr Shape out = L::output_shape(In);
  static constexpr bool trainable = layer_is_trainable_v<L>;
  std::vector<float> weight = std::vector<float>(L::weight_size);
  std::vector<float> bias = std::vector<float>(L::bias_size);
  std::vector<float> output;
  std::vector<float> scratch;  // the gradient through the activation, where dy cannot take it
  // A frozen Winograd layer transforms its filters once per weight change, not once per pass.
  static constexpr bool caches_filters = !trainable && (winograd_forward_v<L> || winograd_data_grad_v<L>);
  [[no_unique_address]] std::conditional_t<caches_filters, WinogradFilterCache, std::monostate> filter_cache;

  Layer() {
    if constexpr (trainable) {  // zero until the first backward pass
      this->weight_grad.assign(L::weight_size, 0.0f);
      this->bias_grad.assign(L::bias_size, 0.0f);
    }
  }

  const float* forward(const float* x, std::size_t batch, Context& ctx) {
    float* y = ensure(output, batch * out.size());
    if constexpr (requires { L::kernel; }) {
      const ConvGeometry g{In, out, L::kernel, L::stride, L::padding};
      if constexpr (winograd_forward_v<L>)
        winograd_conv2d_forward<winograd::Transform<L::kernel>>(g, x, batch, weight.data(), bias.data(), Fused, y,
                                                                ctx.winograd, cache());
#if defined(THAW_SIMD)
      else if constexpr (direct_forward_v<L>)
        direct_conv2d_forward(g, x, batch, weight.data(), bias.data(), Fused, y, ctx.conv);
#endif
      else
        conv2d_forward(g, x, batch, weight.data(), bias.data(), Fused, y, ctx.conv);
    } else {
      linear_forward(x, batch, L::in_features, L::out_features, weight.data(), bias.data(), Fused, y,
                     ctx.linear_packing);
    }
    return y;
  }

  const float* backward(const float* x, const float* dy, std::size_t batch, bool need_dx, Context& ctx) {
    float* dweight = nullptr;
    float* dbias = nullptr;
    if constexpr (trainable) {
      dweight = this->weight_grad.data();
      dbias = this->bias_grad.data();
    }
    float* dx = need_dx ? ctx.data_gradients.other_than(dy, batch * In.size()) : nullptr;
    // Where the gradient through the activation goes: over dy when the pass allows.
    const auto dz = [&] {
      float* reused = ctx.data_gradients.reusable(dy);
      return reused ? reused : ensure(scratch, batch * out.size());
    };
    if constexpr (requires { L::kernel; }) {
      const ConvGeometry g{In, out, L::kernel, L::stride, L::padding};
      if constexpr (winograd_data_grad_v<L> || winograd_weight_grad_v<L>)
        winograd_conv2d_backward<winograd::Transform<L::kernel>, winograd_data_grad_v<L>, winograd_weight_grad_v<L>>(
            g, x, output.data(), dy, batch, weight.data(), Fused, Fused ? dz() : nullptr, dweight, dbias, dx, ctx.conv,
            ctx.winograd, cache());
      else
        conv2d_backward(g, x, output.data(), dy, batch, weight.data(), Fused, dweight, dbias, dx, ctx.conv);
    } else {
      linear_backward(x, output.data(), dy, batch, L::in_features, L::out_features, weight.data(), Fused, dz(),
                      dweight, dbias, dx, ctx.linear_packing);
    }
    return dx;
  }

 private:
  WinogradFilterCache* cache() {
    if constexpr (caches_filters) return &filter_cache;
    else return nullptr;
  }
};

template <Shape In>
struct Layer<ReLU, In, false> {
  std::vector<float> output;
  const float* forward(const float* x, std::size_t batch, Context&) {
    float* y = ensure(output, batch * In.size());
    THAW_PARALLEL_FOR
    for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(batch * In.size()); ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return y;
  }
  const float* backward(const float*, const float* dy, std::size_t batch, bool need_dx, Context& ctx) {
    if (!need_dx) return nullptr;
    float* dx = ctx.data_gradients.other_than(dy, batch * In.size());
    THAW_PARALLEL_FOR
    for (std::ptrdiff_t n = 0; n < std::ptrdiff_t(batch); ++n)
      relu_gradient(output.data() + std::size_t(n) * In.size(), dy + std::size_t(n) * In.size(), In.size(),
                    dx + std::size_t(n) * In.size());
    return dx;
  }
};

template <std::size_t K, std::size_t S, Shape In, bool Fused>
struct Layer<MaxPool2d<K, S>, In, Fused> {
  static constexpr Shape out = MaxPool2d<K, S>::output_shape(In);
  std::vector<float> output;
  std::vector<std::int32_t> switches;  // argmax per output, flat within its input plane

  const float* forward(const float* x, std::size_t batch, Context& ctx) {
    float* y = ensure(output, batch * out.size());
    maxpool2d_forward<K, S>(In, out, x, batch, y, ensure(switches, batch * out.size()), ctx.pooling);
    return y;
  }
  const float* backward(const float*, const float* dy, std::size_t batch, bool need_dx, Context& ctx) {
    if (!need_dx) return nullptr;
    float* dx = ctx.data_gradients.other_than(dy, batch * In.size());
    maxpool2d_backward(In, out, dy, switches.data(), batch, dx);
    return dx;
  }
};

template <std::size_t H, std::size_t W, Shape In, bool Fused>
struct Layer<AdaptiveAvgPool2d<H, W>, In, Fused> {
  static constexpr Shape out = AdaptiveAvgPool2d<H, W>::output_shape(In);
  std::vector<float> output;

  const float* forward(const float* x, std::size_t batch, Context&) {
    if constexpr (AdaptiveAvgPool2d<H, W>::is_identity(In)) {
      return x;
    } else {
      float* y = ensure(output, batch * out.size());
      adaptive_avgpool2d_forward(In, out, x, batch, y);
      return y;
    }
  }
  const float* backward(const float*, const float* dy, std::size_t batch, bool need_dx, Context& ctx) {
    if (!need_dx) return nullptr;
    if constexpr (AdaptiveAvgPool2d<H, W>::is_identity(In)) {
      return dy;
    } else {
      float* dx = ctx.data_gradients.other_than(dy, batch * In.size());
      adaptive_avgpool2d_backward(In, out, dy, batch, dx);
      return dx;
    }
  }
};

// Inverted dropout: in train mode keeps each element with probability 1-p and scales it by
// 1/(1-p); in eval mode it is the identity.
template <std::size_t P, Shape In, bool Fused>
struct Layer<Dropout<P>, In, Fused> {
  static constexpr float scale = float(1.0 / (1.0 - Dropout<P>::probability));
  // An element is kept when a 32-bit uniform draw is below (1-p) 2^32: two draws per output of
  // the 64-bit generator. A std::bernoulli_distribution per element (a generator call and a
  // division each) took 2.8 ms of a batch-32 step for fc6's input, this 0.4 ms.
  static constexpr std::uint64_t keep_below = ((100 - P) << 32) / 100;
  std::vector<float> output;
  std::vector<std::uint8_t> kept;  // the last training pass's mask
  bool active = false;             // whether the last forward pass dropped anything

  const float* forward(const float* x, std::size_t batch, Context& ctx) {
    active = ctx.training && ctx.dropout && P > 0;
    if (!active) return x;
    const std::size_t n = batch * In.size();
    float* y = ensure(output, n);
    std::uint8_t* mask = ensure(kept, n + 1);  // + 1: the last draw's second half
    for (std::size_t i = 0; i < n; i += 2) {
      const std::uint64_t bits = ctx.dropout_rng();
      mask[i] = (bits & 0xffffffffu) < keep_below;
      mask[i + 1] = (bits >> 32) < keep_below;
    }
    for (std::size_t i = 0; i < n; ++i) y[i] = mask[i] ? x[i] * scale : 0.0f;
    return y;
  }
  const float* backward(const float*, const float* dy, std::size_t batch, bool need_dx, Context& ctx) {
    if (!need_dx || !active) return need_dx ? dy : nullptr;
    float* dx = ctx.data_gradients.other_than(dy, batch * In.size());
    for (std::size_t i = 0; i < batch * In.size(); ++i) dx[i] = kept[i] ? dy[i] * scale : 0.0f;
    return dx;
  }
};

}  // namespace thaw::cpu
