// tests/gpu/backend_checks.hpp — the checks of the CUDA backend against the CPU backend:
// every layer case forward and backward, dropout masks, the BCE loss and Adam. The same code
// runs on the GPU (gpu_tests.cu, nvcc) and, with Thrust's CPP system and the host GEMM, on
// the host (host_backend_test.cpp, g++) where CI runs it. A check prints what differs and
// returns false.
#pragma once

#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <thrust/copy.h>

#include "cpu_reference.hpp"
#include "layer_cases.hpp"
#include "thaw/backend/cuda/cuda.cuh"

namespace thaw::gpu_test {

struct DeviceTraits {
  static thrust::device_vector<float> upload(const std::vector<float>& v) { return {v.begin(), v.end()}; }
  static const float* raw(const thrust::device_vector<float>& v) { return thrust::raw_pointer_cast(v.data()); }
  template <class T>
  static std::vector<T> download(const T* p, std::size_t n) {
    std::vector<T> host(n);
    thrust::copy(thrust::device_pointer_cast(p), thrust::device_pointer_cast(p) + n, host.begin());
    return host;
  }
  template <class T>
  static std::vector<T> download(const thrust::device_vector<T>& v) {
    return download(thrust::raw_pointer_cast(v.data()), v.size());
  }
};

struct Check {
  std::string name;
  std::function<bool()> run;
};

// im2col: convolutions through thaw's im2col and GEMM even where cuDNN is built in.
inline std::vector<Check> layer_checks(std::size_t batch, bool im2col = false, bool convolutions_only = false) {
  std::vector<Check> checks;
  for_each_case([&]<class C>(std::size_t index) {
    if (convolutions_only && !requires { C::layer::in_channels; }) return;
    const std::string name = std::string(C::name) + ", batch " + std::to_string(batch) + (im2col ? ", im2col" : "");
    checks.push_back({name, [batch, index, im2col] {
                        LayerData data = make_data<C>(batch, unsigned(100 + index));
                        if constexpr (ParameterizedLayer<typename C::layer>)
                          if (C::fused) clear_ambiguous_gradients(cpu_layer(index, data, false).y, data.dy);
                        const LayerResult want = cpu_layer(index, data, C::fused);
                        const LayerResult got = run_case<Cuda, DeviceTraits, C>(data, C::fused, im2col);
                        return same_result(C::name, got, want);
                      }});
  });
  return checks;
}

// Train-mode dropout: the mask is the documented hash of (seed, counter + i), about half the
// elements survive, kept values double, the gradient goes through the same mask, and the
// counter moves on so the next pass draws a different mask.
inline bool dropout_check() {
  constexpr Shape in{9216, 1, 1};
  constexpr std::size_t batch = 4, n = batch * in.size();
  cuda::Context ctx;
  ctx.training = true;
  ctx.dropout_seed = 1234;
  ctx.dropout_counter = 77;
  cuda::Layer<Dropout<50>, in, false> layer;
  const LayerData d = make_data<Case<Dropout<50>, in, false, true, dropout_eval>>(batch, 5);
  auto x = DeviceTraits::upload(d.x), dy = DeviceTraits::upload(d.dy);
  const auto y = DeviceTraits::download(layer.forward(DeviceTraits::raw(x), batch, ctx), n);
  const auto kept = DeviceTraits::download(layer.kept);
  const auto dx = DeviceTraits::download(layer.backward(nullptr, DeviceTraits::raw(dy), batch, true, ctx), n);
  std::size_t survivors = 0, wrong = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const bool keep = cuda::dropout_keeps(1234, 77 + i, 0.5f);
    survivors += keep;
    wrong += (kept[i] != keep) + (y[i] != (keep ? d.x[i] * 2.0f : 0.0f)) + (dx[i] != (keep ? d.dy[i] * 2.0f : 0.0f));
  }
  bool ok = wrong == 0;
  if (!ok) std::printf("  dropout: %zu mask/output/gradient elements differ from the documented hash\n", wrong);
  // Binomial(n, 1/2): 6 standard deviations.
  const double sigma = std::sqrt(double(n) * 0.25);
  if (std::abs(double(survivors) - 0.5 * double(n)) > 6 * sigma) {
    std::printf("  dropout: %zu of %zu kept, expected about half\n", survivors, n);
    ok = false;
  }
  if (ctx.dropout_counter != 77 + n) {
    std::printf("  dropout: the counter is %llu after one pass, expected %zu\n",
                (unsigned long long)ctx.dropout_counter, 77 + n);
    ok = false;
  }
  layer.forward(DeviceTraits::raw(x), batch, ctx);
  if (DeviceTraits::download(layer.kept) == kept) {
    std::printf("  dropout: the second pass drew the same mask\n");
    ok = false;
  }
  ctx.dropout = false;
  if (layer.forward(DeviceTraits::raw(x), batch, ctx) != DeviceTraits::raw(x)) {
    std::printf("  dropout: with dropout switched off the layer is not the identity\n");
    ok = false;
  }
  return ok;
}

