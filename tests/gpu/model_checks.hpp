// tests/gpu/model_checks.hpp — Model<Net, Cuda> against Model<Net, Cpu> through the public
// calls: initialization, eval forward, compute_gradients and gradients(), Adam steps (losses,
// parameter updates, moments), and a checkpoint's trip Cuda -> Cpu -> Cuda through
// safetensors files. Runs on the GPU (gpu_tests.cu) and on the host through Thrust's CPP system
// (model_host_test.cpp, in CI).
#pragma once

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

// trained - initial, tensor by tensor.
inline Tensors updates(const ModelRun& run) {
  Tensors d = run.trained;
  for (std::size_t t = 0; t < d.values.size(); ++t)
    for (std::size_t i = 0; i < d.values[t].size(); ++i) d.values[t][i] -= run.initial.values[t][i];
  return d;
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
  // Ten steps compound the backends' different summation orders: conv1's and conv2's weight
  // gradients are long sums with heavy cancellation, agreeing to 1e-4 after one step (checked
  // above), and after ten steps updates differ by up to 0.8% of a tensor's largest update and
  // second moments by 1.1% (H200, 2026-11-27). A wrong moment,
  // bias correction or step count changes updates by tens of percent; the tolerances below
  // sit at about twice the measured drift.
  ok = close_tensors("update", updates(got), updates(want), 2e-2) && ok;
  if (got.exp_avg_sq.size() != want.exp_avg_sq.size()) {
    std::printf("  Adam: %zu moment tensors, expected %zu\n", got.exp_avg_sq.size(), want.exp_avg_sq.size());
    ok = false;
  } else {
    for (std::size_t t = 0; t < got.exp_avg_sq.size(); ++t)
      ok = close("Adam exp_avg_sq " + std::to_string(t), got.exp_avg_sq[t], want.exp_avg_sq[t], 3e-2) && ok;
  }
  ok = close("eval output after training", got.trained_output, want.trained_output, 1e-3) && ok;
  return ok;
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
