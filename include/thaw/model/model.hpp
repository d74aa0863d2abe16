// thaw/model/model.hpp — Model<Net, Backend>: owns a network's parameters and buffers and runs
// it. The layer list decides which implementation object each layer gets (and what fuses).
// It sits above layers/ and below train/: the loss and backward pass of its training members
// live in thaw/train/model_training.hpp (see "Training members" below). Where the layers keep
// their data is the backend's business: Model moves host data in and out through the policy's
// memory hooks (stage, upload, download, view; see thaw::Cpu), so its public calls take and
// return host tensors with every backend (thaw::Cuda: <thaw/backend/cuda/cuda.cuh>, nvcc).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include "thaw/core/net.hpp"
#include "thaw/core/parameters.hpp"
#include "thaw/core/state_dict.hpp"
#include "thaw/model/frozen_prefix.hpp"
#include "thaw/model/layer_objects.hpp"

namespace thaw {

// The training side of Model<N, Backend>: defined for every Model by
// <thaw/train/model_training.hpp>, which the training members below forward to.
template <class Model>
struct ModelTraining;

namespace detail {

// Stands in for a missing ModelTraining so that the static_assert is the only error.
struct training_header_missing {
  template <class... A>
  static float train_step(A&&...) { return 0; }
  template <class... A>
  static float compute_gradients(A&&...) { return 0; }
  template <std::size_t, class... A>
  static float compute_gradients_from(A&&...) { return 0; }
};

// ModelTraining<M> when <thaw/train/model_training.hpp> was included; otherwise a compile
// error that names the header. Instantiated only by a call to a training member.
template <class M>
struct training_of {
  static constexpr bool included = requires { sizeof(ModelTraining<M>); };
  static_assert(included,
                "thaw::Model: train_step, compute_gradients and compute_gradients_from are the training side "
                "of a Model; #include <thaw/train/model_training.hpp> (or <thaw/thaw.hpp>) to use them");
  using type = std::conditional_t<included, ModelTraining<M>, training_header_missing>;
};
template <class M>
using training_t = typename training_of<M>::type;

}  // namespace detail

template <class N, class Backend>
class Model {
 public:
  using net = N;
  using backend = Backend;
  static constexpr Shape input_shape = N::input_shape;
  static constexpr Shape output_shape = N::output_shape;
  static constexpr bool flat_output = output_shape.h == 1 && output_shape.w == 1;
  // [N, outputs] for a classifier; [N, C, H, W] for a network that ends in a feature map.
  using output_type = std::conditional_t<flat_output, xt::xtensor<float, 2>, xt::xtensor<float, 4>>;

  // Parameters start as PyTorch's defaults for Conv2d and Linear (uniform in +-1/sqrt(fan_in)
  // for weights and biases), drawn from `seed`.
  explicit Model(std::uint64_t seed = 0) {
    context_.training = true;
    reset_parameters(seed);
  }

  // A new Model is in train mode (dropout active), like a new torch.nn.Module: call eval()
  // before inference.
  void train(bool on = true) { context_.training = on; }
  void eval() { context_.training = false; }
  bool is_training() const { return context_.training; }
  // Seeds dropout's mask generator (train mode only).
  void seed_dropout(std::uint64_t seed) { Backend::seed_dropout(context_, seed); }
  // Dropout off makes it the identity in train mode too (comparisons against PyTorch need it).
  void set_dropout(bool on) { context_.dropout = on; }
  // The backend's execution state: for thaw::Cuda the stream, cuBLAS handle and TF32 switch
  // (model.context().set_tf32(true)); for thaw::Cpu the GEMM scratch and dropout generator.
  typename Backend::context& context() { return context_; }

  // Which layers' backward step computes the gradient of their input: only those above the
  // lowest trainable layer. The backward pass stops at that layer; nothing below it runs.
  static constexpr std::array<bool, N::size> computes_input_gradient = [] {
    std::array<bool, N::size> plan{};
    for (std::size_t i = 0; i < N::size; ++i) plan[i] = i > N::first_trainable && N::first_trainable < N::size;
    return plan;
  }();

  // --- Training members ---------------------------------------------------------------------
  // The loss and the backward pass are training, a layer above this one, so their code is in
  // ModelTraining (thaw/train/model_training.hpp; <thaw/thaw.hpp> and the Trainer include it).
  // They stay member calls, model.train_step(...), declared here with their bodies forwarding
  // to ModelTraining<Model>: a member of a class template is compiled only when called, so a
  // Model that is only run never needs train/. A call in a file without that header stops at
  // detail::training_of's static_assert, a compile error that names the header (out-of-line
  // definitions in another header would instead fail at link time, naming no header).

