// thaw/train/model_training.hpp — the training side of Model<Net, Backend>: the BCE loss, the
// backward pass generated from the freeze pattern, and the optimizer step behind
// model.train_step / compute_gradients / compute_gradients_from (model/ knows no loss).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "thaw/model/model.hpp"
#include "thaw/train/loss.hpp"

namespace thaw {

namespace detail {
// The mean BCE-with-logits loss and its gradient where the backend keeps its buffers: the
// host's, unless the backend policy brings its own (thaw::Cuda's runs on the device).
template <class Backend>
double backend_bce_with_logits(typename Backend::context& ctx, const float* z, const float* labels, std::size_t n,
                               float* dz) {
  if constexpr (requires { Backend::bce_with_logits(ctx, z, labels, n, dz); })
    return Backend::bce_with_logits(ctx, z, labels, n, dz);
  else
    return train::bce_with_logits(z, labels, n, dz);
}
}  // namespace detail

// Model's training members forward here (see "Training members" in model/model.hpp); a friend
// of the Model, it works on the model's layers, buffers and training state.
template <class N, class Backend>
struct ModelTraining<Model<N, Backend>> {
  using model_type = Model<N, Backend>;

  template <class Optimizer>
  static float train_step(model_type& model, const xt::xtensor<float, 4>& batch, std::span<const float> labels,
                          Optimizer& optimizer) {
    const float loss = compute_gradients(model, batch, labels);
    optimizer.step(model);
    return loss;
  }

  static float compute_gradients(model_type& model, const xt::xtensor<float, 4>& batch,
                                 std::span<const float> labels) {
    const std::size_t n = model.check_batch(batch);
    const float* inputs = Backend::stage(model.staged_input_, batch.data(), n * model_type::input_shape.size());
    return compute_gradients_from<0>(model, inputs, n, labels);
  }

  template <std::size_t Start>
  static float compute_gradients_from(model_type& model, const float* inputs, std::size_t n,
                                      std::span<const float> labels) {
    const std::size_t outputs = n * model_type::output_shape.size();
    if (labels.size() != outputs)
      throw std::invalid_argument("thaw::Model::train_step: " + std::to_string(labels.size()) + " labels for " +
                                  std::to_string(outputs) + " outputs (one label per image and output)");
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] != 0.0f && labels[i] != 1.0f)
        throw std::invalid_argument("thaw::Model::train_step: label " + std::to_string(i) + " is " +
                                    std::to_string(labels[i]) + "; labels must be 0 or 1");
    return step<Start>(model, inputs, n, Backend::stage(model.staged_labels_, labels.data(), outputs));
  }

  template <std::size_t Start>
  static float compute_gradients_resident(model_type& model, const float* inputs, std::size_t n, const float* labels) {
    return step<Start>(model, inputs, n, labels);
  }

 private:
  // Forward from layer Start, the loss against labels (the backend's memory), backward.
  template <std::size_t Start>
  static float step(model_type& model, const float* inputs, std::size_t n, const float* labels) {
    const std::size_t outputs = n * model_type::output_shape.size();
    ++model.steps_;
    const float* z = model.template run<Start>(inputs, n);
    float* loss_grad = Backend::ensure(model.loss_grad_, outputs);
    const double loss = detail::backend_bce_with_logits<Backend>(model.context_, z, labels, outputs, loss_grad);
    if (!std::isfinite(loss))
      throw std::runtime_error("thaw::Model::train_step: step " + std::to_string(model.steps_) + ": the loss is " +
                               (std::isnan(loss) ? "NaN" : "infinite") + "; " +
                               first_non_finite<Start>(model, inputs, n) +
                               " (check the inputs; lower the learning rate)");
    backward(model, n);
    return float(loss);
  }

  // Backward from loss_grad_ down to the lowest trainable layer, generated per layer.
  static void backward(model_type& model, std::size_t n) {
    const float* dy = Backend::view(model.context_, std::as_const(model.loss_grad_)).data();
    [&]<std::size_t... R>(std::index_sequence<R...>) {
      (
          [&] {
            constexpr std::size_t I = N::size - 1 - R;
            if constexpr (N::first_trainable < N::size && I >= N::first_trainable) {
              const float* x = I == 0 ? model.input_ : model.outputs_[I == 0 ? 0 : I - 1];
              dy = std::get<I>(model.layers_).backward(x, dy, n, model_type::computes_input_gradient[I],
                                                       model.context_);
            }
          }(),
          ...);
    }(std::make_index_sequence<N::size>{});
  }

  // Where a forward pass from layer Start first produced a NaN or an infinity: its input, or a
  // layer's output.
  template <std::size_t Start>
  static std::string first_non_finite(const model_type& model, const float* input, std::size_t n) {
    static constexpr auto shapes = N::shapes;
    std::vector<float> host;
    const auto bad = [&](const float* values, std::size_t count) {
      host.resize(count);
      Backend::download(model.context_, values, count, host.data());
      return std::find_if(host.begin(), host.end(), [](float v) { return !std::isfinite(v); }) != host.end();
    };
    if (bad(input, n * shapes[Start].size())) return "the input batch holds a non-finite value";
    const auto names = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::array<std::string, N::size>{N::template layer<I>::name()...};
    }(std::make_index_sequence<N::size>{});
    for (std::size_t i = Start; i < N::size; ++i)
      if (bad(model.outputs_[i], n * shapes[i + 1].size()))
        return "the first non-finite output is layer " + std::to_string(i) + " (" + names[i] + ", '" + N::key(i) + "')";
    return "every layer output is finite";
  }
};

}  // namespace thaw
