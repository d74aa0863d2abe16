// thaw/train/checkpoint.hpp — everything a training run needs to continue where it stopped,
// in one safetensors file written atomically: the model's tensors, Adam's moments
// ("adam.exp_avg.<key>", "adam.exp_avg_sq.<key>"), and in the metadata the freeze pattern,
// the epoch, Adam's step and rate, StepLR's epoch, both random generators and the history.
#pragma once

#include <cstddef>
#include <filesystem>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "thaw/io/safetensors.hpp"
#include "thaw/train/adam.hpp"

namespace thaw::train {

struct EpochRecord {
  std::size_t epoch = 0;  // 1-based
  double train_loss = 0, validation_loss = 0, seconds = 0;
  double learning_rate = 0;
};

struct TrainingState {
  std::size_t epoch = 0;  // epochs completed
  std::mt19937_64 shuffle_rng;
  std::vector<EpochRecord> history;
};

// The freeze pattern of a model as text, e.g. "features.0=F features.3=F features.6=T ...":
// a checkpoint records it and refuses to load into another pattern.
template <class Model>
std::string freeze_pattern(const Model&) {
  using N = typename Model::net;
  std::string out;
  for (std::size_t i = 0; i < N::size; ++i)
    if (N::has_parameters[i]) {  // appends, not operator+: g++ 12 -O3 warns falsely on the latter
      if (!out.empty()) out.append(" ");
      out.append(N::key(i)).append(N::trainable[i] ? "=T" : "=F");
    }
  return out;
}

namespace detail {
template <class T>
std::string text_of(const T& value) {
  std::ostringstream out;
  out.precision(17);  // doubles round-trip exactly
  out << value;
  return out.str();
}
inline std::vector<std::size_t> flat(std::size_t n) { return {n}; }
}  // namespace detail

template <class Model>
void save_checkpoint(const std::filesystem::path& path, Model& model, Adam& adam, const StepLR& scheduler,
                     const TrainingState& state) {
  StateDict tensors = model.state_dict();
  for (std::size_t t = 0; t < adam.keys().size(); ++t) {
    for (const auto& [prefix, moments] : {std::pair{"adam.exp_avg.", &adam.exp_avg()}, std::pair{"adam.exp_avg_sq.", &adam.exp_avg_sq()}}) {
      const auto& m = (*moments)[t];
      xt::xarray<float> a = xt::xarray<float>::from_shape(detail::flat(m.size()));
      std::copy(m.begin(), m.end(), a.begin());
      tensors.emplace(prefix + adam.keys()[t], std::move(a));
    }
  }
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : state.history)
    history.push_back({{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"validation_loss", r.validation_loss},
                       {"seconds", r.seconds}, {"learning_rate", r.learning_rate}});
  const io::Metadata metadata{{"thaw.freeze_pattern", freeze_pattern(model)},
                              {"thaw.epoch", std::to_string(state.epoch)},
                              {"thaw.adam.step", std::to_string(adam.steps())},
                              {"thaw.adam.lr", detail::text_of(adam.lr())},
                              {"thaw.steplr.epoch", std::to_string(scheduler.epoch())},
                              {"thaw.shuffle_rng", detail::text_of(state.shuffle_rng)},
                              {"thaw.dropout_rng", model.dropout_state()},
                              {"thaw.history", history.dump()}};
  io::save_safetensors(path, tensors, metadata);
}

namespace detail {
template <class Meta, class Model>
TrainingState restore_counters(const Meta& meta, Model& model, Adam& adam, StepLR& scheduler) {
  adam.set_steps(std::stoull(meta("thaw.adam.step")));
  adam.set_lr(std::stod(meta("thaw.adam.lr")));
  scheduler.set_epoch(std::stoull(meta("thaw.steplr.epoch")));
  TrainingState state;
  state.epoch = std::stoull(meta("thaw.epoch"));
  std::istringstream(meta("thaw.shuffle_rng")) >> state.shuffle_rng;
  // Another backend's generator (a CUDA run resumed on the CPU): this model keeps its own.
  model.set_dropout_state(meta("thaw.dropout_rng"));
  for (const auto& r : nlohmann::json::parse(meta("thaw.history")))
    state.history.push_back({r["epoch"], r["train_loss"], r["validation_loss"], r["seconds"], r["learning_rate"]});
  return state;
}
}  // namespace detail

// Restores what save_checkpoint wrote; refuses a checkpoint of another freeze pattern.
template <class Model>
TrainingState load_checkpoint(const std::filesystem::path& path, Model& model, Adam& adam, StepLR& scheduler) {
  auto file = io::read_safetensors(path);
  const auto meta = [&](const std::string& key) {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end())
      throw std::invalid_argument("thaw::train::load_checkpoint: '" + path.string() + "' has no '" + key +
                                  "' entry; it is not a thaw training checkpoint");
    return it->second;
  };
  const std::string pattern = meta("thaw.freeze_pattern");
  if (pattern != freeze_pattern(model))
    throw std::invalid_argument("thaw::train::load_checkpoint: '" + path.string() + "' was written for the freeze pattern [" +
                                pattern + "], but this model is [" + freeze_pattern(model) +
                                "]; resume with the same model type or start a new run");
  // Take the optimizer's tensors out, check everything, then change the model and the moments.
  StateDict moments;
  for (std::size_t t = 0; t < adam.keys().size(); ++t)
    for (const char* prefix : {"adam.exp_avg.", "adam.exp_avg_sq."}) {
      auto node = file.tensors.extract(prefix + adam.keys()[t]);
      if (node.empty() || node.mapped().size() != adam.exp_avg()[t].size())
        throw std::invalid_argument("thaw::train::load_checkpoint: '" + path.string() + "' lacks a matching '" + prefix +
                                    adam.keys()[t] + "'");
      moments.insert(std::move(node));
    }
  model.load_state_dict(file.tensors);
  for (std::size_t t = 0; t < adam.keys().size(); ++t) {
    const auto& m = moments.at("adam.exp_avg." + adam.keys()[t]);
    const auto& v = moments.at("adam.exp_avg_sq." + adam.keys()[t]);
    std::copy(m.begin(), m.end(), adam.exp_avg()[t].begin());
    std::copy(v.begin(), v.end(), adam.exp_avg_sq()[t].begin());
  }
  try {
    return detail::restore_counters(meta, model, adam, scheduler);
  } catch (const std::exception& e) {  // std::stoull or the JSON parser on a damaged entry
    throw std::invalid_argument("thaw::train::load_checkpoint: '" + path.string() + "' has a damaged entry (" +
                                e.what() + ")");
  }
}

}  // namespace thaw::train