// The loss and its gradient against thaw::train::bce_with_logits, on logits that include the
// large magnitudes where the naive formula overflows.
inline bool bce_check() {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> z(257), y(257);
  for (std::size_t i = 0; i < z.size(); ++i) {
    z[i] = i % 50 == 0 ? (i % 100 == 0 ? 60.0f : -60.0f) : normal(rng);
    y[i] = float(rng() % 2);
  }
  std::vector<float> want_dz;
  const double want = cpu_bce(z, y, want_dz);
  cuda::Context ctx;
  auto dz = DeviceTraits::upload(std::vector<float>(z.size()));
  auto z_d = DeviceTraits::upload(z), y_d = DeviceTraits::upload(y);
  const double got = cuda::bce_with_logits(ctx, DeviceTraits::raw(z_d), DeviceTraits::raw(y_d), z.size(),
                                           thrust::raw_pointer_cast(dz.data()));
  bool ok = close("loss gradient", DeviceTraits::download(dz), want_dz, 1e-6);
  if (!(std::abs(got - want) <= 1e-9 * std::abs(want))) {
    std::printf("  loss: %.12g, expected %.12g\n", got, want);
    ok = false;
  }
  return ok;
}

// Ten steps of Adam (with and without weight decay) against thaw::train::Adam.
inline bool adam_check(double weight_decay) {
  const AdamRun run = make_adam_run(10000, 10, 21);
  train::AdamOptions options;
  options.lr = 1e-3;
  options.weight_decay = weight_decay;
  const std::vector<float> want = cpu_adam(run, options);
  cuda::Context ctx;
  auto params = DeviceTraits::upload(run.params);
  cuda::AdamMoments moments(run.params.size());
  std::uint64_t step = 0;
  for (const auto& g : run.grads) {
    auto grad = DeviceTraits::upload(g);
    cuda::adam_update(ctx, cuda::adam_scalars(options, ++step), thrust::raw_pointer_cast(params.data()),
                      DeviceTraits::raw(grad), moments, g.size());
  }
  return close("Adam parameters", DeviceTraits::download(params), want, 1e-5);
}

inline std::vector<Check> all_checks(std::size_t batch) {
  std::vector<Check> checks = layer_checks(batch);
  checks.push_back({"dropout in train mode", dropout_check});
  checks.push_back({"BCE-with-logits loss and gradient", bce_check});
  checks.push_back({"10 Adam steps", [] { return adam_check(0); }});
  checks.push_back({"10 Adam steps with weight decay", [] { return adam_check(0.01); }});
  return checks;
}

// Runs the checks whose name contains `filter` (all when empty); 0 when all pass, else 1.
inline int run_checks(const std::vector<Check>& checks, const std::string& filter) {
  int failed = 0, ran = 0;
  for (const Check& check : checks) {
    if (!filter.empty() && check.name.find(filter) == std::string::npos) continue;
    ++ran;
    bool ok = false;
    try {
      ok = check.run();
    } catch (const std::exception& e) {
      std::printf("  %s: %s\n", check.name.c_str(), e.what());
    }
    std::printf("%s %s\n", ok ? "passed" : "FAILED", check.name.c_str());
    std::fflush(stdout);
    failed += !ok;
  }
  std::printf("%d of %d checks passed\n", ran - failed, ran);
  return failed == 0 && ran > 0 ? 0 : 1;
}

}  // namespace thaw::gpu_test
