// thaw/core/model.hpp — Model<Net, Backend>: owns a network's parameters and buffers and runs
// it. The layer list decides which implementation object each layer gets (and what fuses).
#pragma once

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
    for_each_parameterized(*this, [&]<std::size_t I>(auto& layer) {
      using L = typename N::template layer<I>;
      std::uniform_real_distribution<float> u(-1.0f / std::sqrt(float(L::fan_in)),
                                              1.0f / std::sqrt(float(L::fan_in)));
      for (float& w : layer.weight) w = u(rng);
      for (float& b : layer.bias) b = u(rng);
    });
  }

  // Copies every parameter from `sd`. Checks everything first, so a bad dictionary changes
  // nothing: a missing key, a wrong shape, a non-finite value and (when strict) an unknown key
  // are errors.
  void load_state_dict(const StateDict& sd, bool strict = true) {
    std::size_t used = 0;
    for_each_parameter(*this, [&](const std::string& key, const auto& shape, auto) {
      auto it = sd.find(key);
      if (it == sd.end())
        throw std::invalid_argument("thaw::Model::load_state_dict: missing key '" + key +
                                    "' (expected shape " + shape_string(shape) + ")");
      if (!std::equal(shape.begin(), shape.end(), it->second.shape().begin(), it->second.shape().end()))
        throw std::invalid_argument("thaw::Model::load_state_dict: key '" + key + "' has shape " +
                                    shape_string(it->second.shape()) + " but the model expects " +
                                    shape_string(shape));
      for (float v : it->second)
        if (!std::isfinite(v))
          throw std::invalid_argument("thaw::Model::load_state_dict: key '" + key +
                                      "' contains NaN or infinite values; the weights file is damaged");
      ++used;
    });
    if (strict && used != sd.size()) {
      std::string unknown;
      for (const auto& [key, value] : sd)
        if (!has_key(key)) unknown += (unknown.empty() ? "'" : ", '") + key + "'";
      throw std::invalid_argument("thaw::Model::load_state_dict: unexpected key(s) " + unknown +
                                  " (pass strict = false to ignore them)");
    }
    for_each_parameter(*this, [&](const std::string& key, const auto&, auto dst) {
      const auto& src = sd.at(key);
      std::copy(src.begin(), src.end(), dst.begin());
    });
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
