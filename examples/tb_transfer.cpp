// examples/tb_transfer.cpp — the paper's experiment end to end: chest X-rays from disk, a seeded
// stratified 80/20 split, the mid-level feature extractor (AlexNet with only CL3, CL4 and the
// last linear layer trained) fine-tuned with Adam, then the AUC with its DeLong 95% CI on the
// validation split and on an external site's images.
//
//   tb_transfer [--train-dir DIR] [--test-dir DIR] [--weights FILE|DIR] [--epochs N] [--batch N]
//               [--lr X] [--seed N] [--out DIR] [--synthetic-train N] [--synthetic-test N]
//
// --train-dir/--test-dir: folders as thaw::data::CxrDataset::from_folder reads them (the NLM sets'
// CXR_png folders, or one subfolder per class). Without them, thaw's built-in SYNTHETIC set is
// drawn into OUT/synthetic (a Shenzhen-like and a Montgomery-like site, 662 + 138 images by
// default) so the whole pipeline runs without the real data; its numbers say nothing about TB.
// --weights: torchvision's alexnet-owt-7be5be79.pth (scripts/fetch-data.sh gets it); without it
// the network starts from random weights. OUT (default runs/tb_transfer) receives settings.json,
// split.json, the preprocessed-image cache, checkpoint.safetensors (a rerun with the same
// settings resumes from it; other settings are refused) and results.json, each written atomically.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "thaw/data/loader.hpp"
#include "thaw/data/split.hpp"
#include "thaw/data/synthetic.hpp"
#include "thaw/io/weights.hpp"
#include "thaw/thaw.hpp"
#include "thaw/train/from_data.hpp"
#include "thaw/train/trainer.hpp"

namespace fs = std::filesystem;

namespace {

struct Options {
  std::string train, test, weights, out = "runs/tb_transfer";
  std::size_t epochs = 10, batch = 32, synthetic_train = 662, synthetic_test = 138;
  double lr = 1e-4;
  std::uint64_t seed = 42;
};

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr,
               "tb_transfer: %s\nusage: tb_transfer [--train-dir DIR] [--test-dir DIR] [--weights FILE|DIR] [--epochs N] "
               "[--batch N] [--lr X] [--seed N] [--out DIR] [--synthetic-train N] [--synthetic-test N]\n",
               message.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  const auto count = [](const char* v, const std::string& name) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n == 0) usage(name + " takes a positive integer, not '" + v + "'");
    return std::size_t(n);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage("missing value after " + arg);
    const char* v = argv[++i];
    if (arg == "--train-dir") o.train = v;
    else if (arg == "--test-dir") o.test = v;
    else if (arg == "--weights") o.weights = v;
    else if (arg == "--out") o.out = v;
    else if (arg == "--epochs") o.epochs = count(v, arg);
    else if (arg == "--batch") o.batch = count(v, arg);
    else if (arg == "--seed") o.seed = count(v, arg);
    else if (arg == "--synthetic-train") o.synthetic_train = count(v, arg);
    else if (arg == "--synthetic-test") o.synthetic_test = count(v, arg);
    else if (arg == "--lr") o.lr = std::atof(v);
    else usage("unknown option " + arg);
  }
  if (o.train.empty() != o.test.empty()) usage("give both --train-dir and --test-dir, or neither (synthetic data)");
  if (!(o.lr > 0)) usage("--lr must be positive");
  return o;
}

// One logit per image, `batch` images per forward pass, straight from the loaded tensor.
template <class Model>
std::vector<double> scores(Model& model, const xt::xtensor<float, 4>& images, std::size_t batch) {
  model.eval();
  std::vector<double> out;
  const std::size_t n = images.shape()[0], per_image = Model::input_shape.size();
  for (std::size_t first = 0; first < n; first += batch) {
    const std::size_t m = std::min(batch, n - first);
    const float* logits = model.template forward_from<0>(images.data() + first * per_image, m);
    out.insert(out.end(), logits, logits + m);
  }
  return out;
}

nlohmann::json evaluate(const char* name, const thaw::data::CxrDataset& set, const std::vector<double>& score,
                        const std::vector<float>& labels) {
  const auto ci = thaw::metrics::delong_ci(score, labels);
  std::printf("  %-22s n=%-4zu (%3zu normal, %3zu TB)  AUC %.3f  95%% CI [%.3f, %.3f]\n", name, set.size(),
              set.count(0), set.count(1), ci.auc, ci.lower, ci.upper);
  return {{"images", set.size()}, {"normal", set.count(0)}, {"tb", set.count(1)}, {"auc", ci.auc},
          {"ci95", {ci.lower, ci.upper}}, {"source", set.name()}};
}

}  // namespace

