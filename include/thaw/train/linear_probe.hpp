// thaw/train/linear_probe.hpp — a linear probe as the head: L2-regularised logistic regression
// of the labels on the features the layers below the head compute (in eval mode), written into
// the head as its weights and bias.
//
//   auto report = thaw::train::fit_head(model, train_source);   // e.g. after Trainer::fit
//
// Why: Adam trains the head and the layers below it together, for a few epochs, from noisy
// mini-batches; the features it ends with can be read better than its own head reads them.
// Measured on thaw's synthetic set without pretrained weights (README "Without pretrained
// weights"): after the mid-level FE trained, its own head scored validation AUC 0.84 (3 seeds),
// the probe on the same features 0.93, and better on the external site too. A convex problem
// with one solution: it adds no randomness. Fitted before training instead ("linear probing, then
// fine-tuning", Kumar et al., ICLR 2022) it helped less there (0.87) — the probe is a tool; where
// it goes is the caller's choice (tb_transfer: --refit-head).
//
// The objective is scikit-learn's LogisticRegression(C=c) with an unpenalised intercept, on the
// features z as the head sees them (or standardised, see LinearProbeOptions; a constant feature
// gets weight 0):
//     minimise  c * sum_i log(1 + exp(-s_i (w . z_i + b))) + |w|^2 / 2,   s_i = +-1,
// solved by accelerated gradient descent with adaptive restart; the weights are then mapped
// back to the raw features the head sees.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "thaw/core/parameters.hpp"
#include "thaw/train/batch_stream.hpp"
#include "thaw/train/loss.hpp"
#include "thaw/train/source.hpp"

namespace thaw::train {

struct LinearProbeOptions {
  double c = 0.01;                     // inverse regularisation strength, as scikit-learn's C
  // Divide each feature by its standard deviation first (scikit-learn's StandardScaler)? Off by
  // default: it lifts features that barely vary to the weight of those that carry the image,
  // and on thaw's synthetic two-site set such a head fitted the training site and lost the
  // other (external AUC 0.64 standardised, 0.80 raw; README "Without pretrained weights").
  bool standardize = false;
  std::size_t max_iterations = 10000;  // of accelerated gradient descent
  double tolerance = 1e-5;             // stop when the gradient's largest entry, over c * n, is below this
  std::size_t batch = 32;              // images per forward pass while collecting the features
};

struct LogisticFit {
  std::vector<double> weight;  // per raw feature
  double bias = 0;
  std::size_t iterations = 0;
  bool converged = false;
};

struct LinearProbeReport {
  std::size_t images = 0, features = 0, iterations = 0;
  bool converged = false;
  double train_loss_before = 0, train_loss_after = 0;  // mean log-loss of the head on the images
  double seconds = 0;

