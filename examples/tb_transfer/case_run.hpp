// examples/tb_transfer/case_run.hpp — training one seed's cases: each compiled freeze pattern
// trained from the seed's initial weights, scored on the validation split and the external site,
// its run.json written last; cases with the same frozen prefix share one cache (SharingPlan).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "options.hpp"
#include "run_folder.hpp"
#include "thaw/data/file_source.hpp"
#include "thaw/experiment/sharing_plan.hpp"
#include "thaw/io/safetensors.hpp"
#include "thaw/thaw.hpp"
#include "thaw/train/linear_probe.hpp"
#include "thaw/train/predict.hpp"
#include "thaw/train/prefix_cache.hpp"
#include "thaw/train/trainer.hpp"

namespace tb_transfer {

using Plan = thaw::experiment::SharingPlan<thaw::Cpu, Cases>;
static_assert(Plan::group[index_of("mid")] == Plan::group[index_of("cl3")] &&
                  Plan::group[index_of("mid")] == Plan::group[index_of("hm")] && Plan::computes[index_of("mid")],
              "mid-level FE, CL3-FE and H-M level FE freeze the same conv1-conv2 prefix: one cache could serve all three");

// "AlexNet<Freeze, Freeze, Train, Train, Freeze>": the conv layers' modes, and the linear
// layers' too where they differ from AlexNet's defaults (FC1, FC2 frozen, FC3 trained).
template <class N>
std::string type_name() {
  std::vector<bool> trains;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((thaw::ParameterizedLayer<typename N::template layer<I>> ? trains.push_back(N::trainable[I]) : void()), ...);
  }(std::make_index_sequence<N::size>{});
  const bool default_head = trains.size() == 8 && !trains[5] && !trains[6] && trains[7];
  std::string out = "AlexNet<";
  for (std::size_t i = 0; i < (default_head ? 5 : trains.size()); ++i) out += (i ? ", " : "") + std::string(trains[i] ? "Train" : "Freeze");
  return out + ">";
}

// One split's images, streamed from disk (through the 8-bit image cache) as the Trainer needs them.
struct SplitData {
  std::uint64_t seed = 0;
  thaw::data::FileSource train, validation;
};

// Everything one seed's cases share.
struct SeedContext {
  const Options& opt;
  fs::path out;
  std::uint64_t seed;
  const SplitData& data;
  const thaw::data::FileSource& external;
  const thaw::StateDict& initial;  // every case of this seed starts from these weights
  std::size_t& done;               // case runs so far, for the header lines
  std::size_t total;
};

// One frozen-prefix cache per sharing group and seed: the group's first case fills it, the
// others start from it (the Trainer refuses it if their prefixes were not the same).
struct GroupCache {
  std::shared_ptr<thaw::train::PrefixCache> cache = std::make_shared<thaw::train::PrefixCache>();
};

inline thaw::train::TrainerOptions trainer_options(const SeedContext& c, const fs::path& dir, GroupCache& group) {
  return {.epochs = c.opt.epochs, .batch_size = c.opt.batch, .seed = c.seed, .adam = {.lr = c.opt.lr},
          .lr_step = c.opt.lr_step, .lr_gamma = lr_gamma, .checkpoint = dir / "checkpoint.safetensors",
          .prefix_cache = group.cache};
}

inline json scored(const std::vector<double>& score, const thaw::data::FileSource& set) {
  std::vector<std::string> files;
  std::vector<int> labels;
  for (const auto& s : set.set().samples()) {
    files.push_back(s.path.filename().string());
    labels.push_back(s.label);
  }
  return {{"scores", score}, {"labels", labels}, {"files", files}};
}

