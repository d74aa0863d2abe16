// Times thaw::metrics::roc_auc + delong_ci on scores/labels from .npy files (best of N, in
// seconds, one JSON line). roc_vs_sklearn.py runs it beside scikit-learn on the same data.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <xtensor/xnpy.hpp>

#include "thaw/metrics/delong.hpp"
#include "thaw/metrics/roc.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: roc_auc_timing SCORES.npy (float64) LABELS.npy (int64) [REPEATS]\n");
    return 2;
  }
  const auto s = xt::load_npy<double>(argv[1]);
  const auto y = xt::load_npy<std::int64_t>(argv[2]);
  const std::vector<double> scores(s.begin(), s.end());
  const std::vector<std::int64_t> labels(y.begin(), y.end());
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 7;
  double best_auc = 1e300, best_both = 1e300, auc = 0;
  thaw::metrics::AucInterval ci{};
  for (int r = 0; r < repeats; ++r) {
    auto start = std::chrono::steady_clock::now();
    auc = thaw::metrics::roc_auc(scores, labels);
    const auto mid = std::chrono::steady_clock::now();
    ci = thaw::metrics::delong_ci(scores, labels);
    const auto end = std::chrono::steady_clock::now();
    best_auc = std::min(best_auc, std::chrono::duration<double>(mid - start).count());
    best_both = std::min(best_both, std::chrono::duration<double>(end - start).count());
  }
  std::printf("{\"auc\": %.17g, \"lower\": %.17g, \"upper\": %.17g, \"auc_seconds\": %.6f, \"auc_and_ci_seconds\": %.6f}\n",
              auc, ci.lower, ci.upper, best_auc, best_both);
}
