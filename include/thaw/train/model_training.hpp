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
    return compute_gradients_from<0>(model, batch.data(), model.check_batch(batch), labels);
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
    ++model.steps_;
    const float* z = model.template run<Start>(inputs, n);
    if (model.loss_grad_.size() < outputs) model.loss_grad_.resize(outputs);
    const double loss = train::bce_with_logits(z, labels.data(), outputs, model.loss_grad_.data());
    if (!std::isfinite(loss))
      throw std::runtime_error("thaw::Model::train_step: step " + std::to_string(model.steps_) + ": the loss is " +
                               (std::isnan(loss) ? "NaN" : "infinite") + "; " +
                               first_non_finite<Start>(model, inputs, n) +
                               " (check the inputs; lower the learning rate)");
    backward(model, n);
    return float(loss);
  }

 private:
  // Backward from loss_grad_ down to the lowest trainable layer, generated per layer.
  static void backward(model_type& model, std::size_t n) {
    const float* dy = model.loss_grad_.data();
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
    const auto bad = [](const float* values, std::size_t count) {
      return std::find_if(values, values + count, [](float v) { return !std::isfinite(v); }) != values + count;
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