  std::string summary() const {
    return "linear probe: head fitted to " + std::to_string(features) + " features of " + std::to_string(images) +
           " images (" + std::to_string(iterations) + " steps" + (converged ? "" : ", NOT converged") +
           "); training log-loss " + std::to_string(train_loss_before) + " -> " + std::to_string(train_loss_after) +
           " (" + std::to_string(int(seconds + 0.5)) + " s)\n";
  }
};

// The regression itself, on n rows of d features (row-major) with labels 0/1. In float (Eigen's
// vectorised double code, its exp and its abs-max trip a false -Wmaybe-uninitialized in g++ 12
// with AVX-512, hence the plain loops).
inline LogisticFit fit_logistic(const float* features, std::size_t n, std::size_t d, const std::vector<float>& labels,
                                const LinearProbeOptions& o = {}) {
  using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Vector = Eigen::VectorXf;
  if (n == 0 || d == 0) throw std::invalid_argument("thaw::train::fit_logistic: no samples or no features");
  if (labels.size() != n) throw std::invalid_argument("thaw::train::fit_logistic: one label per sample needed");
  if (!(o.c > 0)) throw std::invalid_argument("thaw::train::fit_logistic: c must be positive");
  const Eigen::Index rows = Eigen::Index(n), cols = Eigen::Index(d);
  RowMatrix z = Eigen::Map<const RowMatrix>(features, rows, cols);
  if (!z.allFinite()) throw std::invalid_argument("thaw::train::fit_logistic: a feature is not finite");
  const Eigen::RowVectorXf mean = z.colwise().mean();
  z.rowwise() -= mean;
  Eigen::RowVectorXf scale = z.colwise().squaredNorm();
  for (Eigen::Index j = 0; j < cols; ++j) {
    const float sd = std::sqrt(scale[j] / float(n));
    scale[j] = sd > 1e-6f ? (o.standardize ? 1.0f / sd : 1.0f) : 0.0f;
  }
  z.array().rowwise() *= scale.array();
  const Vector y = Eigen::Map<const Vector>(labels.data(), rows);

  // The objective divided by c * n: mean log-loss + lambda/2 |w|^2. Its gradient is Lipschitz
  // with L <= 1/4 * sigma_max([z 1])^2 / n + lambda; power iteration estimates sigma_max^2.
  const float lambda = float(1.0 / (o.c * double(n)));
  Vector v = Vector::Ones(cols + 1).normalized(), zv(rows), next(cols + 1);
  float top = 0;
  for (int k = 0; k < 50; ++k) {
    zv.noalias() = z * v.head(cols);
    zv.array() += v[cols];
    next.head(cols).noalias() = z.transpose() * zv;
    next[cols] = zv.sum();
    top = next.norm();
    v = next / top;
  }
  const float step = 1.0f / (1.05f * 0.25f * top / float(n) + lambda);

  Vector w = Vector::Zero(cols), w_prev = w, wy = w, grad = w, u(rows), residual(rows);
  float b = 0, b_prev = 0, by = 0, t = 1;
  LogisticFit fit;
  for (fit.iterations = 1; fit.iterations <= o.max_iterations; ++fit.iterations) {
    u.noalias() = z * wy;
    for (Eigen::Index i = 0; i < rows; ++i) residual[i] = 1.0f / (1.0f + std::exp(-(u[i] + by))) - y[i];  // p - label
    grad.noalias() = z.transpose() * residual;
    grad = grad / float(n) + lambda * wy;
    const float grad_b = residual.mean();
    float largest = std::abs(grad_b);
    for (Eigen::Index j = 0; j < cols; ++j) largest = std::max(largest, std::abs(grad[j]));
    if (largest < float(o.tolerance)) {
      w = wy, b = by;
      fit.converged = true;
      break;
    }
    w_prev = w, b_prev = b;
    w = wy - step * grad, b = by - step * grad_b;
    // Adaptive restart (O'Donoghue & Candes 2015): drop the momentum when it points uphill.
    if (grad.dot(w - w_prev) + grad_b * (b - b_prev) > 0) t = 1;
    const float t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
    const float momentum = (t - 1) / t_next;
    wy = w + momentum * (w - w_prev), by = b + momentum * (b - b_prev);
    t = t_next;
  }
  fit.iterations = std::min(fit.iterations, o.max_iterations);
  // Back to raw features: w . z + b = (w * scale) . x + b - (w * scale) . mean.
  const Vector raw = w.cwiseProduct(scale.transpose());
  fit.weight.assign(raw.data(), raw.data() + raw.size());
  fit.bias = double(b) - double(mean.dot(raw.transpose()));
  return fit;
}

// Fits the head of `model` (its last layer with parameters, a linear layer with one output) to
// the images of `data` (an ImageSource or a data::Loader), in eval mode, and writes it.
template <class Model, class Data>
LinearProbeReport fit_head(Model& model, const Data& data, const LinearProbeOptions& o = {}) {
  using N = typename Model::net;
  constexpr std::size_t head = last_parameterized_v<N>;
  using Head = typename N::template layer<head>;
  static_assert(head > 0 && requires { Head::in_features; } && Head::out_features == 1,
                "thaw::train::fit_head fits a one-logit linear head on the features of the layers below it");
  constexpr std::size_t d = Head::in_features;
  const auto start = std::chrono::steady_clock::now();
  const auto& source = as_source(data);
  check_source(source, "linear probe", Model::input_shape.size());
  const std::size_t n = source.size();
  if (n < 2) throw std::invalid_argument("thaw::train::fit_head: needs at least 2 images; got " + std::to_string(n));
  std::vector<float> labels(n), features(n * d), logits(n), unused_gradient(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = source.label(i);
  if (std::all_of(labels.begin(), labels.end(), [&](float l) { return l == labels[0]; }))
    throw std::invalid_argument("thaw::train::fit_head: every image has label " + std::to_string(int(labels[0])) +
                                "; a probe needs both classes");

  const bool was_training = model.is_training();
  model.eval();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  stream_batches(
      source, order, o.batch, [](std::size_t, std::size_t) { return true; },
      [&](std::size_t first, std::size_t count, const float* images) {
        const float* out = model.template forward_from<0>(images, count);
        std::copy(out, out + count, logits.begin() + std::ptrdiff_t(first));
        const auto a = model.activation(head - 1);
        std::copy(a.begin(), a.end(), features.begin() + std::ptrdiff_t(first * d));
      });
  LinearProbeReport report{.images = n, .features = d};
  report.train_loss_before = bce_with_logits(logits.data(), labels.data(), n, unused_gradient.data());

  const LogisticFit fit = fit_logistic(features.data(), n, d, labels, o);
  auto& layer = model.template layer<head>();
  std::transform(fit.weight.begin(), fit.weight.end(), layer.weight.begin(), [](double w) { return float(w); });
  layer.bias[0] = float(fit.bias);
  for (std::size_t i = 0; i < n; ++i)
    logits[i] = float(std::inner_product(fit.weight.begin(), fit.weight.end(), features.begin() + std::ptrdiff_t(i * d),
                                         fit.bias));
  report.train_loss_after = bce_with_logits(logits.data(), labels.data(), n, unused_gradient.data());
  report.iterations = fit.iterations;
  report.converged = fit.converged;
  model.train(was_training);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace thaw::train
