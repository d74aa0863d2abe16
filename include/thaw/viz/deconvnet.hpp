// thaw/viz/deconvnet.hpp — the Zeiler-Fergus deconvnet of a network type (ECCV 2014): to see
// what one activation responds to, keep that activation, zero every other one in its layer,
// and walk the layers back down to the pixels, mirroring each: a max pool becomes unpooling
// with the switches the forward pass recorded (a scatter-add: AlexNet's windows overlap), a
// ReLU rectifies the reconstruction, a convolution becomes the transposed convolution with
// the same weights, stride and padding (the adjoint, so conv1 returns to 224 x 224 as with an
// output padding of 1). Biases are not used, as in the original deconvnet. The deconvnet is a
// view of a Model: it shares the weights and the switches of the model's last forward pass.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "thaw/backend/cpu/cpu.hpp"
#include "thaw/model/model.hpp"

namespace thaw::viz {

// What each layer becomes in the deconvnet; None: no mirror (a deconvnet cannot pass it).
enum class Mirror { TransposedConv, Unpool, Rectify, Identity, None };

namespace detail {

template <class L>
constexpr Mirror mirror_of() {
  if constexpr (requires { L::kernel; L::padding; }) return Mirror::TransposedConv;
  else if constexpr (requires { L::kernel; L::stride; }) return Mirror::Unpool;
  else if constexpr (std::is_same_v<L, ReLU>) return Mirror::Rectify;
  else if constexpr (std::is_same_v<L, Flatten> || is_scope_v<L> || thaw::detail::is_dropout_v<L>) return Mirror::Identity;
  else return Mirror::None;  // Linear, average pooling: projections start below them
}

}  // namespace detail

// Which channel to project: a given one, or (strongest) each image's most active channel.
inline constexpr std::size_t strongest = std::numeric_limits<std::size_t>::max();

struct ProjectionRequest {
  std::size_t layer = 1;            // the conv layer, counted from 1 (CL1 .. CL5 for AlexNet)
  std::size_t channel = strongest;  // its channel, or the strongest per image
};

// A rectangle of input pixels, [top, bottom) x [left, right).
struct Box {
  std::size_t top = 0, left = 0, bottom = 0, right = 0;
};

// For each image: the projection to pixel space [N, C, H, W], which unit was projected, and
// the unit's receptive field in the input (the only pixels its projection can reach).
struct Projections {
  xt::xtensor<float, 4> pixels;
  std::size_t layer = 0;                   // the conv layer, from 1
  std::vector<std::size_t> channel, y, x;  // the unit kept, per image
  std::vector<float> activation;           // its value
  std::vector<Box> field;
};

template <class N>
class DeconvNet {
 public:
  using net = N;
  using model_type = Model<N, Cpu>;

  // The mirror of every layer, in the network's order (the deconvnet runs it backwards).
  static constexpr std::array<Mirror, N::size> mirrors = []<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<Mirror, N::size>{detail::mirror_of<typename N::template layer<I>>()...};
  }(std::make_index_sequence<N::size>{});

  // Index of the k-th Conv2d (1-based) in the layer list.
  static constexpr std::size_t conv_index(std::size_t k) {
    for (std::size_t i = 0; i < N::size; ++i)
      if (mirrors[i] == Mirror::TransposedConv && --k == 0) return i;
    return N::size;
  }
  // The 1-based conv number of layer index i.
  static constexpr std::size_t conv_number(std::size_t i) {
    std::size_t k = 0;
    for (std::size_t j = 0; j <= i; ++j) k += mirrors[j] == Mirror::TransposedConv;
    return k;
  }
  static constexpr std::size_t conv_count = [] {
    std::size_t n = 0;
    for (auto m : mirrors) n += m == Mirror::TransposedConv;
    return n;
  }();

  explicit DeconvNet(model_type& model) : model_(model) {}

