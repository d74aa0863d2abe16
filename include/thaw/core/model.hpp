// thaw/core/model.hpp — Model<Net, Backend>: owns a network's parameters and buffers and runs
// it. The layer list decides which implementation object each layer gets (and what fuses).
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
#include "thaw/core/state_dict.hpp"
#include "thaw/layers/relu.hpp"

namespace thaw {

// What Model::load_pretrained took from the file, drew afresh, and left unused.
struct PretrainedReport {
  std::vector<std::string> loaded, initialized, ignored;

  std::string summary() const {
    std::string s = "loaded " + std::to_string(loaded.size()) + " tensors";
    const auto list = [](const std::vector<std::string>& keys) {
      std::string out;
      for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
      return out;
    };
    if (!initialized.empty()) s += "; initialized " + list(initialized);
    if (!ignored.empty()) s += "; ignored " + list(ignored);
    return s;
  }
};

namespace detail {

// Layer I applies the ReLU that follows it (saves one pass over its output).
template <class N, std::size_t I>
constexpr bool applies_next_relu() {
  if constexpr (I + 1 < N::size)
    return ParameterizedLayer<typename N::template layer<I>> &&
           std::is_same_v<typename N::template layer<I + 1>, ReLU>;
  else
    return false;
}

// Layer I is a ReLU already applied by its predecessor.
template <class N, std::size_t I>
constexpr bool relu_applied_before() {
  if constexpr (I > 0) return applies_next_relu<N, I - 1>();
  else return false;
}

template <class N, class Backend, class Seq>
struct layer_objects;
template <class N, class Backend, std::size_t... I>
struct layer_objects<N, Backend, std::index_sequence<I...>> {
  using type = std::tuple<typename Backend::template layer<
      typename N::template layer<I>, N::shapes[I],
      applies_next_relu<N, I>() || relu_applied_before<N, I>()>...>;
};

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
  explicit Model(std::uint64_t seed = 0) { reset_parameters(seed); }

  void train(bool on = true) { context_.training = on; }
  void eval() { context_.training = false; }
  bool is_training() const { return context_.training; }
  // Seeds dropout's mask generator (train mode only).
  void seed_dropout(std::uint64_t seed) { context_.dropout_rng.seed(seed); }

  void reset_parameters(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    for_each_parameterized(*this, [&]<std::size_t I>(auto& layer) { initialize<I>(layer, rng); });
  }

