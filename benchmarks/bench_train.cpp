// benchmarks/bench_train.cpp — training throughput (images/s) at batch 32 for the paper's
// nine freeze patterns: one Adam step on a fixed batch (forward, BCE loss, the generated
// backward, the update), dropout on as in real training. BM_MidLevelCachedEpoch measures an
// epoch of the mid-level FE with the frozen-prefix cache filled. train_vs_torch.py runs it
// beside PyTorch.
#include <benchmark/benchmark.h>

#include <xtensor/xrandom.hpp>

#include "thaw/thaw.hpp"
#include "thaw/train/trainer.hpp"

namespace {

constexpr std::size_t batch = 32;

xt::xtensor<float, 4> random_images(std::size_t n) {
  xt::random::seed(0);
  return xt::random::randn<float>({n, std::size_t{3}, std::size_t{224}, std::size_t{224}});
}

template <class Net>
void BM_TrainStep(benchmark::State& state) {
  thaw::Model<Net, thaw::Cpu> model(1);
  model.train();
  thaw::train::Adam optimizer(model, {.lr = 1e-5});
  const auto x = random_images(batch);
  std::vector<float> labels(batch);
  for (std::size_t i = 0; i < batch; ++i) labels[i] = float(i % 2);
  model.train_step(x, labels, optimizer);  // sizes every buffer
  for (auto _ : state) benchmark::DoNotOptimize(model.train_step(x, labels, optimizer));
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}

// Epochs of the mid-level FE over 128 images once the cache holds every image's conv2 output:
// one run of 1 + 3 epochs, timed on the last three.
void BM_MidLevelCachedEpoch(benchmark::State& state) {
  constexpr std::size_t images = 128, timed_epochs = 3;
  for (auto _ : state) {
    thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu> model(1);
    thaw::train::Dataset data{random_images(images), std::vector<float>(images)};
    for (std::size_t i = 0; i < images; ++i) data.labels[i] = float(i % 2);
    thaw::train::TrainerOptions options;
    options.epochs = 1 + timed_epochs;
    options.batch_size = batch;
    options.adam.lr = 1e-5;
    double seconds = 0;
    options.on_epoch = [&](const thaw::train::EpochRecord& r) { seconds += r.epoch > 1 ? r.seconds : 0.0; };
    thaw::train::Trainer trainer(model, options);
    trainer.fit(data);
    if (!trainer.caching()) state.SkipWithError("the cache was not used");
    state.SetIterationTime(seconds / timed_epochs);
  }
  state.counters["images/s"] = benchmark::Counter(double(images), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_TrainStep<thaw::paper::MidLevelFE>)->Name("train/mid-level FE")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStep<thaw::paper::CL3FE>)->Name("train/CL3-FE")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStep<thaw::paper::CL4FE>)->Name("train/CL4-FE")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStep<thaw::paper::FineTuning>)->Name("train/fine-tuning")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStep<thaw::paper::LowLevelFE>)->Name("train/low-level FE")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStep<thaw::paper::CL1FE>)->Name("train/CL1-FE")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStep<thaw::paper::CL2FE>)->Name("train/CL2-FE")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStep<thaw::paper::HighLevelFE>)->Name("train/high-level FE")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_TrainStep<thaw::paper::HMLevelFE>)->Name("train/H-M level FE")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MidLevelCachedEpoch)->Name("epoch/mid-level FE cached")->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);

BENCHMARK_MAIN();