  // The input pixels that unit (y, x) of layer I's output depends on: each convolution and
  // pool below widens the window by its kernel and stride; clipped to the image.
  template <std::size_t I>
  static constexpr Box receptive_field(std::size_t y, std::size_t x) {
    long top = long(y), left = long(x), bottom = long(y), right = long(x);  // inclusive
    [&]<std::size_t... J>(std::index_sequence<J...>) {
      (
          [&] {
            using L = typename N::template layer<I - J>;
            if constexpr (requires { L::kernel; L::stride; }) {
              long padding = 0;
              if constexpr (requires { L::padding; }) padding = long(L::padding);
              top = top * long(L::stride) - padding;
              left = left * long(L::stride) - padding;
              bottom = bottom * long(L::stride) - padding + long(L::kernel) - 1;
              right = right * long(L::stride) - padding + long(L::kernel) - 1;
            }
          }(),
          ...);
    }(std::make_index_sequence<I + 1>{});
    constexpr Shape in = N::shapes[0];
    const auto clip = [](long v, std::size_t extent) { return std::size_t(std::clamp(v, 0L, long(extent))); };
    return {clip(top, in.h), clip(left, in.w), clip(bottom + 1, in.h), clip(right + 1, in.w)};
  }

  // Zeiler & Fergus's "top 9": of all `images`, the k whose strongest unit in `channel` of conv
  // layer `layer` is largest, each projected from that unit. `chosen` receives their indices,
  // strongest first.
  Projections project_top(const xt::xtensor<float, 4>& images, std::size_t layer, std::size_t channel,
                          std::size_t k, std::vector<std::size_t>& chosen) {
    check_layer(layer);
    const std::size_t n = images.shape()[0], image = images.size() / std::max<std::size_t>(n, 1);
    std::vector<float> best(n);
    constexpr std::size_t batch = 16;
    xt::xtensor<float, 4> part;
    const EvalMode eval(model_);
    for (std::size_t b = 0; b < n; b += batch) {
      const std::size_t m = std::min(batch, n - b);
      part = xt::xtensor<float, 4>::from_shape({m, images.shape()[1], images.shape()[2], images.shape()[3]});
      std::copy_n(images.data() + b * image, m * image, part.data());
      model_.forward(part);
      with_conv(layer, [&]<std::size_t I>() {
        constexpr Shape s = N::shapes[I + 1];
        if (channel >= s.c) throw std::out_of_range("thaw::viz::DeconvNet::project_top: no channel " + std::to_string(channel));
        const float* a = model_.template layer<I>().output.data();
        for (std::size_t i = 0; i < m; ++i) {
          const float* plane = a + i * s.size() + channel * s.h * s.w;
          best[b + i] = *std::max_element(plane, plane + s.h * s.w);
        }
      });
    }
    chosen.resize(n);
    std::iota(chosen.begin(), chosen.end(), std::size_t{0});
    std::stable_sort(chosen.begin(), chosen.end(), [&](std::size_t a, std::size_t b) { return best[a] > best[b]; });
    chosen.resize(std::min(k, n));
    part = xt::xtensor<float, 4>::from_shape({chosen.size(), images.shape()[1], images.shape()[2], images.shape()[3]});
    for (std::size_t i = 0; i < chosen.size(); ++i)
      std::copy_n(images.data() + chosen[i] * image, image, part.data() + i * image);
    return project(part, {.layer = layer, .channel = channel});
  }

  // Runs the images forward (eval mode) and projects, for each image, the strongest unit of
  // the requested channel of conv layer `request.layer` (its rectified output) to pixels.
  Projections project(const xt::xtensor<float, 4>& images, ProjectionRequest request) {
    check_layer(request.layer);
    const EvalMode eval(model_);
    model_.forward(images);
    Projections out;
    with_conv(request.layer, [&]<std::size_t I>() { project_from<I>(images.shape()[0], request.channel, out); });
    return out;
  }

 private:
  // Eval mode for one projection; the model's mode (a new Model trains) comes back afterwards.
  struct EvalMode {
    model_type& model;
    bool was_training;
    explicit EvalMode(model_type& m) : model(m), was_training(m.is_training()) { model.eval(); }
    ~EvalMode() { model.train(was_training); }
  };

