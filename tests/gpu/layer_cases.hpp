// tests/gpu/layer_cases.hpp — the layer cases the CUDA backend is checked on (AlexNet's
// shapes), their random inputs, and one runner written against the backend policy's interface
// (Backend::layer, Backend::context), so the CPU reference and the CUDA layers go through the
// very same steps. Plain C++: included by nvcc and g++ translation units alike.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "thaw/core/net.hpp"
#include "thaw/layers/adaptive_avgpool2d.hpp"
#include "thaw/layers/conv2d.hpp"
#include "thaw/layers/dropout.hpp"
#include "thaw/layers/flatten.hpp"
#include "thaw/layers/linear.hpp"
#include "thaw/layers/maxpool2d.hpp"
#include "thaw/layers/relu.hpp"

namespace thaw::gpu_test {

template <class L, Shape In, bool Fused, bool NeedDx, const char* Name>
struct Case {
  using layer = L;
  static constexpr Shape in = In;
  static constexpr bool fused = Fused, need_dx = NeedDx;
  static constexpr const char* name = Name;
};

inline constexpr char conv1[] = "conv1 (11x11 s4 p2, ReLU fused, no dx)",
                      conv1_dx[] = "conv1 frozen with dx (stride-4 col2im)", conv2[] = "conv2 (5x5 p2, ReLU fused)",
                      conv3[] = "conv3 (3x3 p1, ReLU fused)", conv4[] = "conv4 (3x3 p1, frozen, no ReLU)",
                      relu[] = "ReLU on conv1's output", relu_fused[] = "ReLU fused (pass-through)",
                      pool1[] = "max-pool 3/2 on 64x55x55", pool2[] = "max-pool 3/2 on 192x27x27",
                      pool5[] = "max-pool 3/2 on 256x13x13", avg_identity[] = "adaptive avg-pool 6x6 of 6x6",
                      avg_uneven[] = "adaptive avg-pool 6x6 of 13x13", flatten[] = "flatten",
                      dropout_eval[] = "dropout in eval mode", fc1[] = "FC1 (9216->4096, ReLU fused)",
                      fc2[] = "FC2 (4096->4096, frozen, ReLU fused)", fc3[] = "FC3 (4096->1)";

using Cases = std::tuple<
    Case<Conv2d<3, 64, 11, 4, 2, Trainable>, Shape{3, 224, 224}, true, false, conv1>,
    Case<Conv2d<3, 64, 11, 4, 2, Frozen>, Shape{3, 224, 224}, false, true, conv1_dx>,
    Case<Conv2d<64, 192, 5, 1, 2, Trainable>, Shape{64, 27, 27}, true, true, conv2>,
    Case<Conv2d<192, 384, 3, 1, 1, Trainable>, Shape{192, 13, 13}, true, true, conv3>,
    Case<Conv2d<384, 256, 3, 1, 1, Frozen>, Shape{384, 13, 13}, false, true, conv4>,
    Case<ReLU, Shape{64, 55, 55}, false, true, relu>, Case<ReLU, Shape{384, 13, 13}, true, true, relu_fused>,
    Case<MaxPool2d<3, 2>, Shape{64, 55, 55}, false, true, pool1>,
    Case<MaxPool2d<3, 2>, Shape{192, 27, 27}, false, true, pool2>,
    Case<MaxPool2d<3, 2>, Shape{256, 13, 13}, false, true, pool5>,
    Case<AdaptiveAvgPool2d<6, 6>, Shape{256, 6, 6}, false, true, avg_identity>,
    Case<AdaptiveAvgPool2d<6, 6>, Shape{256, 13, 13}, false, true, avg_uneven>,
    Case<Flatten, Shape{256, 6, 6}, false, true, flatten>, Case<Dropout<50>, Shape{9216, 1, 1}, false, true, dropout_eval>,
    Case<Linear<9216, 4096, Trainable>, Shape{9216, 1, 1}, true, true, fc1>,
    Case<Linear<4096, 4096, Frozen>, Shape{4096, 1, 1}, true, true, fc2>,
    Case<Linear<4096, 1, Trainable>, Shape{4096, 1, 1}, false, true, fc3>>;
inline constexpr std::size_t case_count = std::tuple_size_v<Cases>;

struct LayerData {
  std::size_t batch = 0;
  std::vector<float> x, weight, bias, dy;
};
struct LayerResult {
  std::vector<float> y, dx, weight_grad, bias_grad;
  bool dx_null = false;
};

template <class C>
constexpr Shape output_shape() {
  return C::layer::output_shape(C::in);
}

// Uniform inputs and gradients, weights at PyTorch's default scale (1/sqrt(fan_in)).
template <class C>
LayerData make_data(std::size_t batch, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  auto draw = [&](std::size_t n, float scale) {
    std::vector<float> v(n);
    for (float& e : v) e = unit(rng) * scale;
    return v;
  };
  LayerData d;
  d.batch = batch;
  d.x = draw(batch * C::in.size(), 1.0f);
  d.dy = draw(batch * output_shape<C>().size(), 1.0f);
  if constexpr (ParameterizedLayer<typename C::layer>) {
    const float bound = 1.0f / std::sqrt(float(C::layer::fan_in));
    d.weight = draw(C::layer::weight_size, bound);
    d.bias = draw(C::layer::bias_size, bound);
  }
  return d;
}

// Traits: how a backend's buffers are made from and read back into host vectors.
template <class Backend, class Traits, class C>
LayerResult run_case(const LayerData& d, bool fused = C::fused, bool im2col = false) {
  typename Backend::context ctx;
  ctx.training = false;  // eval mode in both backends (a CPU context starts in train mode): dropout is the identity
  // Each convolution engine explicitly (a CUDA context would pick by math mode).
  if constexpr (requires { ctx.convolutions; })
    ctx.convolutions = im2col ? decltype(ctx.convolutions)::im2col : decltype(ctx.convolutions)::cudnn;
  if constexpr (requires { ctx.column_budget_floats; })
    ctx.column_budget_floats = std::size_t{1} << 21;  // one image per chunk in conv1 and conv2
  LayerResult r;
  auto run = [&]<bool F>() {
    typename Backend::template layer<typename C::layer, C::in, F> layer;
    if constexpr (ParameterizedLayer<typename C::layer>) {
      layer.weight.assign(d.weight.begin(), d.weight.end());
      layer.bias.assign(d.bias.begin(), d.bias.end());
    }
    auto x = Traits::upload(d.x);
    auto dy = Traits::upload(d.dy);
    const float* y = layer.forward(Traits::raw(x), d.batch, ctx);
    r.y = Traits::download(y, d.batch * output_shape<C>().size());
    const float* dx = layer.backward(Traits::raw(x), Traits::raw(dy), d.batch, C::need_dx, ctx);
    r.dx_null = dx == nullptr;
    if (dx) r.dx = Traits::download(dx, d.batch * C::in.size());
    if constexpr (layer_is_trainable_v<typename C::layer>) {
      r.weight_grad = Traits::download(layer.weight_grad);
      r.bias_grad = Traits::download(layer.bias_grad);
    }
  };
  if (fused) run.template operator()<C::fused>();
  else run.template operator()<false>();
  return r;
}

// For a fused ReLU, the sign of the pre-activation decides the gradient's mask, and two
// backends may round a near-zero z to opposite sides. Zero the output gradient there (|z|
// under 1e-4 of the largest |z|), so both backends agree on every mask bit that is tested.
inline void clear_ambiguous_gradients(const std::vector<float>& z, std::vector<float>& dy) {
  float largest = 0.0f;
  for (float v : z) largest = std::max(largest, std::abs(v));
  for (std::size_t i = 0; i < z.size(); ++i)
    if (std::abs(z[i]) < 1e-4f * largest) dy[i] = 0.0f;
}

// |got - want| <= tolerance * max|want| element by element (and NaN-free); prints the
// worst element when not.
inline bool close(const std::string& what, const std::vector<float>& got, const std::vector<float>& want,
                  double tolerance = 1e-4) {
  if (got.size() != want.size()) {
    std::printf("  %s: %zu values, expected %zu\n", what.c_str(), got.size(), want.size());
    return false;
  }
  double scale = 0, worst = 0;
  std::size_t at = 0;
  for (float w : want) scale = std::max(scale, double(std::abs(w)));
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::abs(double(got[i]) - double(want[i]));
    if (!(e <= worst)) worst = e, at = i;  // NaN counts as worst
  }
  const bool ok = worst <= tolerance * std::max(scale, 1e-30);
  if (!ok)
    std::printf("  %s: element %zu is %.9g, expected %.9g (error %.3g, allowed %.3g)\n", what.c_str(), at,
                double(got[at]), double(want[at]), worst, tolerance * scale);
  return ok;
}

