// benchmarks/bench_forward.cpp — AlexNet forward throughput (eval mode) at batch 1 and 32,
// reported as images/s. forward_vs_torch.py runs it beside PyTorch on the same machine.
#include <benchmark/benchmark.h>

#include <type_traits>
#include <vector>

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

// One AlexNet convolution (bias + ReLU fused) over a batch of 32, by im2col + GEMM, Winograd
// F(2x2, 3x3) or F(2x2, 5x5) (the backend's choice for conv2-5), or the direct kernel (its choice
// for conv1), in direct-convolution GFLOP/s so they compare as speeds and with the sgemm rate.
enum class Algorithm { im2col, winograd, direct };

template <class Conv, std::size_t H, std::size_t W, Algorithm A = Algorithm::im2col>
void BM_AlexNetConv(benchmark::State& state) {
  constexpr std::size_t batch = 32;
  constexpr thaw::Shape in{Conv::in_channels, H, W};
  constexpr thaw::Shape out = Conv::output_shape(in);
  const thaw::cpu::ConvGeometry g{in, out, Conv::kernel, Conv::stride, Conv::padding};
  std::vector<float> x(batch * in.size(), 0.5f), y(batch * out.size());
  std::vector<float> w(Conv::weight_size, 0.01f), b(Conv::bias_size, 0.1f);
  std::conditional_t<A == Algorithm::winograd, thaw::cpu::WinogradScratch, thaw::cpu::ConvScratch> scratch;
  for (auto _ : state) {
    if constexpr (A == Algorithm::winograd)
      thaw::cpu::winograd_conv2d_forward<thaw::cpu::winograd::Transform<Conv::kernel>>(
          g, x.data(), batch, w.data(), b.data(), true, y.data(), scratch);
#if defined(THAW_SIMD)
    else if constexpr (A == Algorithm::direct)
      thaw::cpu::direct_conv2d_forward(g, x.data(), batch, w.data(), b.data(), true, y.data(), scratch);
#endif
    else
      thaw::cpu::conv2d_forward(g, x.data(), batch, w.data(), b.data(), true, y.data(), scratch);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(double(batch * Conv::forward_flops(in)) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}
using thaw::Frozen;
using enum Algorithm;
BENCHMARK(BM_AlexNetConv<thaw::Conv2d<3, 64, 11, 4, 2, Frozen>, 224, 224>)->Name("conv1")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AlexNetConv<thaw::Conv2d<64, 192, 5, 1, 2, Frozen>, 27, 27>)->Name("conv2")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AlexNetConv<thaw::Conv2d<192, 384, 3, 1, 1, Frozen>, 13, 13>)->Name("conv3")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AlexNetConv<thaw::Conv2d<384, 256, 3, 1, 1, Frozen>, 13, 13>)->Name("conv4")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AlexNetConv<thaw::Conv2d<256, 256, 3, 1, 1, Frozen>, 13, 13>)->Name("conv5")->Unit(benchmark::kMillisecond)->UseRealTime();
#if defined(THAW_SIMD)
BENCHMARK(BM_AlexNetConv<thaw::Conv2d<3, 64, 11, 4, 2, Frozen>, 224, 224, direct>)->Name("conv1 direct")->Unit(benchmark::kMillisecond)->UseRealTime();
#endif
BENCHMARK(BM_AlexNetConv<thaw::Conv2d<64, 192, 5, 1, 2, Frozen>, 27, 27, winograd>)->Name("conv2 winograd")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AlexNetConv<thaw::Conv2d<192, 384, 3, 1, 1, Frozen>, 13, 13, winograd>)->Name("conv3 winograd")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AlexNetConv<thaw::Conv2d<384, 256, 3, 1, 1, Frozen>, 13, 13, winograd>)->Name("conv4 winograd")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AlexNetConv<thaw::Conv2d<256, 256, 3, 1, 1, Frozen>, 13, 13, winograd>)->Name("conv5 winograd")->Unit(benchmark::kMillisecond)->UseRealTime();

// OpenBLAS's sgemm (through thaw's gemm) on all threads: a large square product, the rate the
// convolutions' GFLOP/s above compare with, and conv3's per-position Winograd product for a
// batch of 32 (384 x 192 filters by 192 x 1568 tiles).
void BM_Sgemm(benchmark::State& state) {
  const auto m = std::size_t(state.range(0)), k = std::size_t(state.range(1)), n = std::size_t(state.range(2));
  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  for (auto _ : state) {
    thaw::cpu::gemm(a.data(), b.data(), c.data(), m, k, n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * double(m * k * n), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = thaw::num_threads();
}
BENCHMARK(BM_Sgemm)->Name("sgemm")->Args({2048, 2048, 2048})->Args({384, 192, 1568})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