  static void check_layer(std::size_t layer) {
    if (layer == 0 || layer > conv_count)
      throw std::out_of_range("thaw::viz::DeconvNet: layer " + std::to_string(layer) +
                              " does not exist; the network has conv layers 1.." + std::to_string(conv_count));
  }

  // f.template operator()<I>() with I the layer index of conv layer `layer` (1-based).
  template <class F>
  static void with_conv(std::size_t layer, F&& f) {
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      ((layer == K + 1 ? (f.template operator()<conv_index(K + 1)>(), 0) : 0), ...);
    }(std::make_index_sequence<conv_count>{});
  }

  // Keeps one unit per image in conv layer I's (rectified) output, then mirrors layers I..0.
  template <std::size_t I>
  void project_from(std::size_t n, std::size_t channel, Projections& out) {
    constexpr Shape s = N::shapes[I + 1];
    if (channel != strongest && channel >= s.c)
      throw std::out_of_range("thaw::viz::DeconvNet::project: channel " + std::to_string(channel) +
                              " of a layer with " + std::to_string(s.c));
    const float* activations = model_.template layer<I>().output.data();
    current_ = 0;
    std::vector<float>& signal = buffers_[0];
    signal.assign(n * s.size(), 0.0f);
    const std::size_t plane = s.h * s.w;
    for (std::size_t b = 0; b < n; ++b) {
      const float* image = activations + b * s.size();
      // The strongest unit of the channel (or of the whole layer for `strongest`).
      const std::size_t first = channel == strongest ? 0 : channel * plane;
      const std::size_t last = channel == strongest ? s.size() : (channel + 1) * plane;
      const std::size_t at = std::size_t(std::max_element(image + first, image + last) - image);
      signal[b * s.size() + at] = image[at];
      out.channel.push_back(at / plane);
      out.y.push_back(at % plane / s.w);
      out.x.push_back(at % s.w);
      out.activation.push_back(image[at]);
      out.field.push_back(receptive_field<I>(out.y.back(), out.x.back()));
    }
    out.layer = conv_number(I);
    descend<I>(n);
    constexpr Shape in = N::shapes[0];
    out.pixels = xt::xtensor<float, 4>::from_shape({n, in.c, in.h, in.w});
    std::copy_n(buffers_[current_].data(), n * in.size(), out.pixels.data());
  }

  // Mirrors layer I (then I-1, ..., 0) on the signal at layer I's output, which is in
  // buffers_[current_]; each step writes the other buffer.
  template <std::size_t I>
  void descend(std::size_t n) {
    using L = typename N::template layer<I>;
    constexpr Shape in = N::shapes[I], out = N::shapes[I + 1];
    static_assert(mirrors[I] != Mirror::None, "thaw::viz::DeconvNet: a projection cannot pass back through this "
                                              "layer type (only Conv2d, MaxPool2d, ReLU and size-keeping layers)");
    const float* y = buffers_[current_].data();
    std::vector<float>& x = buffers_[1 - current_];
    if constexpr (mirrors[I] != Mirror::Identity) {
      x.resize(n * in.size());
      auto& layer = model_.template layer<I>();
      if constexpr (mirrors[I] == Mirror::TransposedConv) {
        const cpu::ConvGeometry g{in, out, L::kernel, L::stride, L::padding};
        cpu::conv2d_backward(g, nullptr, nullptr, y, n, layer.weight.data(), false, nullptr, nullptr, x.data(),
                             scratch_);
      } else if constexpr (mirrors[I] == Mirror::Unpool) {
        cpu::maxpool2d_backward(in, out, y, layer.switches.data(), n, x.data());
      } else {
        for (std::size_t k = 0; k < n * in.size(); ++k) x[k] = std::max(y[k], 0.0f);
      }
      current_ = 1 - current_;
    }
    if constexpr (I > 0) descend<I - 1>(n);
  }

  model_type& model_;
  std::array<std::vector<float>, 2> buffers_;
  int current_ = 0;
  cpu::ConvScratch scratch_;
};

}  // namespace thaw::viz
