// examples/tb_transfer/main.cpp — the paper's nine-case experiment as one command: chest X-rays from
// disk (or thaw's built-in synthetic set), a seeded stratified 80/20 split, every selected freeze
// pattern of thaw::paper::cases trained with Adam + StepLR for each seed (then, without pretrained
// weights, its head refitted as a linear probe), validation and external scores per case and
// seed, deconvnet figures, timings, then the report.
//
//   tb_transfer [--train-dir DIR --test-dir DIR] [--weights FILE] [--cases all|mid,finetune,...]
//               [--seeds N] [--seed S] [--resplit] [--paper | --epochs N --lr X] [--batch N]
//               [--init data|random] [--refit-head on|off] [--skip-unreadable] [--out DIR]
//
// OUT (default runs/tb_transfer) receives settings.json (a rerun with other settings is refused,
// with the same ones it resumes), runs/<slug>/seed-<seed>/{run.json, model.safetensors} per case
// and seed (run.json, written last, marks it done; checkpoint.safetensors exists while it trains),
// figures/ (deconvnet grids and figures.json) and timing.json; all written atomically. `--help`
// lists every option and what --paper sets. The parts: options.hpp (the command line),
// case_run.hpp (one seed's cases), run_folder.hpp (what OUT keeps besides the report).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "case_run.hpp"
#include "options.hpp"
#include "run_folder.hpp"
#include "thaw/core/shuffle.hpp"
#include "thaw/data/file_source.hpp"
#include "thaw/data/loader.hpp"
#include "thaw/data/split.hpp"
#include "thaw/data/synthetic.hpp"
#include "thaw/io/weights.hpp"
#include "thaw/report/report.hpp"
#include "thaw/thaw.hpp"
#include "thaw/train/data_init.hpp"
#include "thaw/viz/grid.hpp"

using namespace tb_transfer;
using Clock = std::chrono::steady_clock;

