// benchmarks/bench_deconv.cpp — a deconvnet projection of one activation per image for a batch
// of 9 (forward included), beside one training step's forward + backward of the same batch
// (fine-tuning: the full backward). The target: the projection costs no more.
#include <benchmark/benchmark.h>

#include <xtensor/xrandom.hpp>

#include "thaw/thaw.hpp"
#include "thaw/viz/deconvnet.hpp"

namespace {

constexpr std::size_t batch = 9;

xt::xtensor<float, 4> images() {
  xt::random::seed(0);
  return xt::random::randn<float>({batch, std::size_t{3}, std::size_t{224}, std::size_t{224}});
}

void BM_Project(benchmark::State& state) {
  thaw::Model<thaw::paper::FineTuning, thaw::Cpu> model(1);
  thaw::viz::DeconvNet<thaw::paper::FineTuning> deconv(model);
  const auto x = images();
  const auto layer = std::size_t(state.range(0));
  deconv.project(x, {.layer = layer});
  for (auto _ : state) benchmark::DoNotOptimize(deconv.project(x, {.layer = layer}).pixels.data());
}

void BM_ForwardBackward(benchmark::State& state) {
  thaw::Model<thaw::paper::FineTuning, thaw::Cpu> model(1);
  model.train();
  const auto x = images();
  const std::vector<float> labels(batch, 1.0f);
  model.compute_gradients(x, labels);
  for (auto _ : state) benchmark::DoNotOptimize(model.compute_gradients(x, labels));
}

}  // namespace

BENCHMARK(BM_Project)->Name("project/CL")->DenseRange(1, 5)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ForwardBackward)->Name("fine-tuning forward+backward")->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
