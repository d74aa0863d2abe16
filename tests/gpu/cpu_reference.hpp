// tests/gpu/cpu_reference.hpp — the CPU backend as the GPU tests' oracle, behind plain
// functions: cpu_reference.cpp is compiled by g++ (Eigen), the CUDA tests by nvcc, and only
// std::vector crosses between them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "layer_cases.hpp"
#include "model_cases.hpp"
#include "thaw/train/adam.hpp"

namespace thaw::gpu_test {

// Case `index` of Cases through thaw::cpu::Layer; fused = false runs its unfused twin (the
// pre-activation of a fused layer).
LayerResult cpu_layer(std::size_t index, const LayerData& data, bool fused);
// thaw::train::bce_with_logits.
double cpu_bce(const std::vector<float>& z, const std::vector<float>& y, std::vector<float>& dz);
// The parameters after run.grads.size() steps of thaw::train::Adam.
std::vector<float> cpu_adam(const AdamRun& run, const train::AdamOptions& options);
// run_model, step_from and checkpoint_leg of model case `index` on Model<Net, Cpu>.
ModelRun cpu_model_run(std::size_t index, const ModelInputs& in);
NextStep cpu_step_from(std::size_t index, const ModelInputs& in, const ModelRun& from);
// run_trainer (trainer_checks.hpp) of model case `index` on Model<Net, Cpu>.
TrainerRun cpu_trainer_run(std::size_t index, const ModelInputs& in);
std::vector<float> cpu_checkpoint_leg(std::size_t index, const std::string& from, const std::string& to,
                                      const ModelInputs& in);

}  // namespace thaw::gpu_test