template <std::size_t I>
void run_case(const SeedContext& c, GroupCache& group) {
  using Net = typename std::remove_cvref_t<decltype(std::get<I>(thaw::paper::cases))>::net;
  using Model = thaw::Model<Net, thaw::Cpu>;
  const fs::path dir = c.out / "runs" / std::string(slugs[I]) / seed_folder(c.seed);
  ++c.done;
  if (fs::exists(dir / "run.json")) {
    std::printf("== [%zu/%zu] %s, seed %llu: done earlier (%s)\n", c.done, c.total, names[I].data(),
                static_cast<unsigned long long>(c.seed), (dir / "run.json").c_str());
    return;
  }
  std::string sharing = Plan::computes[I] ? "frozen prefix: " + std::to_string(Model::frozen_prefix) + " layers" : "no frozen prefix";
  for (std::size_t j = 0; j < case_count; ++j)
    if (j != I && Plan::computes[I] && Plan::group[j] == Plan::group[I])
      sharing += (sharing.find("same as") == std::string::npos ? ", same as " : ", ") + std::string(slugs[j]);
  std::printf("== [%zu/%zu] %s (%s), seed %llu: %s, %zu trainable parameters, %s\n", c.done, c.total, names[I].data(),
              slugs[I].data(), static_cast<unsigned long long>(c.seed), type_name<Net>().c_str(),
              Net::trainable_parameter_count, sharing.c_str());

  auto model = std::make_unique<Model>(c.seed);
  model->load_state_dict(c.initial);
  model->set_dropout(c.opt.dropout == "on");
  thaw::train::Trainer trainer(*model, trainer_options(c, dir, group));
  double earlier_seconds = 0;  // epochs of an interrupted run, read from its checkpoint
  for (const auto& r : trainer.history()) earlier_seconds += r.seconds;
  const std::size_t earlier_epochs = trainer.history().size();
  if (earlier_epochs > 0) std::printf("resuming after epoch %zu (%s)\n", earlier_epochs, (dir / "checkpoint.safetensors").c_str());
  const thaw::train::PrefixCache& cache = *group.cache;
  const double prefix_seconds_before = cache.compute_seconds();
  const std::size_t computed_before = cache.misses(), reused_before = cache.hits();
  const auto start = std::chrono::steady_clock::now();
  const auto& history = trainer.fit(c.data.train, &c.data.validation);
  const double fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (c.opt.refit_head == "on") std::printf("%s", thaw::train::fit_head(*model, c.data.train).summary().c_str());
  const auto validation = thaw::train::predict_logits(*model, c.data.validation, c.opt.batch);
  const auto external = thaw::train::predict_logits(*model, c.external, c.opt.batch);

  thaw::io::save_safetensors(dir / "model.safetensors", model->state_dict());
  json run = {{"case", names[I]}, {"slug", slugs[I]}, {"type", type_name<Net>()}, {"seed", c.seed},
              {"trainable_parameters", Net::trainable_parameter_count},
              {"training_seconds", earlier_seconds + fit_seconds},
              {"prefix_seconds", cache.compute_seconds() - prefix_seconds_before},
              {"history", json::array()}, {"validation", scored(validation, c.data.validation)},
              {"external", scored(external, c.external)},
              // Measured by the group's shared cache; timing.json derives the unshared costs from them.
              {"prefix_detail", {{"layers", Model::frozen_prefix}, {"computes", Plan::computes[I]},
                                 {"group", slugs[Plan::group[I]]}, {"computed_images", cache.misses() - computed_before},
                                 {"reused_images", cache.hits() - reused_before},
                                 {"seconds_per_image", cache.misses() == 0 ? 0.0 : cache.compute_seconds() / double(cache.misses())},
                                 {"epochs", c.opt.epochs},
                                 {"images", {{"train", c.data.train.size()}, {"validation", c.data.validation.size()}}}}}};
  for (const auto& r : history)
    run["history"].push_back({{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"validation_loss", r.validation_loss},
                              {"lr", r.learning_rate}, {"seconds", r.seconds}});
  write_json(dir / "run.json", run);
  // run.json and model.safetensors hold all the checkpoint could resume; it is the size of the model.
  fs::remove(dir / "checkpoint.safetensors");
}

using CaseRunner = void (*)(const SeedContext&, GroupCache&);
inline constexpr auto case_runners = []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<CaseRunner, case_count>{&run_case<I>...};
}(std::make_index_sequence<case_count>{});

// The selected cases of one seed, group by group, so a group's shared cache is needed only while
// its cases run.
inline void run_seed(const SeedContext& c) {
  for (std::size_t leader = 0; leader < case_count; ++leader) {
    if (Plan::group[leader] != leader) continue;
    GroupCache group;
    for (std::size_t i = leader; i < case_count; ++i)
      if (Plan::group[i] == leader && c.opt.selected[i]) case_runners[i](c, group);
  }
}

}  // namespace tb_transfer
