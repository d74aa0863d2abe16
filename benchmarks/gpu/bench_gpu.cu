// benchmarks/gpu/bench_gpu.cu — thaw's CUDA layers chained as AlexNet (all five conv layers
// and FC3 trainable, FC1/FC2 frozen, one logit): the eval forward pass and one training step
// (forward, BCE loss, backward to conv1, Adam), timed with CUDA events. Prints one JSON line
// per configuration; torch_gpu.py times PyTorch eager on the same network for comparison.
// Usage: bench_gpu [batch...]   (default 32 128)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "thaw/backend/cuda/cuda.cuh"
#include "thaw/models/alexnet.hpp"

namespace {

using Net = thaw::AlexNet<thaw::Train, thaw::Train, thaw::Train, thaw::Train, thaw::Train>;

template <class L>
constexpr bool has_epilogue = requires { L::kernel; } || requires { L::in_features; };

// Conv2d/Linear followed by ReLU run it fused; that ReLU then passes through.
template <std::size_t I>
constexpr bool fused() {
  using L = typename Net::template layer<I>;
  if constexpr (std::is_same_v<L, thaw::ReLU>) return I > 0 && has_epilogue<typename Net::template layer<I - 1>>;
  else if constexpr (I + 1 < Net::size) return has_epilogue<L> && std::is_same_v<typename Net::template layer<I + 1>, thaw::ReLU>;
  else return false;
}

template <std::size_t... I>
auto make_layers(std::index_sequence<I...>) {
  return std::tuple<thaw::Cuda::layer<typename Net::template layer<I>, Net::shapes[I], fused<I>()>...>{};
}
using Layers = decltype(make_layers(std::make_index_sequence<Net::size>{}));

struct Chain {
  Layers layers;
  thaw::cuda::Context ctx;
  std::vector<const float*> inputs = std::vector<const float*>(Net::size + 1);
  std::vector<thaw::cuda::AdamMoments> moments;
  std::uint64_t steps = 0;

  Chain() {
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> unit(-0.05f, 0.05f);
    for_each([&]<std::size_t I>(auto& layer) {
      using L = typename Net::template layer<I>;
      if constexpr (L::has_parameters) {
        std::vector<float> w(L::weight_size), b(L::bias_size);
        for (float& v : w) v = unit(rng);
        for (float& v : b) v = unit(rng);
        layer.weight.assign(w.begin(), w.end());
        layer.bias.assign(b.begin(), b.end());
        if constexpr (thaw::layer_is_trainable_v<L>) {
          moments.emplace_back(L::weight_size);
          moments.emplace_back(L::bias_size);
        }
      }
    });
  }
  template <class F>
  void for_each(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f.template operator()<I>(std::get<I>(layers)), ...);
    }(std::make_index_sequence<Net::size>{});
  }
  const float* forward(const float* x, std::size_t batch) {
    inputs[0] = x;
    for_each([&]<std::size_t I>(auto& layer) { inputs[I + 1] = layer.forward(inputs[I], batch, ctx); });
    return inputs[Net::size];
  }
  void backward(const float* dlogits, std::size_t batch) {
    const float* dy = dlogits;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((dy = Net::size - 1 - I >= Net::first_trainable
                 ? std::get<Net::size - 1 - I>(layers).backward(inputs[Net::size - 1 - I], dy, batch,
                                                                Net::size - 1 - I > Net::first_trainable, ctx)
                 : dy),
       ...);
    }(std::make_index_sequence<Net::size>{});
  }
  void adam() {
    const auto scalars = thaw::cuda::adam_scalars({}, ++steps);
    std::size_t t = 0;
    for_each([&]<std::size_t I>(auto& layer) {
      using L = typename Net::template layer<I>;
      if constexpr (thaw::layer_is_trainable_v<L>) {
        thaw::cuda::adam_update(ctx, scalars, thrust::raw_pointer_cast(layer.weight.data()),
                                thrust::raw_pointer_cast(layer.weight_grad.data()), moments[t++], L::weight_size);
        thaw::cuda::adam_update(ctx, scalars, thrust::raw_pointer_cast(layer.bias.data()),
                                thrust::raw_pointer_cast(layer.bias_grad.data()), moments[t++], L::bias_size);
      }
    });
  }
};

template <class F>
double median_ms(thaw::cuda::Context& ctx, int repeats, F&& f) {
  cudaEvent_t start, stop;
  thaw::cuda::check(cudaEventCreate(&start), "cudaEventCreate");
  thaw::cuda::check(cudaEventCreate(&stop), "cudaEventCreate");
  for (int i = 0; i < 3; ++i) f();
  std::vector<float> times;
  for (int i = 0; i < repeats; ++i) {
    cudaEventRecord(start, ctx.stream());
    f();
    cudaEventRecord(stop, ctx.stream());
    thaw::cuda::check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> batches;
  for (int i = 1; i < argc; ++i) batches.push_back(std::strtoul(argv[i], nullptr, 10));
  if (batches.empty()) batches = {32, 128};
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("bench_gpu: no CUDA device\n");
    return 77;
  }
  for (bool tf32 : {false, true})
    for (std::size_t batch : batches) {
      Chain chain;
      chain.ctx.set_tf32(tf32);
      chain.ctx.training = true;
      std::vector<float> host_x(batch * Net::input_shape.size()), host_t(batch);
      std::mt19937 rng(2);
      std::normal_distribution<float> normal;
      for (float& v : host_x) v = normal(rng);
      for (std::size_t i = 0; i < batch; ++i) host_t[i] = float(i % 2);
      thrust::device_vector<float> x(host_x.begin(), host_x.end()), t(host_t.begin(), host_t.end()), dz(batch);
      thrust::device_vector<double> loss(1);
      const float* xp = thrust::raw_pointer_cast(x.data());
      chain.ctx.training = false;
      const double forward = median_ms(chain.ctx, 20, [&] { chain.forward(xp, batch); });
      chain.ctx.training = true;
      const double step = median_ms(chain.ctx, 20, [&] {
        const float* z = chain.forward(xp, batch);
        thaw::cuda::bce_with_logits(chain.ctx, z, thrust::raw_pointer_cast(t.data()), batch,
                                    thrust::raw_pointer_cast(dz.data()), thrust::raw_pointer_cast(loss.data()));
        chain.backward(thrust::raw_pointer_cast(dz.data()), batch);
        chain.adam();
      });
      chain.ctx.synchronize();
      std::printf("{\"impl\": \"thaw\", \"tf32\": %s, \"batch\": %zu, \"forward_ms\": %.3f, \"step_ms\": %.3f, "
                  "\"loss\": %.6f}\n",
                  tf32 ? "true" : "false", batch, forward, step, double(loss[0]));
      std::fflush(stdout);
    }
}
