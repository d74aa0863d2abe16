// thaw/train/data_init.hpp — a data-dependent initialization for training without pretrained
// weights: filters learned from the images themselves, layer by layer, then rescaled so that
// every layer passes a signal of the same size to the next.
//
// Why: from PyTorch's default initialization (uniform in +-1/sqrt(fan_in)) each conv or linear
// layer keeps about a third of its input's variance and the ReLU half of what is left, while the
// random biases stay: measured on thaw's synthetic chest X-rays, the output std falls from 0.39
// (conv1) to 0.0068 (FC2) and the logit's to 0.00026, so the head sees nearly the same vector for
// every image. When the lower layers are frozen (the paper's feature extractors) nothing repairs it.
//
// The method, bottom-up over the layers with parameters (all but the head):
//  - conv layer (Coates & Ng, "The importance of encoding versus training with sparse coding
//    and vector quantization", ICML 2011; "An analysis of single-layer networks in unsupervised
//    feature learning", AISTATS 2011): sample `patches_per_image` receptive fields of the
//    layer's input (as the previous layers, already initialized, compute it) from each of the
//    sampled images; subtract the mean patch; ZCA-whiten them when they have at most
//    `whiten_max_dims` values; scale each to unit length; k-means (k = output channels) on them;
//    the filters are the centroids (mapped back through the whitening).
//  - linear layer: Gaussian weights (a random projection; 9216-wide layers have more units than
//    there are images to cluster).
//  - then, for every such layer (Kraehenbuehl, Doersch, Donahue & Darrell, "Data-dependent
//    initializations of convolutional neural networks", ICLR 2016, within-layer scaling): each
//    output channel's pre-activation, measured on the sampled images, is shifted and scaled to
//    mean `target_mean` and standard deviation `target_std`.
// The head (the last layer with parameters) keeps what it has (PyTorch's default from the
// model's seed): it trains in every case and starts from small logits.
//
// The result depends only on the images, the options and the layer shapes, never on which
// layers train, so every paper case initialized from the same images and seed gets the same
// frozen prefix (and can share its cache). The model runs in eval mode here (no dropout).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "thaw/core/net.hpp"
#include "thaw/core/parameters.hpp"
#include "thaw/core/shape.hpp"
#include "thaw/core/shuffle.hpp"
#include "thaw/train/kmeans.hpp"

namespace thaw::train {

struct DataInitOptions {
  std::size_t images = 64;              // a seeded sample of the given images supplies all statistics
  std::size_t patches_per_image = 100;  // conv layers: k-means on images * patches_per_image patches
  std::uint64_t seed = 0;               // image sample, patch positions, k-means seeding, linear weights
  std::size_t kmeans_iterations = 10;
  std::size_t whiten_max_dims = 1024;   // ZCA-whiten patches up to this size (conv1: 363; conv2: 1600)
  double whitening_epsilon = 0.1;       // added to the covariance's eigenvalues, times their mean
  float target_mean = 0.0f;             // of every output channel before its ReLU
  float target_std = 1.0f;
  std::size_t batch = 16;               // images per forward pass while collecting layer inputs
};

// One layer with parameters: what was done, and its output (after its ReLU where it has one)
// over the sampled images, before and after.
struct DataInitLayer {
  std::size_t index = 0;
  std::string key, method;
  double mean_before = 0, std_before = 0, mean_after = 0, std_after = 0;
};

struct DataInitReport {
  std::vector<DataInitLayer> layers;
  std::size_t images = 0;  // how many of the given images the statistics came from
  double seconds = 0;