int main(int argc, char** argv) try {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep our lines in order with the library's log lines
  const Options opt = parse(argc, argv);
  const fs::path out = opt.out;
  const bool synthetic = opt.train.empty();
  // A rerun resumes from OUT's checkpoint, which is only right for the same settings (more
  // epochs may be asked for); so OUT records them and refuses others.
  const nlohmann::json settings = {{"train_dir", opt.train}, {"test_dir", opt.test}, {"weights", opt.weights},
                                   {"batch", opt.batch}, {"lr", opt.lr}, {"seed", opt.seed},
                                   {"synthetic", synthetic ? nlohmann::json{opt.synthetic_train, opt.synthetic_test} : nlohmann::json()}};
  if (std::ifstream in(out / "settings.json"); in && nlohmann::json::parse(in, nullptr, false) != settings)
    throw std::runtime_error("'" + out.string() + "' holds a run with other settings (" + (out / "settings.json").string() +
                             "); pass another --out, or delete that folder to start over");
  thaw::io::write_atomically(out / "settings.json", [&](std::ostream& o) { o << settings.dump(1) << "\n"; });
  fs::path train_dir = opt.train, test_dir = opt.test;
  if (synthetic) {
    std::printf("data: thaw's built-in SYNTHETIC chest X-rays (not medical images); pass --train-dir/--test-dir for real ones\n");
    thaw::data::SyntheticOptions s;
    s.train.images = opt.synthetic_train;
    s.train.tb = opt.synthetic_train * 336 / 662;  // Shenzhen's balance
    s.test.images = opt.synthetic_test;
    s.test.tb = opt.synthetic_test * 58 / 138;      // Montgomery's
    const auto folders = thaw::data::write_synthetic_cxr(out / "synthetic", s);
    train_dir = folders.train;
    test_dir = folders.test;
  }
  const auto all = thaw::data::CxrDataset::from_folder(train_dir);
  const auto external = thaw::data::CxrDataset::from_folder(test_dir);
  const thaw::data::SplitOptions split_options{.train_fraction = 0.8, .seed = opt.seed, .stratified = true};
  const auto [train, validation] = thaw::data::split(all, split_options);
  thaw::data::save_split(out / "split.json", {train, validation}, split_options);
  std::printf("split: %s / %s (seed %llu, saved to %s)\n", train.summary().c_str(), validation.summary().c_str(),
              static_cast<unsigned long long>(opt.seed), (out / "split.json").c_str());

  const thaw::data::Preprocess pre;
  const thaw::data::LoadOptions load{.cache_dir = out / "cache"};
  auto train_data = thaw::data::load_all(train, pre, load);
  auto validation_data = thaw::data::load_all(validation, pre, load);
  const auto test_data = thaw::data::load_all(external, pre, load);
  const thaw::train::Dataset train_set = thaw::train::to_dataset(std::move(train_data.data));
  const thaw::train::Dataset validation_set = thaw::train::to_dataset(std::move(validation_data.data));

  thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu> model(opt.seed);
  if (!opt.weights.empty())
    std::printf("weights: %s: %s\n", opt.weights.c_str(),
                model.load_pretrained(thaw::io::load_weights(opt.weights), opt.seed).summary().c_str());
  else
    std::printf("weights: random (seed %llu). The mid-level FE keeps CL1, CL2, CL5 and FC6-FC7 frozen, so from\n"
                "  random weights it has little to learn from: expect AUCs not far from 0.5. The paper's experiment\n"
                "  needs --weights alexnet-owt-7be5be79.pth (scripts/fetch-data.sh).\n",
                static_cast<unsigned long long>(opt.seed));

  std::printf("training the mid-level FE (CL3, CL4 and the last linear layer) for %zu epochs, batch %zu, Adam lr %g\n",
              opt.epochs, opt.batch, opt.lr);
  thaw::train::TrainerOptions train_options{.epochs = opt.epochs, .batch_size = opt.batch, .seed = opt.seed,
                                            .adam = {.lr = opt.lr}, .checkpoint = out / "checkpoint.safetensors"};
  thaw::train::Trainer trainer(model, train_options);
  const auto start = std::chrono::steady_clock::now();
  const auto& history = trainer.fit(train_set, &validation_set);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("results%s:\n", synthetic ? " (SYNTHETIC data: a pipeline check, not a finding)" : "");
  nlohmann::json results = {
      {"data", synthetic ? "synthetic (thaw's built-in generator)" : "from disk"},
      {"model", "mid-level FE: AlexNet<Freeze, Freeze, Train, Train, Freeze>"},
      {"weights", opt.weights.empty() ? "random" : opt.weights},
      {"epochs", opt.epochs}, {"batch", opt.batch}, {"lr", opt.lr}, {"seed", opt.seed}, {"training_seconds", seconds},
      {"skipped_images", train_data.skipped.size() + validation_data.skipped.size() + test_data.skipped.size()}};
  results["validation"] = evaluate("validation (internal)", validation_data.kept,
                                   scores(model, validation_set.images, opt.batch), validation_set.labels);
  results["external"] = evaluate("external test site", test_data.kept, scores(model, test_data.data.images, opt.batch),
                                 test_data.data.labels);
  for (const auto& r : history)
    results["history"].push_back({{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"validation_loss", r.validation_loss}});
  thaw::io::write_atomically(out / "results.json", [&](std::ostream& o) { o << results.dump(1) << "\n"; });
  std::printf("wrote %s\n", (out / "results.json").c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tb_transfer: %s\n", e.what());
  return 1;
}