  // One training step on a batch: forward (train mode unless eval() was called), the
  // mean BCE-with-logits loss against `labels` (0/1, one per output), backward through the
  // trainable part, then optimizer.step(*this). Returns the loss.
  template <class Optimizer>
  float train_step(const xt::xtensor<float, 4>& batch, std::span<const float> labels, Optimizer& optimizer) {
    return detail::training_t<Model>::train_step(*this, batch, labels, optimizer);
  }

  // Forward, loss and backward without an update: fills the gradients of every trainable
  // tensor (see gradients()) and returns the loss.
  float compute_gradients(const xt::xtensor<float, 4>& batch, std::span<const float> labels) {
    return detail::training_t<Model>::compute_gradients(*this, batch, labels);
  }

  // compute_gradients for n inputs of layer Start, given as flat rows of N::shapes[Start] in
  // the backend's memory (device memory for thaw::Cuda): with Start = frozen_prefix, from
  // outputs cached by a trainer.
  template <std::size_t Start>
  float compute_gradients_from(const float* inputs, std::size_t n, std::span<const float> labels) {
    static_assert(Start <= N::first_trainable, "the layers skipped must be frozen");
    return detail::training_t<Model>::template compute_gradients_from<Start>(*this, inputs, n, labels);
  }

  // The resident entries: inputs AND labels already in the backend's memory (device pointers
  // for thaw::Cuda, so a step moves no batch over PCIe; host pointers for thaw::Cpu). The
  // labels are not checked here (they may not be readable from the host): they must be 0/1,
  // one per output. Otherwise as compute_gradients_from<Start> and train_step.
  template <std::size_t Start = 0>
  float compute_gradients_resident(const float* inputs, std::size_t n, const float* labels) {
    static_assert(Start <= N::first_trainable, "the layers skipped must be frozen");
    return detail::training_t<Model>::template compute_gradients_resident<Start>(*this, inputs, n, labels);
  }
  template <std::size_t Start = 0, class Optimizer>
  float train_step_resident(const float* inputs, std::size_t n, const float* labels, Optimizer& optimizer) {
    const float loss = compute_gradients_resident<Start>(inputs, n, labels);
    optimizer.step(*this);
    return loss;
  }

  // The frozen layers a trainer may run once per image and cache (model/frozen_prefix.hpp).
  static constexpr std::size_t frozen_prefix = frozen_prefix_v<N>;
  static constexpr Shape frozen_prefix_shape = N::shapes[frozen_prefix];
  static constexpr bool frozen_prefix_computes = frozen_prefix_computes_v<N>;

  // The output of layers [0, frozen_prefix) for n images (NCHW rows; valid until the next pass).
  // These two run on, and return, the backend's memory: forward_from<0> is the resident
  // forward (device in, device out for thaw::Cuda); forward() is the host one.
  const float* forward_frozen_prefix(const float* images, std::size_t n) { return run<0, frozen_prefix>(images, n); }
  // The network's outputs for n inputs of layer Start (flat rows; valid until the next pass).
  template <std::size_t Start>
  const float* forward_from(const float* inputs, std::size_t n) { return run<Start>(inputs, n); }

  // f(key, parameters, gradient) for every trainable tensor, in layer order; frozen layers
  // have no gradient and are never visited. The two are the backend's views (Backend::view):
  // std::span<float> and std::span<const float> over host memory for thaw::Cpu.
  template <class F>
  void for_each_trainable(F&& f) {
    for_each_parameterized<N>(layers_, [&]<std::size_t I>(auto& layer) {
      if constexpr (N::trainable[I]) {
        const std::string prefix = N::key(I);
        const auto& context = context_;
        f(prefix + ".weight", Backend::view(context_, layer.weight), Backend::view(context, std::as_const(layer.weight_grad)));
        f(prefix + ".bias", Backend::view(context_, layer.bias), Backend::view(context, std::as_const(layer.bias_grad)));
      }
    });
  }

  // The trainable tensors' keys and sizes: what an optimizer keeps state for.
  std::vector<std::pair<std::string, std::size_t>> trainable_tensors() {
    std::vector<std::pair<std::string, std::size_t>> out;
    for_each_trainable([&](const std::string& key, auto params, auto) { out.emplace_back(key, params.size()); });
    return out;
  }

  // The gradients from the last compute_gradients/train_step, by key and with the
  // parameters' shapes (trainable tensors only).
  StateDict gradients() const {
    StateDict sd;
    for_each_parameterized<N>(layers_, [&]<std::size_t I>(const auto& layer) {
      if constexpr (N::trainable[I]) {
        using L = typename N::template layer<I>;
        const auto copy = [&](const std::string& key, const auto& grad, auto shape) {
          xt::xarray<float> g = xt::xarray<float>::from_shape(std::vector<std::size_t>(shape.begin(), shape.end()));
          const auto values = Backend::view(context_, grad);
          Backend::download(context_, values.data(), values.size(), g.data());
          sd.emplace(key, std::move(g));
        };
        copy(N::key(I) + ".weight", layer.weight_grad, L::weight_shape);
        copy(N::key(I) + ".bias", layer.bias_grad, std::array<std::size_t, 1>{L::bias_size});
      }
    });
    return sd;
  }