  std::string summary() const {
    std::string s = "data-dependent initialization from " + std::to_string(images) + " images (" +
                    std::to_string(int(seconds + 0.5)) + " s); output mean/std before -> after:\n";
    char line[256];
    for (const auto& l : layers) {
      std::snprintf(line, sizeof line, "  %-14s %7.3f / %-9.3g -> %7.3f / %-7.3f  %s\n", l.key.c_str(), l.mean_before,
                    l.std_before, l.mean_after, l.std_after, l.method.c_str());
      s += line;
    }
    return s;
  }
};

namespace detail {

using InitMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t salt) {  // splitmix64
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (salt + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The layer with parameters below layer I (I itself when there is none): where the forward pass
// that yields layer I's input starts.
template <class N, std::size_t I>
constexpr std::size_t previous_parameterized() {
  std::size_t p = I;
  for (std::size_t j = 0; j < I; ++j)
    if (N::has_parameters[j]) p = j;
  return p;
}

// Shifts and scales each output unit (a row of w, with its bias) so that its pre-activations
// `pre` (samples x units, computed with bias 0) get the target mean and standard deviation.
inline void rescale_units(InitMatrix& w, std::vector<float>& bias, const InitMatrix& pre, const DataInitOptions& o,
                          std::size_t& dead) {
  const Eigen::Index samples = pre.rows();
  for (Eigen::Index u = 0; u < w.rows(); ++u) {
    const double mean = double(pre.col(u).cast<double>().sum()) / double(samples);
    const double var = double((pre.col(u).cast<double>().array() - mean).square().sum()) / double(samples);
    const double sd = std::sqrt(var);
    if (!(sd > 1e-12)) {  // constant on the data: carries nothing, so it outputs the target mean
      w.row(u).setZero();
      bias[std::size_t(u)] = o.target_mean;
      ++dead;
      continue;
    }
    const double scale = double(o.target_std) / sd;
    w.row(u) *= float(scale);
    bias[std::size_t(u)] = float(-mean * scale + double(o.target_mean));
  }
}

// (a + epsilon I)^(-1/2) for a symmetric positive semi-definite a, by the coupled Newton-Schulz
// iteration: nothing but matrix products (which go to BLAS), no eigensolver. Scaled by its
// Frobenius norm, the matrix has its eigenvalues in (0, 1], where the iteration converges; the
// epsilon (a fraction of the mean eigenvalue) bounds the condition number and so the step count.
inline InitMatrix inverse_square_root(InitMatrix a, float epsilon) {
  const Eigen::Index d = a.rows();
  a.diagonal().array() += epsilon;
  const float norm = a.norm();
  InitMatrix y = a / norm, z = InitMatrix::Identity(d, d), t(d, d), next(d, d);
  for (int step = 0; step < 100; ++step) {
    t.noalias() = z * y;
    t = -0.5f * t;
    t.diagonal().array() += 1.5f;
    next.noalias() = y * t;
    y.swap(next);
    next.noalias() = t * z;
    z.swap(next);
    t.diagonal().array() -= 1.0f;
    if (t.norm() < 1e-5f * std::sqrt(float(d))) break;
  }
  InitMatrix symmetric = (z + z.transpose()) * (0.5f / std::sqrt(norm));
  return symmetric;
}

// Receptive fields of a conv layer L whose input has shape S, at random output positions:
// rows of in_channels * kernel * kernel values in the weight layout (channel, row, column).
template <class L, Shape S>
InitMatrix sample_patches(const std::vector<float>& input, std::size_t images, std::size_t per_image,
                          std::mt19937_64& rng) {
  constexpr Shape out = L::output_shape(S);
  constexpr std::size_t k = L::kernel, dims = L::in_channels * k * k;
  InitMatrix patches(Eigen::Index(images * per_image), Eigen::Index(dims));
  std::uniform_int_distribution<std::size_t> row(0, out.h - 1), col(0, out.w - 1);
  for (std::size_t i = 0; i < images; ++i)
    for (std::size_t p = 0; p < per_image; ++p) {
      const std::size_t oy = row(rng), ox = col(rng);
      float* dst = patches.row(Eigen::Index(i * per_image + p)).data();
      for (std::size_t c = 0; c < L::in_channels; ++c)
        for (std::size_t ky = 0; ky < k; ++ky)
          for (std::size_t kx = 0; kx < k; ++kx) {
            const std::ptrdiff_t y = std::ptrdiff_t(oy * L::stride + ky) - std::ptrdiff_t(L::padding);
            const std::ptrdiff_t x = std::ptrdiff_t(ox * L::stride + kx) - std::ptrdiff_t(L::padding);
            const bool inside = y >= 0 && x >= 0 && y < std::ptrdiff_t(S.h) && x < std::ptrdiff_t(S.w);
            *dst++ = inside ? input[((i * S.c + c) * S.h + std::size_t(y)) * S.w + std::size_t(x)] : 0.0f;
          }
    }
  return patches;
}

template <class L, Shape S, class Layer>
std::string init_conv(Layer& layer, const std::vector<float>& input, std::size_t images, const DataInitOptions& o,
                      std::uint64_t seed, const std::string& key) {
  constexpr std::size_t dims = L::in_channels * L::kernel * L::kernel, filters = L::out_channels;
  const std::size_t count = images * o.patches_per_image;
  if (count < filters)
    throw std::invalid_argument("thaw::train::initialize_from_data: layer '" + key + "' has " + std::to_string(filters) +
                                " filters but only " + std::to_string(count) +
                                " patches were sampled; raise images or patches_per_image");
  std::mt19937_64 rng(seed);
  InitMatrix patches = sample_patches<L, S>(input, images, o.patches_per_image, rng);
  const Eigen::RowVectorXf mean = patches.colwise().mean();
  patches.rowwise() -= mean;

  const bool whiten = dims <= o.whiten_max_dims;
  InitMatrix zca;
  InitMatrix features = patches;
  if (whiten) {
    InitMatrix cov = patches.transpose() * patches;
    cov /= float(count);
    zca = inverse_square_root(cov, float(o.whitening_epsilon) * cov.trace() / float(dims));
    features = patches * zca;
  }
  for (Eigen::Index r = 0; r < features.rows(); ++r) {
    const float norm = features.row(r).norm();
    if (norm > 0) features.row(r) /= norm;
  }
  const KMeansResult km = kmeans(features.data(), count, dims, filters, o.kmeans_iterations, mix_seed(seed, 1));
  InitMatrix w = Eigen::Map<const InitMatrix>(km.centroids.data(), Eigen::Index(filters), Eigen::Index(dims));
  if (whiten) w = w * zca;  // zca is symmetric: a whitened centroid c is the filter Z c on raw patches
  const InitMatrix pre = patches * w.transpose();  // centred patches: the bias absorbs the mean patch
  std::vector<float> bias(filters);
  std::size_t dead = 0;
  rescale_units(w, bias, pre, o, dead);
  const Eigen::VectorXf shift = w * mean.transpose();
  for (std::size_t f = 0; f < filters; ++f) bias[f] -= shift[Eigen::Index(f)];
  std::copy(w.data(), w.data() + w.size(), layer.weight.begin());
  std::copy(bias.begin(), bias.end(), layer.bias.begin());
  return "k-means " + std::to_string(filters) + " filters on " + std::to_string(count) + " patches (" +
         (whiten ? "ZCA-whitened, " : "") + std::to_string(dims) + " values), " + std::to_string(km.iterations) +
         " steps" + (dead ? ", " + std::to_string(dead) + " constant filters zeroed" : "");
}

template <class L, class Layer>
std::string init_linear(Layer& layer, const std::vector<float>& input, std::size_t images, const DataInitOptions& o,
                        std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f / std::sqrt(float(L::in_features)));
  InitMatrix w(static_cast<Eigen::Index>(L::out_features), static_cast<Eigen::Index>(L::in_features));
  for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = normal(rng);
  const Eigen::Map<const InitMatrix> x(input.data(), Eigen::Index(images), Eigen::Index(L::in_features));
  const InitMatrix pre = x * w.transpose();
  std::vector<float> bias(L::out_features);
  std::size_t dead = 0;
  rescale_units(w, bias, pre, o, dead);
  std::copy(w.data(), w.data() + w.size(), layer.weight.begin());
  std::copy(bias.begin(), bias.end(), layer.bias.begin());
  return "Gaussian " + std::to_string(L::out_features) + "x" + std::to_string(L::in_features) + ", rescaled per unit" +
         (dead ? ", " + std::to_string(dead) + " constant units zeroed" : "");
}

// Mean and standard deviation of every layer-with-parameters' output over the images.
template <class Model>
std::vector<std::pair<double, double>> output_statistics(Model& model, const std::vector<float>& images,
                                                         std::size_t count, std::size_t batch) {
  using N = typename Model::net;
  std::vector<double> sum(N::size), squares(N::size), values(N::size);
  constexpr std::size_t per_image = Model::input_shape.size();
  for (std::size_t b = 0; b < count; b += batch) {
    const std::size_t n = std::min(batch, count - b);
    model.template forward_from<0>(images.data() + b * per_image, n);
    for (std::size_t i = 0; i < N::size; ++i) {
      if (!N::has_parameters[i]) continue;
      const auto a = model.activation(i);
      for (float v : a) sum[i] += v, squares[i] += double(v) * v;
      values[i] += double(a.size());
    }
  }
  std::vector<std::pair<double, double>> out(N::size);
  for (std::size_t i = 0; i < N::size; ++i)
    if (values[i] > 0) {
      const double mean = sum[i] / values[i];
      out[i] = {mean, std::sqrt(std::max(0.0, squares[i] / values[i] - mean * mean))};
    }
  return out;
}

}  // namespace detail

// Initializes every layer with parameters but the head from `n` preprocessed images (NCHW floats
// of Model::input_shape, as thaw::data::load_all gives them). See the top of this file.
template <class Model>
DataInitReport initialize_from_data(Model& model, const float* images, std::size_t n, const DataInitOptions& o = {}) {
  using N = typename Model::net;
  constexpr std::size_t per_image = Model::input_shape.size();
  const auto start = std::chrono::steady_clock::now();
  const std::string who = "thaw::train::initialize_from_data: ";
  if (n == 0 || images == nullptr) throw std::invalid_argument(who + "no images given (it learns its filters from them)");
  if (o.images == 0 || o.patches_per_image == 0 || o.batch == 0)
    throw std::invalid_argument(who + "options images, patches_per_image and batch must be at least 1");
  for (std::size_t i = 0; i < n * per_image; ++i)
    if (!std::isfinite(images[i]))
      throw std::invalid_argument(who + "image " + std::to_string(i / per_image) + " holds a non-finite value (" +
                                  std::to_string(images[i]) + " at offset " + std::to_string(i % per_image) +
                                  "); check the preprocessing");
  const std::size_t m = std::min(n, o.images);
  if (m < 2) throw std::invalid_argument(who + "needs at least 2 images to measure a spread; got " + std::to_string(m));
  std::mt19937_64 rng(o.seed);
  const auto order = shuffled_indices(n, rng);
  std::vector<float> sample(m * per_image);
  for (std::size_t i = 0; i < m; ++i)
    std::copy(images + order[i] * per_image, images + (order[i] + 1) * per_image, sample.begin() + std::ptrdiff_t(i * per_image));

  const bool was_training = model.is_training();
  model.eval();
  DataInitReport report;
  report.images = m;
  const auto before = detail::output_statistics(model, sample, m, o.batch);

  // `input` holds the input of layer `at` for the sampled images: the images for the first one.
  std::vector<float> input = sample, next;
  constexpr std::size_t head = last_parameterized_v<N>;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          if constexpr (N::has_parameters[I] && I != head) {
            constexpr std::size_t from = detail::previous_parameterized<N, I>();
            if constexpr (from != I) {  // run the layers [from, I) on the input of `from`
              constexpr std::size_t in_floats = N::shapes[from].size(), out_floats = N::shapes[I].size();
              next.resize(m * out_floats);
              for (std::size_t b = 0; b < m; b += o.batch) {
                const std::size_t count = std::min(o.batch, m - b);
                model.template forward_from<from>(input.data() + b * in_floats, count);
                const auto a = model.activation(I - 1);
                std::copy(a.begin(), a.end(), next.begin() + std::ptrdiff_t(b * out_floats));
              }
              input.swap(next);
            }
            using L = typename N::template layer<I>;
            DataInitLayer line{.index = I, .key = N::key(I), .method = {}};
            const std::uint64_t seed = detail::mix_seed(o.seed, I);
            if constexpr (requires { L::kernel; })
              line.method = detail::init_conv<L, N::shapes[I]>(model.template layer<I>(), input, m, o, seed, line.key);
            else
              line.method = detail::init_linear<L>(model.template layer<I>(), input, m, o, seed);
            report.layers.push_back(line);
          }
        }(),
        ...);
  }(std::make_index_sequence<N::size>{});

  const auto after = detail::output_statistics(model, sample, m, o.batch);
  DataInitLayer head_line{.index = head, .key = N::key(head), .method = "unchanged (the head)"};
  report.layers.push_back(head_line);
  for (auto& l : report.layers) {
    std::tie(l.mean_before, l.std_before) = before[l.index];
    std::tie(l.mean_after, l.std_after) = after[l.index];
  }
  model.train(was_training);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace thaw::train
