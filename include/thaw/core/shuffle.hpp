// thaw/core/shuffle.hpp — a seeded permutation that is the same on every platform: std::shuffle
// and std::uniform_int_distribution are implementation-defined, mt19937_64 is not, so runs,
// splits and resumed trainings reproduce across standard libraries.
#pragma once

#include <cstddef>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

namespace thaw {

template <class T>
void shuffle_in_place(std::vector<T>& items, std::mt19937_64& rng) {
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng() % i]);  // Fisher-Yates
}

inline std::vector<std::size_t> shuffled_indices(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  shuffle_in_place(order, rng);
  return order;
}

}  // namespace thaw
