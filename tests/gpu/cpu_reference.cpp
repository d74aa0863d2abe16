// tests/gpu/cpu_reference.cpp — the GPU tests' oracle: thaw's CPU layers, loss and Adam,
// compiled by g++ (see cpu_reference.hpp).
#include "cpu_reference.hpp"

#include <span>
#include <string>
#include <utility>

#include "thaw/backend/cpu/cpu.hpp"
#include "thaw/train/loss.hpp"

namespace thaw::gpu_test {
namespace {

struct HostTraits {
  static const std::vector<float>& upload(const std::vector<float>& v) { return v; }
  static const float* raw(const std::vector<float>& v) { return v.data(); }
  static std::vector<float> download(const float* p, std::size_t n) { return {p, p + n}; }
  static std::vector<float> download(const std::vector<float>& v) { return v; }
};

// The one-tensor model thaw::train::Adam needs.
struct OneTensor {
  std::vector<float> params, grads;
  std::vector<std::pair<std::string, std::size_t>> trainable_tensors() { return {{"tensor", params.size()}}; }
  template <class F>
  void for_each_trainable(F&& f) {
    f(std::string("tensor"), std::span(params), std::span<const float>(grads));
  }
};

}  // namespace

LayerResult cpu_layer(std::size_t index, const LayerData& data, bool fused) {
  LayerResult result;
  for_each_case([&]<class C>(std::size_t i) {
    if (i == index) result = run_case<Cpu, HostTraits, C>(data, fused);
  });
  return result;
}

double cpu_bce(const std::vector<float>& z, const std::vector<float>& y, std::vector<float>& dz) {
  dz.assign(z.size(), 0.0f);
  return train::bce_with_logits(z.data(), y.data(), z.size(), dz.data());
}

std::vector<float> cpu_adam(const AdamRun& run, const train::AdamOptions& options) {
  OneTensor model{run.params, {}};
  train::Adam adam(model, options);
  for (const auto& g : run.grads) {
    model.grads = g;
    adam.step(model);
  }
  return model.params;
}

ModelRun cpu_model_run(std::size_t index, const ModelInputs& in) {
  ModelRun run;
  for_each_model_case([&]<class Net>(std::size_t i) {
    if (i == index) run = run_model<Net, Cpu>(in);
  });
  return run;
}

NextStep cpu_step_from(std::size_t index, const ModelInputs& in, const ModelRun& from) {
  NextStep next;
  for_each_model_case([&]<class Net>(std::size_t i) {
    if (i == index) next = step_from<Net, Cpu>(in, from);
  });
  return next;
}

TrainerRun cpu_trainer_run(std::size_t index, const ModelInputs& in) {
  TrainerRun run;
  for_each_model_case([&]<class Net>(std::size_t i) {
    if (i == index) run = run_trainer<Net, Cpu>(in);
  });
  return run;
}

std::vector<float> cpu_checkpoint_leg(std::size_t index, const std::string& from, const std::string& to,
                                      const ModelInputs& in) {
  std::vector<float> output;
  for_each_model_case([&]<class Net>(std::size_t i) {
    if (i == index) output = checkpoint_leg<Net, Cpu>(from, to, in);
  });
  return output;
}

}  // namespace thaw::gpu_test
