// tests/gpu/graph_checks.hpp — CUDA Graphs (backend/cuda/graph.cuh) on the GPU: a captured
// training step replayed against the same steps run uncaptured (dropout on, Adam), and a
// captured eval forward pass against the uncaptured one. Replays must give the same bits.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include <thrust/transform.h>

#include "backend_checks.hpp"
#include "model_cases.hpp"

namespace thaw::gpu_test {

inline bool same_bits(const std::string& what, const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() == want.size() && std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0) return true;
  close(what + " (not bit-identical)", got, want, 0.0);
  return false;
}

// Two models from one seed and dropout seed: `plain` takes uncaptured steps, `captured` a
// CapturedTrainStep (its first call runs uncaptured and captures, the rest replay), with one
// uncaptured step interleaved to check that the dropout counter and Adam's step count carry
// over both ways.
template <class Net>
bool captured_step_check(const ModelInputs& in, std::size_t replays, bool tf32) {
  Model<Net, Cuda> plain(in.seed), captured(in.seed);
  plain.seed_dropout(5);
  captured.seed_dropout(5);
  plain.context().set_tf32(tf32);  // TF32 runs cuDNN's convolutions, fp32 thaw's im2col
  captured.context().set_tf32(tf32);
  const thrust::device_vector<float> x(in.images.begin(), in.images.end()), t(in.labels.begin(), in.labels.end());
  const float* xp = DeviceTraits::raw(x);
  const float* tp = DeviceTraits::raw(t);
  train::Adam plain_adam(plain, {.lr = 1e-4}), captured_adam(captured, {.lr = 1e-4});
  cuda::CapturedTrainStep step(captured, captured_adam, xp, in.batch, tp);
  std::vector<float> want, got;
  const auto both = [&](bool replay) {
    want.push_back(plain.train_step_resident(xp, in.batch, tp, plain_adam));
    got.push_back(replay ? step() : captured.train_step_resident(xp, in.batch, tp, captured_adam));
  };
  for (std::size_t s = 0; s < replays; ++s) both(true);
  both(false);
  both(true);
  bool ok = same_bits("losses", got, want);
  const Tensors a = tensors_of(captured.state_dict()), b = tensors_of(plain.state_dict());
  for (std::size_t i = 0; i < a.values.size(); ++i) ok = same_bits(a.keys[i], a.values[i], b.values[i]) && ok;
  const auto ma = captured_adam.exp_avg_sq(), mb = plain_adam.exp_avg_sq();
  for (std::size_t i = 0; i < ma.size(); ++i)
    ok = same_bits("Adam exp_avg_sq " + std::to_string(i), ma[i], mb[i]) && ok;
  if (captured_adam.steps() != plain_adam.steps() ||
      captured.context().dropout_counter != plain.context().dropout_counter) {
    std::printf("  Adam steps %llu vs %llu, dropout counter %llu vs %llu\n",
                (unsigned long long)captured_adam.steps(), (unsigned long long)plain_adam.steps(),
                (unsigned long long)captured.context().dropout_counter,
                (unsigned long long)plain.context().dropout_counter);
    ok = false;
  }
  return ok;
}

struct NewInput {
  THAW_HOST_DEVICE float operator()(float v) const { return 0.5f * v + 0.25f; }
};

// Inference as a graph: replays give the uncaptured output, for new inputs written in place.
inline bool captured_forward_check(const ModelInputs& in) {
  Model<paper::MidLevelFE, Cuda> model(in.seed);
  model.eval();
  thrust::device_vector<float> x(in.images.begin(), in.images.end());
  const float* xp = DeviceTraits::raw(x);
  const std::size_t outputs = in.batch * Model<paper::MidLevelFE, Cuda>::output_shape.size();
  const float* y = model.forward_from<0>(xp, in.batch);  // sizes the buffers
  cuda::Graph forward(model.context(), [&] { model.forward_from<0>(xp, in.batch); });
  bool ok = true;
  for (int round = 0; round < 2; ++round) {
    thrust::transform(x.begin(), x.end(), x.begin(), NewInput{});
    const std::vector<float> want = DeviceTraits::download(model.forward_from<0>(xp, in.batch), outputs);
    forward.replay(model.context());
    ok = same_bits("replayed forward, round " + std::to_string(round), DeviceTraits::download(y, outputs), want) && ok;
  }
  return ok;
}

inline std::vector<Check> graph_checks() {
  const ModelInputs in = make_model_inputs(4, 0, 41);
  return {{"CUDA Graph: captured mid-level FE step == uncaptured (dropout, Adam, fp32)",
           [in] { return captured_step_check<paper::MidLevelFE>(in, 4, false); }},
          {"CUDA Graph: captured fine-tuning step == uncaptured (dropout, Adam, TF32)",
           [in] { return captured_step_check<paper::FineTuning>(in, 4, true); }},
          {"CUDA Graph: captured eval forward == uncaptured", [in] { return captured_forward_check(in); }}};
}

}  // namespace thaw::gpu_test
