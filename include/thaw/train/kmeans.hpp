// thaw/train/kmeans.hpp — Lloyd's k-means with k-means++ seeding, over float rows: the filter
// learner of the data-dependent initialization (data_init.hpp), kept apart so it can be tested
// against scikit-learn on its own.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace thaw::train {

struct KMeansResult {
  std::size_t k = 0, dims = 0;
  std::vector<float> centroids;           // k rows of dims: the means of their assigned rows
  std::vector<std::uint32_t> assignment;  // the cluster of each row (the one its centroid is the mean of)
  std::vector<double> inertia;            // sum of squared distances to the nearest centroid, per Lloyd step
  double final_inertia = 0;               // of `assignment` to the returned centroids (<= inertia.back())
  std::size_t iterations = 0;             // Lloyd steps run (fewer than asked when assignments settled)
};

namespace detail {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// k-means++ (Arthur & Vassilvitskii 2007): each next centre drawn with probability proportional
// to the squared distance to the nearest centre chosen so far. Distances are kept in double so
// the draw does not depend on the order of float sums more than a rounding step.
inline RowMatrix kmeans_plus_plus(const Eigen::Map<const RowMatrix>& x, std::size_t k, std::mt19937_64& rng) {
  const std::size_t count = std::size_t(x.rows());
  RowMatrix c(Eigen::Index(k), x.cols());
  std::vector<double> nearest(count, std::numeric_limits<double>::infinity());
  std::size_t pick = std::uniform_int_distribution<std::size_t>(0, count - 1)(rng);
  for (std::size_t j = 0; j < k; ++j) {
    c.row(Eigen::Index(j)) = x.row(Eigen::Index(pick));
    double total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const double d = double((x.row(Eigen::Index(i)) - c.row(Eigen::Index(j))).squaredNorm());
      nearest[i] = std::min(nearest[i], d);
      total += nearest[i];
    }
    if (j + 1 == k) break;
    if (!(total > 0)) {  // fewer distinct rows than clusters: reuse rows in order
      pick = (pick + 1) % count;
      continue;
    }
    double target = std::uniform_real_distribution<double>(0, total)(rng);
    pick = count - 1;
    for (std::size_t i = 0; i < count; ++i)
      if ((target -= nearest[i]) < 0) {
        pick = i;
        break;
      }
  }
  return c;
}

}  // namespace detail

// k clusters of `count` rows of `dims` floats (row-major). Runs at most `iterations` Lloyd steps
// (assign every row to its nearest centroid, then move each centroid to its rows' mean) and stops
// early once no assignment changes. A cluster left empty takes the row farthest from its centroid
// (among clusters with more than one row), so every centroid stays the mean of its rows.
inline KMeansResult kmeans(const float* rows, std::size_t count, std::size_t dims, std::size_t k,
                           std::size_t iterations, std::uint64_t seed) {
  if (count == 0 || dims == 0 || k == 0)
    throw std::invalid_argument("thaw::train::kmeans: needs at least one row, one dimension and one cluster (got " +
                                std::to_string(count) + " rows of " + std::to_string(dims) + ", k = " +
                                std::to_string(k) + ")");
  if (k > count)
    throw std::invalid_argument("thaw::train::kmeans: " + std::to_string(k) + " clusters need at least as many rows; got " +
                                std::to_string(count) + " (sample more patches)");
  using detail::RowMatrix;
  const Eigen::Map<const RowMatrix> x(rows, Eigen::Index(count), Eigen::Index(dims));
  std::mt19937_64 rng(seed);
  RowMatrix c = detail::kmeans_plus_plus(x, k, rng);
  const Eigen::VectorXf row_norms = x.rowwise().squaredNorm();

  KMeansResult r;
  r.k = k;
  r.dims = dims;
  r.assignment.assign(count, std::uint32_t(k));  // "none yet": the first step always changes it
  std::vector<double> distance(count);
  RowMatrix scores;
  const auto assign = [&] {
    // |x - c|^2 = |x|^2 - 2 x.c + |c|^2: one GEMM for all pairs.
    scores.noalias() = x * c.transpose();
    const Eigen::VectorXf centroid_norms = c.rowwise().squaredNorm();
    bool changed = false;
    double inertia = 0;
    for (std::size_t i = 0; i < count; ++i) {
      std::uint32_t best = 0;
      float best_d = std::numeric_limits<float>::infinity();
      for (std::size_t j = 0; j < k; ++j) {
        const float d = centroid_norms[Eigen::Index(j)] - 2 * scores(Eigen::Index(i), Eigen::Index(j));
        if (d < best_d) best_d = d, best = std::uint32_t(j);
      }
      changed |= r.assignment[i] != best;
      r.assignment[i] = best;
      distance[i] = std::max(0.0, double(best_d) + double(row_norms[Eigen::Index(i)]));
      inertia += distance[i];
    }
    return std::pair{changed, inertia};
  };
  std::vector<std::size_t> sizes(k);
  const auto update = [&] {
    std::fill(sizes.begin(), sizes.end(), 0);
    for (auto a : r.assignment) ++sizes[a];
    for (std::size_t j = 0; j < k; ++j) {
      if (sizes[j] > 0) continue;
      std::size_t far = count;
      for (std::size_t i = 0; i < count; ++i)
        if (sizes[r.assignment[i]] > 1 && (far == count || distance[i] > distance[far])) far = i;
      --sizes[r.assignment[far]];
      r.assignment[far] = std::uint32_t(j);
      distance[far] = 0;
      sizes[j] = 1;
    }
    c.setZero();
    for (std::size_t i = 0; i < count; ++i) c.row(r.assignment[i]) += x.row(Eigen::Index(i));
    for (std::size_t j = 0; j < k; ++j) c.row(Eigen::Index(j)) /= float(sizes[j]);
  };
  for (; r.iterations < std::max<std::size_t>(iterations, 1); ++r.iterations) {
    const auto [changed, inertia] = assign();
    if (!changed) break;
    r.inertia.push_back(inertia);
    update();
  }
  r.final_inertia = 0;
  for (std::size_t i = 0; i < count; ++i)
    r.final_inertia += double((x.row(Eigen::Index(i)) - c.row(r.assignment[i])).squaredNorm());
  r.centroids.assign(c.data(), c.data() + c.size());
  return r;
}

}  // namespace thaw::train
