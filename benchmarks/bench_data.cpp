// benchmarks/bench_data.cpp — the data pipeline's speed: cold decode + Pillow-exact resize of
// 3000x3000 PNGs (the Shenzhen images' size; synthetic ones here), a warm-cache 32-image batch
// (cache read, checksum, normalisation), and, for scale, one mid-level FE training step at
// batch 32. Prints the warm batch's share of a training step (target: under 5%).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <xtensor/xrandom.hpp>

#include "thaw/data/image_cache.hpp"
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
    double warm = 0, step = 0;
    for (const auto& [name, t] : seconds_) {
      if (name == "data/warm-cache batch 32") warm = t;
      if (name == "train/mid-level FE step 32") step = t;
    }
    if (warm > 0 && step > 0)
      std::printf("warm-cache batch of %zu / mid-level training step of %zu: %.2f%% (target: under 5%%)\n", batch, batch,
                  100 * warm / step);
  }

 private:
  std::map<std::string, double> seconds_;
};

}  // namespace

BENCHMARK(BM_ColdDecodeResize)->Name("data/cold decode+resize 3000x3000 PNG")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_WarmCacheBatch)->Name("data/warm-cache batch 32")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MidLevelTrainStep)->Name("train/mid-level FE step 32")->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  ShareReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