inline bool same_result(const std::string& name, const LayerResult& got, const LayerResult& want) {
  bool ok = close(name + " output", got.y, want.y);
  if (got.dx_null != want.dx_null) {
    std::printf("  %s: dx is %s, expected %s\n", name.c_str(), got.dx_null ? "null" : "set",
                want.dx_null ? "null" : "set");
    ok = false;
  }
  ok = close(name + " dx", got.dx, want.dx) && ok;
  ok = close(name + " weight gradient", got.weight_grad, want.weight_grad) && ok;
  return close(name + " bias gradient", got.bias_grad, want.bias_grad) && ok;
}

// Calls f.template operator()<C>(index) for every case.
template <class F>
void for_each_case(F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f.template operator()<std::tuple_element_t<I, Cases>>(I), ...);
  }(std::make_index_sequence<case_count>{});
}

// Adam parity: `steps` updates of one tensor from the given gradients.
struct AdamRun {
  std::vector<float> params;
  std::vector<std::vector<float>> grads;  // one per step
};
inline AdamRun make_adam_run(std::size_t size, std::size_t steps, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  AdamRun run;
  run.params.resize(size);
  for (float& p : run.params) p = normal(rng) * 0.05f;
  run.grads.assign(steps, std::vector<float>(size));
  for (auto& g : run.grads)
    for (float& e : g) e = normal(rng) * 1e-2f;
  return run;
}

}  // namespace thaw::gpu_test