  std::uint64_t steps() const { return steps_; }
  // The dropout mask generator's state as text, for checkpoints. set_dropout_state returns
  // false, changing nothing, for another backend's state (their masks differ anyway).
  std::string dropout_state() const { return Backend::dropout_state(context_); }
  bool set_dropout_state(const std::string& text) { return Backend::set_dropout_state(context_, text); }

  void reset_parameters(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    for_each_parameterized<N>(layers_, [&]<std::size_t I>(auto& layer) { initialize<I>(layer, rng); });
  }

  // Copies every parameter from `sd`. Checks everything first, so a bad dictionary changes
  // nothing: a missing key, a wrong shape, a non-finite value and (when strict) an unknown key
  // are errors.
  void load_state_dict(const StateDict& sd, bool strict = true) {
    for_each_parameter<N>(layers_, [&](const std::string& key, const auto& shape, const auto&) {
      check_state_dict_entry(sd, key, shape, "load_state_dict", "");
    });
    if (strict) {
      std::string unknown;
      for (const auto& [key, value] : sd)
        if (!has_key(key)) unknown += (unknown.empty() ? "'" : ", '") + key + "'";
      if (!unknown.empty())
        throw std::invalid_argument("thaw::Model::load_state_dict: unexpected key(s) " + unknown +
                                    " (pass strict = false to ignore them)");
    }
    copy_from(sd, [](const std::string&) { return true; });
  }

  // Transfer learning from a pretrained state dict (torchvision's ImageNet AlexNet, say):
  // every tensor of the model is loaded from `sd`, except that the last layer with parameters
  // (the head) is initialized as nn.Linear/nn.Conv2d would be, from `head_seed`, when `sd`'s
  // head has another shape (1000 ImageNet classes for a 1-logit head) or is missing. Any other
  // missing or mismatched tensor is an error, and then nothing changes. Extra keys are ignored.
  PretrainedReport load_pretrained(const StateDict& sd, std::uint64_t head_seed = 0) {
    const std::string head = N::key(last_parameterized_v<N>) + ".";
    const auto in_head = [&](const std::string& key) { return key.starts_with(head); };
    bool replace_head = false;
    for_each_parameter<N>(layers_, [&](const std::string& key, const auto& shape, const auto&) {
      auto it = sd.find(key);
      if (in_head(key))
        replace_head |= it == sd.end() || !std::equal(shape.begin(), shape.end(), it->second.shape().begin(),
                                                      it->second.shape().end());
    });
    PretrainedReport report;
    for_each_parameter<N>(layers_, [&](const std::string& key, const auto& shape, const auto&) {
      if (replace_head && in_head(key)) return report.initialized.push_back(key);
      check_state_dict_entry(sd, key, shape, "load_pretrained", " (only the head, '" + head + "*', may differ)");
      report.loaded.push_back(key);
    });
    for (const auto& [key, value] : sd)
      if (!has_key(key)) report.ignored.push_back(key);
    copy_from(sd, [&](const std::string& key) { return !(replace_head && in_head(key)); });
    if (replace_head) {
      std::mt19937_64 rng(head_seed);
      initialize<last_parameterized_v<N>>(std::get<last_parameterized_v<N>>(layers_), rng);
    }
    return report;
  }

  StateDict state_dict() const {
    StateDict sd;
    for_each_parameter<N>(layers_, [&](const std::string& key, const auto& shape, const auto& container) {
      std::vector<std::size_t> extents(shape.begin(), shape.end());
      xt::xarray<float> t = xt::zeros<float>(extents);
      const auto values = Backend::view(context_, container);
      Backend::download(context_, values.data(), values.size(), t.data());
      sd.emplace(key, std::move(t));
    });
    return sd;
  }

  // Runs the batch [N, C, H, W] (NCHW, row-major) and writes the outputs into `out`. After the
  // first call for a given batch size no memory is allocated.
  void forward(const xt::xtensor<float, 4>& batch, output_type& out) {
    const std::size_t n = check_batch(batch);
    const float* y = run(Backend::stage(staged_input_, batch.data(), n * input_shape.size()), n);
    if constexpr (flat_output) {
      if (out.shape()[0] != n || out.shape()[1] != output_shape.c) out.resize({n, output_shape.c});
    } else {
      if (out.shape() != std::array<std::size_t, 4>{n, output_shape.c, output_shape.h, output_shape.w})
        out.resize({n, output_shape.c, output_shape.h, output_shape.w});
    }
    Backend::download(context_, y, n * output_shape.size(), out.data());
  }

