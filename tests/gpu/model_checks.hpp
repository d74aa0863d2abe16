// tests/gpu/model_checks.hpp — Model<Net, Cuda> against Model<Net, Cpu> through the public
// calls: initialization, eval forward, compute_gradients and gradients(), Adam steps (losses,
// parameter updates, moments), and a checkpoint's trip Cuda -> Cpu -> Cuda through
// safetensors files. Runs on the GPU (gpu_tests.cu) and on the host through Thrust's CPP system
// (model_host_test.cpp, in CI).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "backend_checks.hpp"
#include "cpu_reference.hpp"
#include "model_cases.hpp"

namespace thaw::gpu_test {

inline bool close_tensors(const std::string& what, const Tensors& got, const Tensors& want, double tolerance) {
  if (got.keys != want.keys) {
    std::printf("  %s: the keys differ (%zu, expected %zu)\n", what.c_str(), got.keys.size(), want.keys.size());
    return false;
  }
  bool ok = true;
  for (std::size_t t = 0; t < got.keys.size(); ++t)
    ok = close(what + " " + got.keys[t], got.values[t], want.values[t], tolerance) && ok;
  return ok;
}

// after - before, tensor by tensor.
inline Tensors difference(Tensors after, const Tensors& before) {
  for (std::size_t t = 0; t < after.values.size(); ++t)
    for (std::size_t i = 0; i < after.values[t].size(); ++i) after.values[t][i] -= before.values[t][i];
  return after;
}

// Adam's moments, named by their tensor's index.
inline Tensors moment_tensors(const std::vector<std::vector<float>>& moments) {
  Tensors t;
  for (std::size_t i = 0; i < moments.size(); ++i) t.keys.push_back(std::to_string(i));
  t.values = moments;
  return t;
}

// ||got - want|| / ||want|| per tensor: the whole-tensor error, which a rounding-level
// near-tie flipped on one side (one ReLU or max-pool decision, moving a few hundred gradient
// elements) barely moves and a wrong optimizer moves by tens of percent.
inline bool close_in_norm(const std::string& what, const Tensors& got, const Tensors& want, double tolerance) {
  if (got.keys != want.keys) {
    std::printf("  %s: the keys differ\n", what.c_str());
    return false;
  }
  bool ok = true;
  for (std::size_t t = 0; t < got.keys.size(); ++t) {
    double error = 0, norm = 0;
    for (std::size_t i = 0; i < want.values[t].size(); ++i) {
      const double d = double(got.values[t][i]) - double(want.values[t][i]);
      error += d * d;
      norm += double(want.values[t][i]) * double(want.values[t][i]);
    }
    const double relative = std::sqrt(error / std::max(norm, 1e-300));
    if (!(relative <= tolerance)) {
      std::printf("  %s %s: relative error %.3g in norm, allowed %.3g\n", what.c_str(), got.keys[t].c_str(), relative,
                  tolerance);
      ok = false;
    }
  }
  return ok;
}

template <class Net>
bool model_parity(std::size_t index, const ModelInputs& in) {
  const ModelRun want = cpu_model_run(index, in);
  const ModelRun got = run_model<Net, Cuda>(in);
  // The initial draws are the same host code; only the compilers' contraction may differ.
  bool ok = close_tensors("initial", got.initial, want.initial, 1e-6);
  ok = close("eval output", got.output, want.output) && ok;
  ok = close("loss", {got.loss}, {want.loss}) && ok;
  ok = close_tensors("gradient", got.gradients, want.gradients, 1e-4) && ok;
  ok = close("train_step losses", got.losses, want.losses) && ok;
  // The parameters after ten steps are not compared: the backends' summation orders differ
  // by 1e-7 relative in a gradient, and each step feeds the next, so trajectories drift apart
  // (on an H200, updates after ten steps differed by up to 5% of a tensor's largest update).
  // Instead both backends take one Adam step from the CUDA model's end state (parameters,
  // moments, step count) and their updates are compared in norm: 1e-5 apart typically, 1e-3
  // where a ReLU or max-pool near-tie flips between backends (host build, alternating case),
  // while a wrong moment, bias correction or step count moves them by tens of percent.
  const NextStep next = step_from<Net, Cuda>(in, got), next_cpu = cpu_step_from(index, in, got);
  ok = close_in_norm("update of step " + std::to_string(in.adam_steps + 1), difference(next.state, got.trained),
                     difference(next_cpu.state, got.trained), 1e-2) &&
       ok;
  return close_in_norm("Adam exp_avg_sq", moment_tensors(next.exp_avg_sq), moment_tensors(next_cpu.exp_avg_sq), 1e-2) &&
         ok;
}

// A checkpoint written by Model<Net, Cuda> loads into Model<Net, Cpu>, whose state dict loads
// back into Model<Net, Cuda>: the tensors come back unchanged and all three models agree.
template <class Net>
bool checkpoint_trip(std::size_t index, const ModelInputs& in) {
  const auto dir = std::filesystem::temp_directory_path() / ("thaw_gpu_checkpoint_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string from_cuda = dir / "cuda.safetensors", from_cpu = dir / "cpu.safetensors",
                    again = dir / "cuda_again.safetensors";
  Model<Net, Cuda> model(in.seed + 7);
  io::save_safetensors(from_cuda, model.state_dict());
  const Tensors saved = tensors_of(model.state_dict());
  const auto output = eval_output(model, model_batch<Model<Net, Cuda>>(in));
  const std::vector<float> cpu_output = cpu_checkpoint_leg(index, from_cuda, from_cpu, in);
  const std::vector<float> cuda_output = checkpoint_leg<Net, Cuda>(from_cpu, again, in);
  const Tensors round_trip = tensors_of(io::load_safetensors(again));
  std::filesystem::remove_all(dir);
  bool ok = close_tensors("round trip", round_trip, saved, 0.0);
  ok = close("Cpu output from the Cuda checkpoint", cpu_output, output) && ok;
  return close("Cuda output after Cuda -> Cpu -> Cuda", cuda_output, output, 1e-6) && ok;
}

// One check per case: parity and, for `trip_cases` of them, the checkpoint round trip.
template <class... Net>
std::vector<Check> model_checks(const ModelInputs& in, std::size_t trip_cases = 1) {
  std::vector<Check> checks;
  std::size_t trips = 0;
  const auto add = [&]<class N>(std::size_t index) {
    const std::string name = std::string("Model<") + model_case_name(index) + ", Cuda>";
    checks.push_back({name + " vs Model<Cpu>", [index, in] { return model_parity<N>(index, in); }});
    if (trips++ < trip_cases)
      checks.push_back({name + " checkpoint Cuda -> Cpu -> Cuda", [index, in] { return checkpoint_trip<N>(index, in); }});
  };
  if constexpr (sizeof...(Net) == 0)
    for_each_model_case([&]<class N>(std::size_t index) { add.template operator()<N>(index); });
  else
    (add.template operator()<Net>(index_of<Net>()), ...);
  return checks;
}

}  // namespace thaw::gpu_test
