// tests/gpu/model_cases.hpp — whole models on the CUDA backend against the CPU backend: the
// nine paper cases and one unusual freeze pattern, and one runner written against Model's
// public calls only (host tensors in and out), so Model<Net, Cpu> (cpu_reference.cpp, g++)
// and Model<Net, Cuda> (nvcc, or g++ on Thrust's CPP system) go through the very same steps.
// Only std::vector and std::string cross between the two translation units.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

#include <xtensor/xadapt.hpp>

#include "thaw/io/safetensors.hpp"
#include "thaw/model/model.hpp"
#include "thaw/models/paper_cases.hpp"
#include "thaw/train/adam.hpp"
#include "thaw/train/model_training.hpp"
#include "thaw/train/trainer.hpp"

namespace thaw::gpu_test {

// Conv1, conv3 and the head trained with frozen layers between them: a backward pass that
// crosses frozen layers twice.
using Alternating = AlexNet<Train, Freeze, Train, Freeze, Train>;
using ModelCases = std::tuple<paper::MidLevelFE, paper::CL3FE, paper::CL4FE, paper::FineTuning, paper::LowLevelFE,
                              paper::CL1FE, paper::CL2FE, paper::HighLevelFE, paper::HMLevelFE, Alternating>;
inline constexpr std::size_t model_case_count = std::tuple_size_v<ModelCases>;
template <class Net>
constexpr std::size_t index_of() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    std::size_t index = model_case_count;
    ((index = std::is_same_v<Net, std::tuple_element_t<I, ModelCases>> ? I : index), ...);
    return index;
  }(std::make_index_sequence<model_case_count>{});
}
inline const char* model_case_name(std::size_t index) {
  static const char* names[] = {"mid-level FE", "CL3-FE",       "CL4-FE",        "fine-tuning", "low-level FE",
                                "CL1-FE",       "CL2-FE",       "high-level FE", "H-M level FE",
                                "AlexNet<Train, Freeze, Train, Freeze, Train>"};
  static_assert(std::size(names) == model_case_count);
  return names[index];
}

struct ModelInputs {
  std::size_t batch = 0;
  std::vector<float> images, labels;  // NCHW; one 0/1 label per image
  std::uint64_t seed = 0;             // the models' initialization
  std::size_t adam_steps = 0;
};

inline ModelInputs make_model_inputs(std::size_t batch, std::size_t adam_steps, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  ModelInputs in;
  in.batch = batch;
  in.images.resize(batch * 3 * 224 * 224);
  for (float& v : in.images) v = normal(rng);
  for (std::size_t i = 0; i < batch; ++i) in.labels.push_back(float(i % 2));
  in.seed = seed;
  in.adam_steps = adam_steps;
  return in;
}

// Adam with a large eps: the update is then nearly linear in the gradient for the many
// near-zero gradients, so fp32 rounding differences between backends stay small in the
// parameters (with eps = 1e-8, Adam turns a 1e-7 gradient's rounding into a full lr step).
inline train::AdamOptions model_adam_options() {
  train::AdamOptions options;
  options.lr = 1e-4;
  options.eps = 1e-3;
  return options;
}

// Every tensor of a state dictionary, in key order.
struct Tensors {
  std::vector<std::string> keys;
  std::vector<std::vector<float>> values;
};
inline Tensors tensors_of(const StateDict& sd) {
  Tensors t;
  for (const auto& [key, value] : sd) {
    t.keys.push_back(key);
    t.values.emplace_back(value.begin(), value.end());
  }
  return t;
}

struct ModelRun {
  Tensors initial;                 // state_dict() after construction
  std::vector<float> output;       // eval-mode forward
  float loss = 0;                  // compute_gradients
  Tensors gradients;               // gradients()
  std::vector<float> losses;       // one per train_step
  Tensors trained;                 // state_dict() after the steps
  std::vector<std::vector<float>> exp_avg, exp_avg_sq;  // Adam's moments after the steps
};

// A Trainer's fit (trainer_checks.hpp): the epochs' losses, and whether it cached the prefix.
struct TrainerRun {
  std::vector<float> train_losses, validation_losses;
  bool cached = false;
};

// One more step from a run's end state: the state dict and Adam's moments after it.
struct NextStep {
  Tensors state;
  std::vector<std::vector<float>> exp_avg_sq;
};

template <class M>
xt::xtensor<float, 4> model_batch(const ModelInputs& in) {
  return xt::adapt(in.images, std::array<std::size_t, 4>{in.batch, M::input_shape.c, M::input_shape.h,
                                                         M::input_shape.w});
}

template <class M>
std::vector<float> eval_output(M& model, const xt::xtensor<float, 4>& batch) {
  model.eval();
  const auto out = model.forward(batch);
  model.train();
  return {out.begin(), out.end()};
}