  output_type forward(const xt::xtensor<float, 4>& batch) {
    output_type out;
    forward(batch, out);
    return out;
  }

  // Output of layer `index` from the last forward call, [N, C, H, W]. A Conv2d or Linear
  // followed by ReLU stores its rectified output (the two are fused).
  xt::xtensor<float, 4> activation(std::size_t index) const {
    if (index >= N::size || outputs_[index] == nullptr)
      throw std::out_of_range("thaw::Model::activation: no output for layer " + std::to_string(index) +
                              " (run forward first; the net has " + std::to_string(N::size) + " layers)");
    static constexpr auto shapes = N::shapes;
    const Shape s = shapes[index + 1];
    xt::xtensor<float, 4> a = xt::zeros<float>({last_batch_, s.c, s.h, s.w});
    Backend::download(context_, outputs_[index], a.size(), a.data());
    return a;
  }

  // The implementation object of layer I (parameters, buffers, switches).
  template <std::size_t I>
  auto& layer() { return std::get<I>(layers_); }
  template <std::size_t I>
  const auto& layer() const { return std::get<I>(layers_); }

 private:
  friend struct ModelTraining<Model>;
  using Layers = typename detail::layer_objects<N, Backend, std::make_index_sequence<N::size>>::type;

  std::size_t check_batch(const xt::xtensor<float, 4>& batch) const {
    const auto& s = batch.shape();
    if (s[0] == 0 || s[1] != input_shape.c || s[2] != input_shape.h || s[3] != input_shape.w)
      throw std::invalid_argument("thaw::Model::forward: the batch has shape " + shape_string(s) +
                                  " but the network takes [N, " + std::to_string(input_shape.c) + ", " +
                                  std::to_string(input_shape.h) + ", " + std::to_string(input_shape.w) +
                                  "] with N >= 1 (NCHW)");
    return s[0];
  }

  // Layers [Begin, End) on x, which is the input of layer Begin (the batch when Begin is 0).
  template <std::size_t Begin = 0, std::size_t End = N::size>
  const float* run(const float* x, std::size_t n) {
    last_batch_ = n;
    if constexpr (Begin == 0) input_ = x;
    else outputs_[Begin - 1] = x;  // what backward reads as layer Begin's input
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((x = std::get<Begin + I>(layers_).forward(x, n, context_), outputs_[Begin + I] = x), ...);
    }(std::make_index_sequence<End - Begin>{});
    return x;
  }

  template <class Wanted>
  void copy_from(const StateDict& sd, Wanted&& wanted) {
    for_each_parameter<N>(layers_, [&](const std::string& key, const auto&, auto& container) {
      if (!wanted(key)) return;
      const auto& src = sd.at(key);  // row-major and contiguous: an xarray container
      const auto dst = Backend::view(context_, container);
      Backend::upload(src.data(), dst.size(), dst.data());
    });
  }

  // PyTorch's initialization of layer I, drawn on the host (the same draws in the same order
  // with every backend) and uploaded where the backend keeps parameters elsewhere.
  template <std::size_t I, class Layer>
  void initialize(Layer& layer, std::mt19937_64& rng) {
    if constexpr (Backend::host_memory) {
      initialize_like_pytorch<N, I>(layer, rng);
    } else {
      using L = typename N::template layer<I>;
      struct {
        std::vector<float> weight, bias;
      } host{std::vector<float>(L::weight_size), std::vector<float>(L::bias_size)};
      initialize_like_pytorch<N, I>(host, rng);
      Backend::upload(host.weight.data(), host.weight.size(), Backend::view(context_, layer.weight).data());
      Backend::upload(host.bias.data(), host.bias.size(), Backend::view(context_, layer.bias).data());
    }
  }

  bool has_key(const std::string& key) const {
    bool found = false;
    for_each_parameter<N>(layers_, [&](const std::string& k, const auto&, const auto&) { found |= k == key; });
    return found;
  }

  Layers layers_;
  typename Backend::context context_;
  std::array<const float*, N::size> outputs_{};
  std::size_t last_batch_ = 0;
  const float* input_ = nullptr;
  // The training members' state, kept here so that a Model has one layout in every file,
  // whichever headers it includes: dL/d(output) of the last step, and the steps so far.
  typename Backend::buffer loss_grad_;
  std::uint64_t steps_ = 0;
  // Host batches and labels copied to a backend that cannot read host memory (unused by Cpu).
  typename Backend::buffer staged_input_, staged_labels_;
};

}  // namespace thaw
