// benchmarks/gpu/bench_gpu.cu — Model<Net, thaw::Cuda> timed with CUDA events on device-resident
// batches: a training step (forward, BCE, generated backward, Adam) of each of the nine paper
// cases, the mid-level FE's eval forward pass, and its epoch over a frozen-prefix cache held on
// the device; each uncaptured and as a CUDA Graph, and each step also with the convolution
// engine its math mode does not pick; then TF32's error against strict fp32. One JSON line per
// measurement; torch_gpu.py times PyTorch on the same steps, and compare.py prints the ratios.
// Usage: bench_gpu [batch...]   (default 32 128; the nine cases at the first batch, mid at all)
//        bench_gpu --profile [batch]   (one captured mid-level TF32 step, for ncu; default 128)
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "thaw/backend/cuda/cuda.cuh"
#include "thaw/model/model.hpp"
#include "thaw/models/paper_cases.hpp"
#include "thaw/train/adam.hpp"
#include "thaw/train/model_training.hpp"

namespace {

constexpr std::size_t dataset_images = 662;  // Shenzhen's size: the cached-prefix epoch
constexpr int repeats = 20;

template <class F>
double median_ms(thaw::cuda::Context& ctx, int count, F&& f) {
  cudaEvent_t start, stop;
  thaw::cuda::check(cudaEventCreate(&start), "cudaEventCreate");
  thaw::cuda::check(cudaEventCreate(&stop), "cudaEventCreate");
  for (int i = 0; i < 3; ++i) f();
  std::vector<float> times;
  for (int i = 0; i < count; ++i) {
    thaw::cuda::check(cudaEventRecord(start, ctx.stream()), "cudaEventRecord");
    f();
    thaw::cuda::check(cudaEventRecord(stop, ctx.stream()), "cudaEventRecord");
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

thrust::device_vector<float> random_images(std::size_t n) {
  std::vector<float> host(n * 3 * 224 * 224);
  std::mt19937 rng(2);
  std::normal_distribution<float> normal;
  for (float& v : host) v = normal(rng);
  return {host.begin(), host.end()};
}

thrust::device_vector<float> alternating_labels(std::size_t n) {
  std::vector<float> host(n);
  for (std::size_t i = 0; i < n; ++i) host[i] = float(i % 2);
  return {host.begin(), host.end()};
}

const float* raw(const thrust::device_vector<float>& v) { return thrust::raw_pointer_cast(v.data()); }

void print(std::string_view slug, std::string_view what, const std::string& variant, bool tf32, std::size_t batch,
           double ms, double images) {
  std::printf("{\"impl\": \"thaw\", \"case\": \"%.*s\", \"what\": \"%.*s\", \"variant\": \"%.*s\", "
              "\"tf32\": %s, \"batch\": %zu, \"ms\": %.3f, \"images_per_s\": %.0f}\n",
              int(slug.size()), slug.data(), int(what.size()), what.data(), int(variant.size()), variant.c_str(),
              tf32 ? "true" : "false", batch, ms, images / ms * 1e3);
  std::fflush(stdout);
}

// A training step, uncaptured (one launch per kernel, the loss read back each step) and as a
// CUDA Graph, with the convolutions the math mode picks; `other_engine` instead times the graph
// with the convolutions it does not pick (cuDNN's for fp32, thaw's im2col for TF32).
template <class Net>
void train_step(std::string_view slug, std::size_t batch, bool tf32, const thrust::device_vector<float>& images,
                const thrust::device_vector<float>& labels, bool other_engine = false) {
  using Convolutions = thaw::cuda::Context::Convolutions;
  thaw::Model<Net, thaw::Cuda> model(1);
  model.context().set_tf32(tf32);
  if (other_engine) model.context().convolutions = tf32 ? Convolutions::im2col : Convolutions::cudnn;
  const std::string_view engine = model.context().uses_cudnn() ? "cuDNN" : "im2col";
  thaw::train::Adam adam(model, {.lr = 1e-4});
  if (!other_engine) {
    const double ms =
        median_ms(model.context(), repeats, [&] { model.train_step_resident(raw(images), batch, raw(labels), adam); });
    print(slug, "train_step", std::string("uncaptured, ") + std::string(engine), tf32, batch, ms, double(batch));
  }
  thaw::cuda::CapturedTrainStep step(model, adam, raw(images), batch, raw(labels));
  print(slug, "train_step", std::string("graph, ") + std::string(engine), tf32, batch,
        median_ms(model.context(), repeats, [&] { step.enqueue(); }), double(batch));
}

void mid_level(std::size_t batch, bool tf32, const thrust::device_vector<float>& images) {
  using Model = thaw::Model<thaw::paper::MidLevelFE, thaw::Cuda>;
  Model model(1);
  model.context().set_tf32(tf32);
  model.eval();
  const auto forward = [&] { model.forward_from<0>(raw(images), batch); };
  print("mid", "forward", "uncaptured", tf32, batch, median_ms(model.context(), repeats, forward), double(batch));
  const thaw::cuda::Graph forward_graph(model.context(), forward);
  print("mid", "forward", "graph", tf32, batch,
        median_ms(model.context(), repeats, [&] { forward_graph.replay(model.context()); }), double(batch));

  // The frozen prefix of every image, computed once; an epoch then trains from the cache.
  constexpr std::size_t features = Model::frozen_prefix_shape.size();
  thrust::device_vector<float> cache(dataset_images * features), all_labels = alternating_labels(dataset_images);
  for (std::size_t n0 = 0; n0 < dataset_images; n0 += batch) {
    const std::size_t n = std::min(batch, dataset_images - n0);
    const float* prefix = model.forward_frozen_prefix(raw(images), n);
    thrust::copy_n(thrust::device_pointer_cast(prefix), n * features, cache.begin() + std::ptrdiff_t(n0 * features));
  }
  model.train();
  thaw::train::Adam adam(model, {.lr = 1e-4});
  const double epoch = median_ms(model.context(), 5, [&] {
    for (std::size_t n0 = 0; n0 < dataset_images; n0 += batch) {
      const std::size_t n = std::min(batch, dataset_images - n0);
      model.train_step_resident<Model::frozen_prefix>(raw(cache) + n0 * features, n, raw(all_labels) + n0, adam);
    }
  });
  print("mid", "cached_epoch", "uncaptured", tf32, batch, epoch, double(dataset_images));
  // One graph per batch of the epoch (each reads its own slice of the cache).
  std::vector<std::unique_ptr<thaw::cuda::CapturedTrainStep<Model, Model::frozen_prefix>>> steps;
  for (std::size_t n0 = 0; n0 < dataset_images; n0 += batch)
    steps.push_back(std::make_unique<thaw::cuda::CapturedTrainStep<Model, Model::frozen_prefix>>(
        model, adam, raw(cache) + n0 * features, std::min(batch, dataset_images - n0), raw(all_labels) + n0));
  print("mid", "cached_epoch", "graph", tf32, batch, median_ms(model.context(), 5, [&] {
          for (auto& step : steps) step->enqueue();
        }),
        double(dataset_images));
}

// TF32 against strict fp32 on one batch, dropout off: the relative error in norm of the eval
// output and of each trainable tensor's gradient (what the README quotes for TF32's accuracy).
void tf32_accuracy(std::size_t batch, const thrust::device_vector<float>& images,
                   const thrust::device_vector<float>& labels) {
  using Model = thaw::Model<thaw::paper::MidLevelFE, thaw::Cuda>;
  const auto run = [&](bool tf32) {
    Model model(1);
    model.context().set_tf32(tf32);
    model.set_dropout(false);
    model.compute_gradients_resident(raw(images), batch, raw(labels));
    std::map<std::string, std::vector<float>> values;
    for (const auto& [key, grad] : model.gradients()) values["gradient " + key].assign(grad.begin(), grad.end());
    model.eval();
    auto& output = values["eval output"];
    output.resize(batch * Model::output_shape.size());
    thaw::cuda::download(model.context(), model.forward_from<0>(raw(images), batch), output.size(), output.data());
    return values;
  };
  const auto strict = run(false), tf32 = run(true);
  for (const auto& [key, want] : strict) {
    const auto& got = tf32.at(key);
    double error = 0, norm = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      error += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
      norm += double(want[i]) * want[i];
    }
    std::printf("{\"impl\": \"thaw-tf32-accuracy\", \"case\": \"mid\", \"batch\": %zu, \"tensor\": \"%s\", "
                "\"relative_error\": %.3g}\n",
                batch, key.c_str(), std::sqrt(error / std::max(norm, 1e-300)));
  }
  std::fflush(stdout);
}

// For a profiler (run.sh with NCU=1): one mid-level step at `batch` with TF32 captured, then
// replayed twice; the profile shows which kernels take the step's time.
void profile_step(std::size_t batch, const thrust::device_vector<float>& images,
                  const thrust::device_vector<float>& labels) {
  thaw::Model<thaw::paper::MidLevelFE, thaw::Cuda> model(1);
  model.context().set_tf32(true);
  thaw::train::Adam adam(model, {.lr = 1e-4});
  thaw::cuda::CapturedTrainStep step(model, adam, raw(images), batch, raw(labels));
  for (int i = 0; i < 3; ++i) step();
}

}  // namespace

int main(int argc, char** argv) {
  const bool profile = argc > 1 && std::string_view(argv[1]) == "--profile";
  std::vector<std::size_t> batches;
  for (int i = profile ? 2 : 1; i < argc; ++i) batches.push_back(std::strtoul(argv[i], nullptr, 10));
  if (batches.empty()) batches = {32, 128};
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("bench_gpu: no CUDA device\n");
    return 77;
  }
  const std::size_t largest = *std::max_element(batches.begin(), batches.end());
  const auto images = random_images(largest);
  const auto labels = alternating_labels(largest);
  if (profile) return profile_step(largest, images, labels), 0;
  tf32_accuracy(batches[0], images, labels);
  for (bool tf32 : {false, true}) {
    const auto both_engines = [&]<class Net>(std::string_view slug, std::size_t batch) {
      train_step<Net>(slug, batch, tf32, images, labels);
      if (THAW_CUDNN_ON_DEVICE) train_step<Net>(slug, batch, tf32, images, labels, true);
    };
    std::apply(
        [&](auto... named) {
          (both_engines.template operator()<typename decltype(named)::net>(named.slug, batches[0]), ...);
        },
        thaw::paper::cases);
    for (std::size_t batch : batches) {
      if (batch != batches[0]) both_engines.template operator()<thaw::paper::MidLevelFE>("mid", batch);
      mid_level(batch, tf32, images);
    }
  }
}
