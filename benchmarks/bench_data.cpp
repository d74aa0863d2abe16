// benchmarks/bench_data.cpp — the data pipeline's speed: cold decode + Pillow-exact resize of
// 3000x3000 PNGs (the Shenzhen images' size; synthetic ones here), a warm-cache 32-image batch
// (cache read, checksum, normalisation), and, for scale, one mid-level FE training step at
// batch 32. Prints the warm batch's share of a training step (target: under 5%). Then an epoch
// of four training steps fed by the Loader (warm cache, 2 workers) against the same steps on
// batches already in memory: what the loader adds to training.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <xtensor/xrandom.hpp>

#include "thaw/data/image_cache.hpp"
#include "thaw/data/loader.hpp"
#include "thaw/data/cxr_dataset.hpp"
#include "thaw/data/synthetic.hpp"
#include "thaw/thaw.hpp"
#include "thaw/train/adam.hpp"

namespace fs = std::filesystem;

namespace {

constexpr std::size_t batch = 32;

// Eight 3000x3000 synthetic radiographs, drawn once per machine into the temporary folder.
const std::vector<fs::path>& large_pngs() {
  static const std::vector<fs::path> files = [] {
    thaw::data::SyntheticOptions o;
    o.train.images = 8;
    o.train.tb = 4;
    o.train.width = o.train.height = 3000;
    o.test.images = o.test.tb = 0;
    const auto folders = thaw::data::write_synthetic_cxr(fs::temp_directory_path() / "thaw-bench-3000", o, nullptr);
    const auto set = thaw::data::CxrDataset::from_folder(folders.train, {.log = nullptr});
    std::vector<fs::path> found;
    for (const auto& s : set.samples()) found.push_back(s.path);
    return found;
  }();
  return files;
}

void BM_ColdDecodeResize(benchmark::State& state) {
  const auto& files = large_pngs();
  const thaw::data::Preprocess pre;
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(pre.resize(thaw::data::read_image(files[i++ % files.size()])));
  state.counters["images/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_WarmCacheBatch(benchmark::State& state) {
  const auto& files = large_pngs();
  const thaw::data::Preprocess pre;
  thaw::data::ImageCache cache(fs::temp_directory_path() / "thaw-bench-3000" / "cache", nullptr);
  for (const auto& f : files) cache.get(f, pre);  // warm
  xt::xtensor<float, 4> images = xt::empty<float>({batch, std::size_t{3}, pre.height, pre.width});
  const std::size_t per_image = 3 * pre.height * pre.width;
  for (auto _ : state) {
    for (std::size_t j = 0; j < batch; ++j) pre.normalize_into(cache.get(files[j % files.size()], pre), images.data() + j * per_image);
    benchmark::DoNotOptimize(images.data());
  }
  state.counters["images/s"] = benchmark::Counter(double(batch), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_MidLevelTrainStep(benchmark::State& state) {
  thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu> model(1);
  model.train();
  thaw::train::Adam optimizer(model, {.lr = 1e-5});
  xt::random::seed(0);
  const xt::xtensor<float, 4> x = xt::random::randn<float>({batch, std::size_t{3}, std::size_t{224}, std::size_t{224}});
  std::vector<float> labels(batch);
  for (std::size_t i = 0; i < batch; ++i) labels[i] = float(i % 2);
  model.train_step(x, labels, optimizer);  // sizes every buffer
  for (auto _ : state) benchmark::DoNotOptimize(model.train_step(x, labels, optimizer));
}

// 128 samples cycling over the eight files: four batches of 32, an epoch.
thaw::data::CxrDataset large_set() {
  std::vector<thaw::data::Sample> samples;
  for (std::size_t i = 0; i < 4 * batch; ++i) samples.push_back({large_pngs()[i % large_pngs().size()], int(i % 2)});
  return {"3000x3000 x 128", samples};
}

// An epoch of four mid-level steps on the Loader's batches (warm cache: each range-for starts
// the workers, which prepare batches while the steps run)...
void BM_StepsFromLoader(benchmark::State& state) {
  thaw::data::Loader loader(large_set(), {}, {.batch_size = batch, .shuffle = true,
                                              .cache_dir = fs::temp_directory_path() / "thaw-bench-3000" / "cache"});
  for (const auto& b : loader) benchmark::DoNotOptimize(b.images.data());  // warms the cache
  thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu> model(1);
  model.train();
  thaw::train::Adam optimizer(model, {.lr = 1e-5});
  for (auto _ : state)
    for (const auto& b : loader) benchmark::DoNotOptimize(model.train_step(b.images, b.labels, optimizer));
}

// ...and the same four steps on batches already in memory.
void BM_StepsInMemory(benchmark::State& state) {
  thaw::data::Loader loader(large_set(), {}, {.batch_size = batch, .cache_dir = fs::temp_directory_path() / "thaw-bench-3000" / "cache"});
  std::vector<thaw::data::Batch> batches;
  for (const auto& b : loader) batches.push_back(b);
  thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu> model(1);
  model.train();
  thaw::train::Adam optimizer(model, {.lr = 1e-5});
  for (auto _ : state)
    for (const auto& b : batches) benchmark::DoNotOptimize(model.train_step(b.images, b.labels, optimizer));
}

// The console report, then the warm batch as a share of the training step.
class ShareReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs)  // single runs, or the mean of repetitions
      if (r.run_type == Run::RT_Iteration || r.aggregate_name == "mean") seconds_[r.run_name.function_name] = r.GetAdjustedRealTime();
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const auto time = [&](const char* name) { return seconds_.contains(name) ? seconds_[name] : 0.0; };
    const double warm = time("data/warm-cache batch 32"), step = time("train/mid-level FE step 32");
    if (warm > 0 && step > 0)
      std::printf("warm-cache batch of %zu / mid-level training step of %zu: %.2f%% (target: under 5%%)\n", batch, batch,
                  100 * warm / step);
    const double fed = time("train/epoch of 4 steps fed by the Loader"), held = time("train/epoch of 4 steps from memory");
    if (fed > 0 && held > 0) std::printf("training fed by the Loader / from memory: %.3fx\n", fed / held);
  }

 private:
  std::map<std::string, double> seconds_;
};

}  // namespace

BENCHMARK(BM_ColdDecodeResize)->Name("data/cold decode+resize 3000x3000 PNG")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_WarmCacheBatch)->Name("data/warm-cache batch 32")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MidLevelTrainStep)->Name("train/mid-level FE step 32")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StepsFromLoader)->Name("train/epoch of 4 steps fed by the Loader")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_StepsInMemory)->Name("train/epoch of 4 steps from memory")->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  ShareReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
