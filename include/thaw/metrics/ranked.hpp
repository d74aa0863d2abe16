// thaw/metrics/ranked.hpp — the one pass every ROC quantity starts from: scores and labels
// checked, the positives' and negatives' scores sorted from highest to lowest (a radix sort on
// the scores' bits, linear in their number), then walked together as runs of equal score.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace thaw::metrics {
namespace detail {

// Maps a double to an unsigned integer that sorts highest score first: IEEE bits with the sign
// handled so that unsigned order is numeric order, then inverted. -0.0 and +0.0 become equal.
inline std::uint64_t descending_key(double score) {
  if (score == 0.0) score = 0.0;
  const auto bits = std::bit_cast<std::uint64_t>(score);
  const std::uint64_t ascending = (bits >> 63) ? ~bits : bits | (std::uint64_t(1) << 63);
  return ~ascending;
}

inline double score_of(std::uint64_t key) {
  const std::uint64_t ascending = ~key;
  return std::bit_cast<double>((ascending >> 63) ? ascending & ~(std::uint64_t(1) << 63) : ~ascending);
}

// LSD radix sort of keys, 11 bits per pass (2048 buckets stay in cache); all digit histograms
// come from one read, and passes whose digit is the same for every key are skipped.
inline void radix_sort(std::vector<std::uint64_t>& keys) {
  if (keys.empty()) return;
  constexpr int bits = 11, passes = (64 + bits - 1) / bits;
  constexpr std::uint64_t mask = (1u << bits) - 1;
  std::vector<std::array<std::size_t, 1 << bits>> count(passes);
  for (auto& c : count) c.fill(0);
  for (const std::uint64_t k : keys)
    for (int p = 0; p < passes; ++p) ++count[p][(k >> (p * bits)) & mask];
  std::vector<std::uint64_t> buffer(keys.size());
  for (int p = 0; p < passes; ++p) {
    const int shift = p * bits;
    if (count[p][(keys.front() >> shift) & mask] == keys.size()) continue;
    std::size_t sum = 0;
    for (auto& n : count[p]) sum += std::exchange(n, sum);
    for (const std::uint64_t k : keys) buffer[count[p][(k >> shift) & mask]++] = k;
    keys.swap(buffer);
  }
}

// A run of cases with equal scores.
struct Group {
  double score;
  std::uint64_t positives, negatives;
};

// The positives' and the negatives' scores, each sorted highest first (as keys); walking both
// at once gives the runs of equal scores without sorting the labels along.
struct Ranked {
  std::vector<std::uint64_t> positive_keys, negative_keys;
  std::uint64_t positives = 0, negatives = 0;

  // f(Group) for each run of equal scores, highest score first.
  template <class F>
  void for_each_group(F&& f) const {
    std::size_t i = 0, j = 0;
    const std::size_t m = positive_keys.size(), n = negative_keys.size();
    while (i < m || j < n) {
      const std::uint64_t key = j == n || (i < m && positive_keys[i] <= negative_keys[j]) ? positive_keys[i]
                                                                                          : negative_keys[j];
      const std::size_t i0 = i, j0 = j;
      while (i < m && positive_keys[i] == key) ++i;
      while (j < n && negative_keys[j] == key) ++j;
      f(Group{score_of(key), i - i0, j - j0});
    }
  }
};

template <class Scores, class Labels>
Ranked rank(const Scores& scores, const Labels& labels, const char* who) {
  const std::string where = std::string("thaw::metrics::") + who + ": ";
  const std::size_t n = std::size(scores);
  if (n != std::size(labels))
    throw std::invalid_argument(where + std::to_string(n) + " scores but " + std::to_string(std::size(labels)) +
                                " labels; give one label per score");
  if (n == 0) throw std::invalid_argument(where + "no scores");
  Ranked r;
  std::size_t i = 0;
  auto label = std::begin(labels);
  for (const auto& s : scores) {
    const double score = double(s);
    const double y = double(*label++);
    if (!std::isfinite(score))
      throw std::invalid_argument(where + "score " + std::to_string(i) + " is " + std::to_string(score) +
                                  "; scores must be finite (check the model's outputs for NaN)");
    if (y != 0.0 && y != 1.0)
      throw std::invalid_argument(where + "label " + std::to_string(i) + " is " + std::to_string(y) +
                                  "; labels must be 0 (negative) or 1 (positive)");
    (y == 1.0 ? r.positive_keys : r.negative_keys).push_back(descending_key(score));
    ++i;
  }
  r.positives = r.positive_keys.size();
  r.negatives = r.negative_keys.size();
  if (r.positives == 0 || r.negatives == 0)
    throw std::invalid_argument(where + "only one class is present (" + std::to_string(r.positives) +
                                " positives, " + std::to_string(r.negatives) +
                                " negatives); ROC quantities need both");
  // The two sorts are independent: one per core.
#pragma omp parallel sections if (n > 100000)
  {
#pragma omp section
    radix_sort(r.positive_keys);
#pragma omp section
    radix_sort(r.negative_keys);
  }
  return r;
}

}  // namespace detail
}  // namespace thaw::metrics