  // Copies every parameter from `sd`. Checks everything first, so a bad dictionary changes
  // nothing: a missing key, a wrong shape, a non-finite value and (when strict) an unknown key
  // are errors.
  void load_state_dict(const StateDict& sd, bool strict = true) {
    for_each_parameter(*this, [&](const std::string& key, const auto& shape, auto) {
      check_tensor(sd, key, shape, "load_state_dict", "");
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
    const std::string head = N::key(last_parameterized) + ".";
    const auto in_head = [&](const std::string& key) { return key.starts_with(head); };
    bool replace_head = false;
    for_each_parameter(*this, [&](const std::string& key, const auto& shape, auto) {
      auto it = sd.find(key);
      if (in_head(key))
        replace_head |= it == sd.end() || !std::equal(shape.begin(), shape.end(), it->second.shape().begin(),
                                                      it->second.shape().end());
    });
    PretrainedReport report;
    for_each_parameter(*this, [&](const std::string& key, const auto& shape, auto) {
      if (replace_head && in_head(key)) return report.initialized.push_back(key);
      check_tensor(sd, key, shape, "load_pretrained", " (only the head, '" + head + "*', may differ)");
      report.loaded.push_back(key);
    });
    for (const auto& [key, value] : sd)
      if (!has_key(key)) report.ignored.push_back(key);
    copy_from(sd, [&](const std::string& key) { return !(replace_head && in_head(key)); });
    if (replace_head) {
      std::mt19937_64 rng(head_seed);
      initialize<last_parameterized>(std::get<last_parameterized>(layers_), rng);
    }
    return report;
  }

  StateDict state_dict() const {
    StateDict sd;
    for_each_parameter(*this, [&](const std::string& key, const auto& shape, auto values) {
      std::vector<std::size_t> extents(shape.begin(), shape.end());
      xt::xarray<float> t = xt::zeros<float>(extents);
      std::copy(values.begin(), values.end(), t.begin());
      sd.emplace(key, std::move(t));
    });
    return sd;
  }

  // Runs the batch [N, C, H, W] (NCHW, row-major) and writes the outputs into `out`. After the
  // first call for a given batch size no memory is allocated.
  void forward(const xt::xtensor<float, 4>& batch, output_type& out) {
    const std::size_t n = check_batch(batch);
    const float* y = run(batch.data(), n);
    if constexpr (flat_output) {
      if (out.shape()[0] != n || out.shape()[1] != output_shape.c) out.resize({n, output_shape.c});
    } else {
      if (out.shape() != std::array<std::size_t, 4>{n, output_shape.c, output_shape.h, output_shape.w})
        out.resize({n, output_shape.c, output_shape.h, output_shape.w});
    }
    std::copy(y, y + n * output_shape.size(), out.data());
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
    std::copy(outputs_[index], outputs_[index] + a.size(), a.data());
    return a;
  }

  // The implementation object of layer I (parameters, buffers, switches).
  template <std::size_t I>
  auto& layer() { return std::get<I>(layers_); }
  template <std::size_t I>
  const auto& layer() const { return std::get<I>(layers_); }

 private:
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

  const float* run(const float* x, std::size_t n) {
    last_batch_ = n;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((x = std::get<I>(layers_).forward(x, n, context_), outputs_[I] = x), ...);
    }(std::make_index_sequence<N::size>{});
    return x;
  }

  // f.template operator()<I>(layer object) for every layer with parameters; Self is Model or
  // const Model, so the const and non-const callers share one walk.
  template <class Self, class F>
  static void for_each_parameterized(Self& self, F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if constexpr (ParameterizedLayer<typename N::template layer<I>>)
              f.template operator()<I>(std::get<I>(self.layers_));
          }(),
          ...);
    }(std::make_index_sequence<N::size>{});
  }

  // f(key, expected shape, values as a span) for every weight and bias, in layer order.
  template <class Self, class F>
  static void for_each_parameter(Self& self, F&& f) {
    for_each_parameterized(self, [&]<std::size_t I>(auto& layer) {
      using L = typename N::template layer<I>;
      const std::string prefix = N::key(I);
      f(prefix + ".weight", L::weight_shape, std::span(layer.weight));
      f(prefix + ".bias", std::array<std::size_t, 1>{L::bias_size}, std::span(layer.bias));
    });
  }

  static constexpr std::size_t last_parameterized = [] {
    std::size_t last = 0;
    for (std::size_t i = 0; i < N::size; ++i)
      if (N::has_parameters[i]) last = i;
    return last;
  }();

  // PyTorch's default for Conv2d and Linear: kaiming_uniform(a = sqrt(5)) weights and uniform
  // biases, both within +-1/sqrt(fan_in).
  template <std::size_t I, class Layer>
  static void initialize(Layer& layer, std::mt19937_64& rng) {
    using L = typename N::template layer<I>;
    const float bound = 1.0f / std::sqrt(float(L::fan_in));
    std::uniform_real_distribution<float> u(-bound, bound);
    for (float& w : layer.weight) w = u(rng);
    for (float& b : layer.bias) b = u(rng);
  }

  // Throws unless sd[key] exists with `shape` and only finite values.
  static void check_tensor(const StateDict& sd, const std::string& key, const auto& shape, const char* who,
                           const std::string& hint) {
    const std::string where = std::string("thaw::Model::") + who + ": ";
    auto it = sd.find(key);
    if (it == sd.end())
      throw std::invalid_argument(where + "missing key '" + key + "' (expected shape " + shape_string(shape) + ")" + hint);
    if (!std::equal(shape.begin(), shape.end(), it->second.shape().begin(), it->second.shape().end()))
      throw std::invalid_argument(where + "key '" + key + "' has shape " + shape_string(it->second.shape()) +
                                  " but the model expects " + shape_string(shape) + hint);
    for (float v : it->second)
      if (!std::isfinite(v))
        throw std::invalid_argument(where + "key '" + key + "' contains NaN or infinite values; the weights file is damaged");
  }

  template <class Wanted>
  void copy_from(const StateDict& sd, Wanted&& wanted) {
    for_each_parameter(*this, [&](const std::string& key, const auto&, auto dst) {
      if (!wanted(key)) return;
      const auto& src = sd.at(key);
      std::copy(src.begin(), src.end(), dst.begin());
    });
  }

  bool has_key(const std::string& key) const {
    bool found = false;
    for_each_parameter(*this, [&](const std::string& k, const auto&, auto) { found |= k == key; });
    return found;
  }

  Layers layers_;
  typename Backend::context context_;
  std::array<const float*, N::size> outputs_{};
  std::size_t last_batch_ = 0;
};

}  // namespace thaw