// The public calls a user makes, with dropout off (the backends draw different masks).
template <class Net, class Backend>
ModelRun run_model(const ModelInputs& in) {
  Model<Net, Backend> model(in.seed);
  model.set_dropout(false);
  ModelRun run;
  run.initial = tensors_of(model.state_dict());
  const auto batch = model_batch<Model<Net, Backend>>(in);
  run.output = eval_output(model, batch);
  run.loss = model.compute_gradients(batch, in.labels);
  run.gradients = tensors_of(model.gradients());
  train::Adam adam(model, model_adam_options());
  for (std::size_t s = 0; s < in.adam_steps; ++s) run.losses.push_back(model.train_step(batch, in.labels, adam));
  run.trained = tensors_of(model.state_dict());
  run.exp_avg = adam.exp_avg();
  run.exp_avg_sq = adam.exp_avg_sq();
  return run;
}

// A model and optimizer put in the state `from` ended in (parameters, moments, step count),
// then one train_step on the batch. Run on two backends from the same state, the steps differ
// only by one step's rounding: trajectories of many steps drift apart (see model_parity).
template <class Net, class Backend>
NextStep step_from(const ModelInputs& in, const ModelRun& from) {
  Model<Net, Backend> model(in.seed + 3);
  model.set_dropout(false);
  StateDict sd = model.state_dict();
  for (std::size_t t = 0; t < from.trained.keys.size(); ++t)
    std::copy(from.trained.values[t].begin(), from.trained.values[t].end(), sd.at(from.trained.keys[t]).begin());
  model.load_state_dict(sd);
  train::Adam adam(model, model_adam_options());
  adam.exp_avg() = from.exp_avg;
  adam.exp_avg_sq() = from.exp_avg_sq;
  adam.set_steps(in.adam_steps);
  model.train_step(model_batch<Model<Net, Backend>>(in), in.labels, adam);
  return {tensors_of(model.state_dict()), adam.exp_avg_sq()};
}

// Loads the safetensors file `from` into a new model (initialized from another seed), runs
// the batch in eval mode, and writes its state dict to `to`: one leg of a checkpoint's trip
// between backends.
template <class Net, class Backend>
std::vector<float> checkpoint_leg(const std::string& from, const std::string& to, const ModelInputs& in) {
  Model<Net, Backend> model(in.seed + 1);
  model.load_state_dict(io::load_safetensors(from));
  const auto output = eval_output(model, model_batch<Model<Net, Backend>>(in));
  io::save_safetensors(to, model.state_dict());
  return output;
}

// Two epochs at batch 2 over the first three images, validated on the fourth, checkpointed;
// then a new model resumes from the checkpoint for a third. Dropout off (the backends draw
// different masks).
template <class Net, class Backend>
TrainerRun run_trainer(const ModelInputs& in) {
  using M = Model<Net, Backend>;
  constexpr std::size_t per_image = M::input_shape.size();
  const auto images = [&](std::size_t first, std::size_t count) {
    std::vector<float> values(in.images.begin() + std::ptrdiff_t(first * per_image),
                              in.images.begin() + std::ptrdiff_t((first + count) * per_image));
    return xt::xtensor<float, 4>(xt::adapt(values, std::array<std::size_t, 4>{count, M::input_shape.c,
                                                                             M::input_shape.h, M::input_shape.w}));
  };
  const train::Dataset train(images(0, 3), std::vector<float>(in.labels.begin(), in.labels.begin() + 3));
  const train::Dataset validation(images(3, 1), std::vector<float>{in.labels[3]});
  train::TrainerOptions options;
  options.epochs = 2;
  options.batch_size = 2;
  options.seed = 3;
  options.adam = model_adam_options();
  options.on_epoch = [](const train::EpochRecord&) {};
  options.on_message = [](const std::string&) {};
  options.checkpoint = std::filesystem::temp_directory_path() /
                       ("thaw_gpu_trainer_" + std::string(Backend::name) + "_" + std::to_string(::getpid()) +
                        ".safetensors");
  std::filesystem::remove(options.checkpoint);
  TrainerRun run;
  {
    M model(in.seed);
    model.set_dropout(false);
    train::Trainer trainer(model, options);
    trainer.fit(train, &validation);
    run.cached = trainer.caching();
  }
  options.epochs = 3;
  M resumed(in.seed + 9);
  resumed.set_dropout(false);
  train::Trainer trainer(resumed, options);
  for (const auto& record : trainer.fit(train, &validation)) {
    run.train_losses.push_back(float(record.train_loss));
    run.validation_losses.push_back(float(record.validation_loss));
  }
  std::filesystem::remove(options.checkpoint);
  return run;
}

// Calls f.template operator()<Net>(index) for every case.
template <class F>
void for_each_model_case(F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f.template operator()<std::tuple_element_t<I, ModelCases>>(I), ...);
  }(std::make_index_sequence<model_case_count>{});
}

}  // namespace thaw::gpu_test
