// thaw/backend/cuda/layers.cuh — the CUDA implementation object of each layer type, with the
// CPU layers' interface (thaw/backend/cpu/layers.hpp) over device buffers: parameters (and,
// for trainable layers only, their gradients) in thrust::device_vector, forward(x, batch, ctx)
// returning the output and backward(x, dy, batch, need_dx, ctx) storing parameter gradients
// and returning dx (nullptr when need_dx is false). Every pointer is a device pointer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "thaw/backend/cuda/blas.cuh"
#include "thaw/backend/cuda/context.cuh"
#include "thaw/backend/cuda/cudnn.cuh"
#include "thaw/backend/cuda/kernels.cuh"
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

namespace thaw::cuda {

// Images per convolution GEMM: as many as the context's column budget allows.
inline std::size_t conv_chunk(const ConvDims& g, std::size_t batch, const Context& ctx) {
  const std::size_t per_image = std::size_t(g.rows()) * std::size_t(g.out.plane());
  return std::clamp<std::size_t>(ctx.column_budget_floats / per_image, 1, batch);
}

// y = act(conv(x, W) + b), chunk by chunk: im2col, one GEMM W[oc, rows] x columns[rows, cp],
// then bias, ReLU and the NCHW reorder in one pass.
inline void conv2d_forward(Context& ctx, const ConvDims& g, const float* x, std::size_t batch, const float* weight,
                           const float* bias, bool relu, float* y) {
  const std::size_t rows = g.rows(), plane = g.out.plane(), oc = g.out.c, chunk = conv_chunk(g, batch, ctx);
  float* columns = ensure(ctx.columns, rows * plane * chunk);
  float* products = ensure(ctx.products, oc * plane * chunk);
  for (std::size_t n0 = 0; n0 < batch; n0 += chunk) {
    const int count = int(std::min(chunk, batch - n0));
    launch(ctx.exec(), rows * plane * count, Im2col{g, count, x + n0 * g.in.size(), columns}, "im2col");
    gemm(ctx, false, false, oc, plane * count, rows, weight, columns, products);
    launch(ctx.exec(), oc * plane * count,
           BiasActivationToNchw{products, bias, int(oc), count, int(plane), relu, y + n0 * g.out.size()},
           "conv bias/ReLU");
  }
}

// Backward of y = act(conv(x, W) + b), chunk by chunk; dweight/dbias/dx are written (not
// accumulated across calls) when non-null. The columns are rebuilt from x rather than kept.
inline void conv2d_backward(Context& ctx, const ConvDims& g, const float* x, const float* y, const float* dy,
                            std::size_t batch, const float* weight, bool relu, float* dweight, float* dbias,
                            float* dx) {
  const std::size_t rows = g.rows(), plane = g.out.plane(), oc = g.out.c, chunk = conv_chunk(g, batch, ctx);
  float* columns = ensure(ctx.columns, rows * plane * chunk);
  float* dz = ensure(ctx.products, oc * plane * chunk);
  const float* ones = ctx.ones_of(plane * chunk);
  for (std::size_t n0 = 0; n0 < batch; n0 += chunk) {
    const int count = int(std::min(chunk, batch - n0));
    const std::size_t cp = plane * std::size_t(count);
    const float beta = n0 == 0 ? 0.0f : 1.0f;  // the chunks' parameter gradients add up
    launch(ctx.exec(), oc * cp,
           ActivationGradFromNchw{y + n0 * g.out.size(), dy + n0 * g.out.size(), int(oc), count, int(plane), relu, dz},
           "conv ReLU gradient");
    if (dbias) gemm(ctx, false, false, oc, 1, cp, dz, ones, dbias, beta);
    if (dweight) {
      launch(ctx.exec(), rows * cp, Im2col{g, count, x + n0 * g.in.size(), columns}, "im2col");
      gemm(ctx, false, true, oc, rows, cp, dz, columns, dweight, beta);
    }
    if (dx) {
      gemm(ctx, true, false, rows, cp, oc, weight, dz, columns);
      launch(ctx.exec(), std::size_t(count) * g.in.size(), Col2im{g, count, columns, dx + n0 * g.in.size()},
             "col2im");
    }
  }
}

// Layer<L, In, Fused>: L is the layer type and In its input shape. For Conv2d and Linear,
// Fused means "apply the following ReLU here"; for ReLU it means "already applied".
template <class L, Shape In, bool Fused>
struct Layer;

template <class L, Shape In, bool Fused>
  requires MovesNoData<L, Fused>
struct Layer<L, In, Fused> : PassThrough<Context> {};

template <class L, Shape In, bool Fused>
  requires ParameterizedLayer<L>
struct Layer<L, In, Fused> : GradientsOf<L, thrust::device_vector<float>> {
  static constexpr Shape out = L::output_shape(In);
  static constexpr bool trainable = layer_is_trainable_v<L>;
  thrust::device_vector<float> weight = thrust::device_vector<float>(L::weight_size, 0.0f);
  thrust::device_vector<float> bias = thrust::device_vector<float>(L::bias_size, 0.0f);
  thrust::device_vector<float> output, input_grad, scratch;
#if THAW_CUDNN_ON_DEVICE
  CudnnPlans cudnn_plans;  // convolutions only
#endif