namespace {

// The initial weights of one seed: pretrained (head drawn from the seed), data-dependent or
// random; one computation, copied into every case so their frozen prefixes are the same.
thaw::StateDict initial_weights(const Options& opt, const thaw::StateDict* pretrained, std::uint64_t seed,
                                const thaw::data::FileSource& train) {
  auto model = std::make_unique<thaw::Model<thaw::paper::FineTuning, thaw::Cpu>>(seed);
  if (pretrained != nullptr) {
    model->load_pretrained(*pretrained, seed);
  } else if (opt.init == "data") {
    const thaw::train::DataInitOptions init{.images = 32, .patches_per_image = 200, .seed = seed};
    std::mt19937_64 rng(seed);  // a seeded sample of the training images supplies the statistics
    auto ids = thaw::shuffled_indices(train.size(), rng);
    ids.resize(std::min(ids.size(), init.images));
    std::vector<float> images(ids.size() * train.image_floats());
    train.read(ids, images.data());
    const auto report = thaw::train::initialize_from_data(*model, images.data(), ids.size(), init);
    std::printf("init: data-dependent, from %zu training images (seed %llu)\n%s", ids.size(),
                static_cast<unsigned long long>(seed), report.summary().c_str());
  }
  return model->state_dict();
}

// Deconvnet grids of the first seed's mid-level and fine-tuning models (the paper's Figs. 8-10):
// for a few validation images, the strongest conv3 and conv4 unit projected back to pixels.
void write_figures(const fs::path& out, const Options& opt, const SplitData& data) {
  const fs::path list = out / "figures" / "figures.json";
  if (fs::exists(list)) return;
  constexpr auto shape = thaw::paper::MidLevelFE::input_shape;
  const std::size_t n = std::min<std::size_t>(6, data.validation.size());
  xt::xtensor<float, 4> images = xt::empty<float>({n, shape.c, shape.h, shape.w});
  std::vector<std::size_t> first(n);
  std::iota(first.begin(), first.end(), std::size_t(0));
  data.validation.read(first, images.data());
  json figures = json::array();
  for (const std::size_t i : {index_of("mid"), index_of("finetune")}) {
    const fs::path model_file = out / "runs" / std::string(slugs[i]) / seed_folder(opt.seed) / "model.safetensors";
    if (!opt.selected[i] || !fs::exists(model_file)) continue;
    auto model = std::make_unique<thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu>>();  // the deconvnet only reads weights
    model->load_state_dict(thaw::io::load_safetensors(model_file));
    thaw::viz::DeconvNet<thaw::paper::MidLevelFE> deconv(*model);
    for (const std::size_t layer : {3, 4}) {
      const std::string name = std::string(slugs[i]) + "-cl" + std::to_string(layer) + ".png";
      thaw::viz::save_grid(out / "figures" / name, images, deconv.project(images, {.layer = layer}));
      figures.push_back({{"title", std::string(names[i]) + ", seed " + std::to_string(opt.seed) + ": strongest CL" +
                                       std::to_string(layer) + " unit per image, projected to pixels"},
                         {"file", "figures/" + name}, {"case", slugs[i]}});
    }
  }
  if (!figures.empty()) {
    write_json(list, figures);
    std::printf("figures: %s\n", list.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) try {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep our lines in order with the library's log lines
  const auto wall_start = Clock::now();
  const Options opt = parse(argc, argv);
  const fs::path out = opt.out;
  const bool synthetic = opt.train_dir.empty();
  const auto absolute = [](const std::string& p) { return p.empty() ? std::string() : fs::weakly_canonical(p).string(); };

  fs::path train_dir = opt.train_dir, test_dir = opt.test_dir;
  thaw::data::SyntheticOptions s;
  s.train.images = opt.synthetic_train;
  s.train.tb = opt.synthetic_train * 336 / 662;  // Shenzhen's balance
  s.test.images = opt.synthetic_test;
  s.test.tb = opt.synthetic_test * 58 / 138;      // Montgomery's
  if (synthetic) {
    train_dir = out / "synthetic" / s.train.folder / "CXR_png";  // what write_synthetic_cxr makes, below
    test_dir = out / "synthetic" / s.test.folder / "CXR_png";
  }
  std::string command;
  for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
  std::vector<std::string> cases;
  for (std::size_t i = 0; i < case_count; ++i)
    if (opt.selected[i]) cases.emplace_back(slugs[i]);
  const json settings = {
      {"thaw_version", std::to_string(THAW_VERSION_MAJOR) + "." + std::to_string(THAW_VERSION_MINOR) + "." +
                           std::to_string(THAW_VERSION_PATCH)},
      {"command", command},
      {"data", synthetic ? "synthetic" : "folders"},
      {"train_dir", absolute(train_dir.string())}, {"test_dir", absolute(test_dir.string())},
      {"synthetic", synthetic ? json{{"train", opt.synthetic_train}, {"test", opt.synthetic_test}} : json()},
      {"weights", absolute(opt.weights)}, {"init", opt.weights.empty() ? opt.init : "pretrained"},
      {"cases", cases}, {"seeds", opt.seeds}, {"first_seed", opt.seed}, {"resplit", opt.resplit},
      {"epochs", opt.epochs}, {"batch", opt.batch}, {"lr", opt.lr}, {"lr_step", opt.lr_step}, {"lr_gamma", lr_gamma},
      {"optimizer", "Adam (beta 0.9, 0.999)"}, {"paper", opt.paper}, {"train_fraction", 0.8},
      {"dropout", opt.dropout}, {"refit_head", opt.refit_head}, {"skip_unreadable", opt.skip_unreadable}};
  check_and_record_settings(out, settings);

  if (synthetic) {
    std::printf("data: thaw's built-in SYNTHETIC chest X-rays (not medical images); pass --train-dir/--test-dir for real ones\n");
    const auto folders = thaw::data::write_synthetic_cxr(out / "synthetic", s);
    if (folders.train != train_dir || folders.test != test_dir)
      throw std::logic_error("the synthetic folders moved: " + folders.train.string());
  }
  // Every image is decoded once here, into the 8-bit image cache (an unreadable one stops the run,
  // or with --skip-unreadable is left out); training and scoring then stream from that cache, so
  // memory does not grow with the number of images.
  const thaw::data::Preprocess pre;
  const thaw::data::LoadOptions load{.cache_dir = out / "cache", .skip_unreadable = opt.skip_unreadable};
  const auto readable = [&](const fs::path& dir) {
    return thaw::data::check_readable(thaw::data::CxrDataset::from_folder(dir), pre, load).kept;
  };
  const thaw::data::FileSourceOptions streamed{.cache_dir = out / "cache"};
  const auto all = readable(train_dir);
  const thaw::data::FileSource external(readable(test_dir), pre, streamed);

  std::optional<thaw::StateDict> pretrained;
  if (!opt.weights.empty()) {
    pretrained = thaw::io::load_weights(opt.weights);
    std::printf("weights: %s (the 1-logit head is drawn per seed)\n", opt.weights.c_str());
  } else {
    std::printf("weights: none pretrained; %s initialization per seed (the paper's experiment needs --weights "
                "alexnet-owt-7be5be79.pth%s)\n",
                opt.init == "data" ? "data-dependent" : "random",
                opt.init == "data" ? "" : "; frozen random layers carry little: expect AUCs near 0.5 for the FE cases");
  }
  std::printf("protocol: %zu epochs, batch %zu, Adam lr %g (x%g every %zu epochs)%s; %zu case(s) x %zu seed(s)\n",
              opt.epochs, opt.batch, opt.lr, lr_gamma, opt.lr_step, opt.paper ? " (the paper's)" : "", cases.size(), opt.seeds);

  std::size_t done = 0;
  std::optional<SplitData> data;
  for (std::size_t k = 0; k < opt.seeds; ++k) {
    const std::uint64_t seed = opt.seed + k;
    const std::uint64_t split_seed = opt.resplit ? seed : opt.seed;
    if (!data || data->seed != split_seed) {
      const thaw::data::SplitOptions split_options{.train_fraction = 0.8, .seed = split_seed, .stratified = true};
      const auto [train, validation] = thaw::data::split(all, split_options);
      const fs::path split_file = opt.resplit ? out / "splits" / (seed_folder(seed) + ".json") : out / "split.json";
      thaw::data::save_split(split_file, {train, validation}, split_options);
      std::printf("split: %s / %s (seed %llu, %s)\n", train.summary().c_str(), validation.summary().c_str(),
                  static_cast<unsigned long long>(split_seed), split_file.c_str());
      data = SplitData{split_seed, {train, pre, streamed}, {validation, pre, streamed}};
    }
    bool all_done = true;
    for (std::size_t i = 0; i < case_count; ++i)
      all_done &= !opt.selected[i] || fs::exists(out / "runs" / std::string(slugs[i]) / seed_folder(seed) / "run.json");
    const thaw::StateDict initial =
        all_done ? thaw::StateDict{} : initial_weights(opt, pretrained ? &*pretrained : nullptr, seed, data->train);
    run_seed({opt, out, seed, *data, external, initial, done, cases.size() * opt.seeds});
    if (k == 0) write_figures(out, opt, *data);
  }

  const auto runs = finished_runs(out, opt);
  write_timing(out, runs, std::chrono::duration<double>(Clock::now() - wall_start).count());
  std::printf("results%s: %s\n", synthetic ? " (SYNTHETIC data: a pipeline check, not a finding)" : "",
              (out / "runs").c_str());
  // p-values compare each case with the paper's proposal, the mid-level FE, when it was run.
  const std::string reference = fs::exists(out / "runs" / "mid") ? "mid" : cases.front();
  std::printf("%s", thaw::report::write_report(out, reference).c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tb_transfer: %s\n", e.what());
  return 1;
}