// tests/gpu/trainer_checks.hpp — thaw::train::Trainer on Model<Net, Cuda> against the same fit
// on Model<Net, Cpu> (run_trainer, model_cases.hpp): batches staged from the host, the
// frozen-prefix cache filled from device outputs in the first epoch and read back in the
// second, validation logits brought home, and a checkpoint resumed for a third epoch.
// Runs on the GPU (gpu_tests.cu) and on the host through Thrust's CPP system (model_host_test.cpp).
#pragma once

#include <string>
#include <vector>

#include "backend_checks.hpp"
#include "cpu_reference.hpp"
#include "model_cases.hpp"

namespace thaw::gpu_test {

template <class Net>
bool trainer_parity(std::size_t index, const ModelInputs& in) {
  const TrainerRun want = cpu_trainer_run(index, in), got = run_trainer<Net, Cuda>(in);
  bool ok = close("train losses", got.train_losses, want.train_losses);
  ok = close("validation losses", got.validation_losses, want.validation_losses) && ok;
  if (got.cached != want.cached) {
    std::printf("  the prefix cache was %s, on the CPU %s\n", got.cached ? "used" : "off", want.cached ? "used" : "off");
    ok = false;
  }
  return ok;
}

// One check per case given (their index in ModelCases); four images.
template <class... Net>
std::vector<Check> trainer_checks(unsigned seed) {
  const ModelInputs in = make_model_inputs(4, 0, seed);
  return {{std::string("Trainer<Model<") + model_case_name(index_of<Net>()) + ", Cuda>> vs Trainer<Model<Cpu>>",
           [in] { return trainer_parity<Net>(index_of<Net>(), in); }}...};
}

}  // namespace thaw::gpu_test