  Layer() {
    if constexpr (trainable) {  // zero until the first backward pass
      this->weight_grad.assign(L::weight_size, 0.0f);
      this->bias_grad.assign(L::bias_size, 0.0f);
    }
  }

  const float* forward(const float* x, std::size_t batch, Context& ctx) {
    float* y = ensure(output, batch * out.size());
    const float* w = thrust::raw_pointer_cast(weight.data());
    const float* b = thrust::raw_pointer_cast(bias.data());
    if constexpr (requires { L::kernel; }) {
#if THAW_CUDNN_ON_DEVICE
      if (ctx.uses_cudnn() && cudnn_conv2d_forward(ctx, cudnn_plans, geometry(), x, batch, w, b, Fused, y)) return y;
#endif
      conv2d_forward(ctx, geometry(), x, batch, w, b, Fused, y);
    } else {
      gemm(ctx, false, true, batch, L::out_features, L::in_features, x, w, y);
      launch(ctx.exec(), batch * L::out_features, BiasActivation{b, int(L::out_features), 1, Fused, y},
             "linear bias/ReLU");
    }
    return y;
  }

  const float* backward(const float* x, const float* dy, std::size_t batch, bool need_dx, Context& ctx) {
    float* dweight = nullptr;
    float* dbias = nullptr;
    if constexpr (trainable) {
      dweight = thrust::raw_pointer_cast(this->weight_grad.data());
      dbias = thrust::raw_pointer_cast(this->bias_grad.data());
    }
    float* dx = need_dx ? ensure(input_grad, batch * In.size()) : nullptr;
    const float* w = thrust::raw_pointer_cast(weight.data());
    const float* y = thrust::raw_pointer_cast(output.data());
    if constexpr (requires { L::kernel; }) {
#if THAW_CUDNN_ON_DEVICE
      if (ctx.uses_cudnn() && cudnn_conv2d_backward(ctx, cudnn_plans, geometry(), x, y, dy, batch, w, Fused,
                                             ensure(scratch, batch * out.size()), dweight, dbias, dx))
        return dx;
#endif
      conv2d_backward(ctx, geometry(), x, y, dy, batch, w, Fused, dweight, dbias, dx);
    } else {
      constexpr std::size_t in_features = L::in_features, out_features = L::out_features;
      float* dz = ensure(scratch, batch * out_features);
      launch(ctx.exec(), batch * out_features, ReluGrad{y, dy, Fused, dz}, "linear ReLU gradient");
      if (dbias) gemm(ctx, true, false, out_features, 1, batch, dz, ctx.ones_of(batch), dbias);
      if (dweight) gemm(ctx, true, false, out_features, in_features, batch, dz, x, dweight);
      if (dx) gemm(ctx, false, false, batch, in_features, out_features, dz, w, dx);
    }
    return dx;
  }

