// benchmarks/bench_forward.cpp — AlexNet forward throughput (eval mode) at batch 1 and 32,
// reported as images/s. forward_vs_torch.py runs it beside PyTorch on the same machine.
#include <benchmark/benchmark.h>

#include <xtensor/xrandom.hpp>

#include "thaw/thaw.hpp"

namespace {

void BM_AlexNetForward(benchmark::State& state) {
  const auto batch = std::size_t(state.range(0));
  thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu> model(1);
  model.eval();
  xt::random::seed(0);
  const xt::xtensor<float, 4> x = xt::random::randn<float>({batch, std::size_t{3}, std::size_t{224}, std::size_t{224}});
  xt::xtensor<float, 2> logits;
  model.forward(x, logits);
  for (auto _ : state) {
    model.forward(x, logits);
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = thaw::num_threads();
}
BENCHMARK(BM_AlexNetForward)->Arg(1)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