 private:
  static ConvDims geometry() {
    if constexpr (requires { L::kernel; })
      return {Dims(In), Dims(out), int(L::kernel), int(L::stride), int(L::padding)};
    else
      return {};
  }
};

template <Shape In>
struct Layer<ReLU, In, false> {
  thrust::device_vector<float> output, input_grad;
  const float* forward(const float* x, std::size_t batch, Context& ctx) {
    float* y = ensure(output, batch * In.size());
    launch(ctx.exec(), batch * In.size(), Relu{x, y}, "ReLU");
    return y;
  }
  const float* backward(const float*, const float* dy, std::size_t batch, bool need_dx, Context& ctx) {
    if (!need_dx) return nullptr;
    float* dx = ensure(input_grad, batch * In.size());
    launch(ctx.exec(), batch * In.size(), ReluGrad{thrust::raw_pointer_cast(output.data()), dy, true, dx},
           "ReLU gradient");
    return dx;
  }
};

template <std::size_t K, std::size_t S, Shape In, bool Fused>
struct Layer<MaxPool2d<K, S>, In, Fused> {
  static constexpr Shape out = MaxPool2d<K, S>::output_shape(In);
  thrust::device_vector<float> output, input_grad;
  thrust::device_vector<std::int32_t> switches;  // argmax per output, flat within its input plane

  const float* forward(const float* x, std::size_t batch, Context& ctx) {
    float* y = ensure(output, batch * out.size());
    launch(ctx.exec(), batch * out.size(),
           MaxPoolForward{Dims(In), Dims(out), int(K), int(S), x, y, ensure(switches, batch * out.size())},
           "max-pool");
    return y;
  }
  const float* backward(const float*, const float* dy, std::size_t batch, bool need_dx, Context& ctx) {
    if (!need_dx) return nullptr;
    float* dx = ensure(input_grad, batch * In.size());
    launch(ctx.exec(), batch * In.size(),
           MaxUnpool{Dims(In), Dims(out), int(K), int(S), dy, thrust::raw_pointer_cast(switches.data()), dx},
           "max-unpool");
    return dx;
  }
};

template <std::size_t H, std::size_t W, Shape In, bool Fused>
struct Layer<AdaptiveAvgPool2d<H, W>, In, Fused> {
  static constexpr Shape out = AdaptiveAvgPool2d<H, W>::output_shape(In);
  thrust::device_vector<float> output, input_grad;

  const float* forward(const float* x, std::size_t batch, Context& ctx) {
    if constexpr (AdaptiveAvgPool2d<H, W>::is_identity(In)) {
      return x;
    } else {
      float* y = ensure(output, batch * out.size());
      launch(ctx.exec(), batch * out.size(), AdaptiveAvgPoolForward{Dims(In), Dims(out), x, y}, "average pool");
      return y;
    }
  }
  const float* backward(const float*, const float* dy, std::size_t batch, bool need_dx, Context& ctx) {
    if (!need_dx) return nullptr;
    if constexpr (AdaptiveAvgPool2d<H, W>::is_identity(In)) {
      return dy;
    } else {
      float* dx = ensure(input_grad, batch * In.size());
      launch(ctx.exec(), batch * In.size(), AdaptiveAvgPoolBackward{Dims(In), Dims(out), dy, dx},
             "average-pool gradient");
      return dx;
    }
  }
};

// Inverted dropout: in train mode keeps each element with probability 1-p and scales it by
// 1/(1-p); in eval mode it is the identity. Masks come from the context's counter-based
// generator, which advances by the elements drawn.
template <std::size_t P, Shape In, bool Fused>
struct Layer<Dropout<P>, In, Fused> {
  static constexpr float keep = float(1.0 - Dropout<P>::probability);
  static constexpr float scale = float(1.0 / (1.0 - Dropout<P>::probability));
  thrust::device_vector<float> output, input_grad;
  thrust::device_vector<std::uint8_t> kept;  // the last training pass's mask
  bool active = false;                       // whether the last forward pass dropped anything

  const float* forward(const float* x, std::size_t batch, Context& ctx) {
    active = ctx.training && ctx.dropout && P > 0;
    if (!active) return x;
    const std::size_t n = batch * In.size();
    float* y = ensure(output, n);
    launch(ctx.exec(), n,
           DropoutForward{ctx.dropout_seed, ctx.dropout_counter, ctx.replay_offset(), keep, scale, x, y,
                          ensure(kept, n)},
           "dropout");
    ctx.dropout_counter += n;
    return y;
  }
  const float* backward(const float*, const float* dy, std::size_t batch, bool need_dx, Context& ctx) {
    if (!need_dx || !active) return need_dx ? dy : nullptr;
    float* dx = ensure(input_grad, batch * In.size());
    launch(ctx.exec(), batch * In.size(), DropoutBackward{scale, thrust::raw_pointer_cast(kept.data()), dy, dx},
           "dropout gradient");
    return dx;
  }
};

}  // namespace thaw::cuda
