// thaw/metrics/roc.hpp — the ROC curve and its area with scikit-learn's semantics, and the
// operating point a reader picks on it: accuracy, sensitivity and specificity at a threshold,
// and the threshold that maximizes Youden's J = sensitivity + specificity - 1.
//
// Scores: any range of numbers (higher = more likely positive); labels: any range of 0/1.
// A case is called positive when its score >= the threshold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "thaw/metrics/ranked.hpp"

namespace thaw::metrics {

struct RocCurve {
  std::vector<double> fpr, tpr;  // from (0, 0) to (1, 1)
  std::vector<double> thresholds;  // decreasing; the first is +inf (nothing called positive)
};

namespace detail {

// The area under the ROC curve, exactly: the Mann-Whitney count with ties as one half,
// accumulated in integers (twice the count, so the halves stay whole) and divided once.
inline double auc_of(const Ranked& r) {
  std::uint64_t twice = 0, negatives_above = 0;
  r.for_each_group([&](const Group& g) {
    const std::uint64_t below = r.negatives - negatives_above - g.negatives;
    twice += g.positives * (2 * below + g.negatives);
    negatives_above += g.negatives;
  });
  return double(twice) / (2.0 * double(r.positives) * double(r.negatives));
}

}  // namespace detail

// One point per distinct score (ties give one diagonal step), as sklearn.metrics.roc_curve.
// drop_intermediate removes points on straight segments; the area does not change.
template <class Scores, class Labels>
RocCurve roc_curve(const Scores& scores, const Labels& labels, bool drop_intermediate = true) {
  const auto r = detail::rank(scores, labels, "roc_curve");
  std::vector<double> tps, fps, thresholds;
  double tp = 0, fp = 0;
  r.for_each_group([&](const detail::Group& g) {
    tp += double(g.positives);
    fp += double(g.negatives);
    tps.push_back(tp);
    fps.push_back(fp);
    thresholds.push_back(g.score);
  });
  RocCurve curve{{0.0}, {0.0}, {std::numeric_limits<double>::infinity()}};
  const std::size_t n = tps.size();
  for (std::size_t i = 0; i < n; ++i) {
    const bool straight = i > 0 && i + 1 < n && fps[i + 1] - 2 * fps[i] + fps[i - 1] == 0 &&
                          tps[i + 1] - 2 * tps[i] + tps[i - 1] == 0;
    if (drop_intermediate && straight) continue;
    curve.fpr.push_back(fps[i] / fp);
    curve.tpr.push_back(tps[i] / tp);
    curve.thresholds.push_back(thresholds[i]);
  }
  return curve;
}

// Area under the ROC curve (= sklearn.metrics.roc_auc_score for binary labels).
template <class Scores, class Labels>
double roc_auc(const Scores& scores, const Labels& labels) {
  return detail::auc_of(detail::rank(scores, labels, "roc_auc"));
}

struct OperatingPoint {
  double threshold;
  std::uint64_t true_positives, false_positives, true_negatives, false_negatives;
  double accuracy, sensitivity, specificity;
  double youden() const { return sensitivity + specificity - 1.0; }
};

namespace detail {
inline OperatingPoint operating_point(double threshold, std::uint64_t tp, std::uint64_t fp, const Ranked& r) {
  const std::uint64_t fn = r.positives - tp, tn = r.negatives - fp;
  return {threshold, tp, fp, tn, fn, double(tp + tn) / double(r.positives + r.negatives),
          double(tp) / double(r.positives), double(tn) / double(r.negatives)};
}
}  // namespace detail

// The confusion matrix and rates when every score >= threshold is called positive.
template <class Scores, class Labels>
OperatingPoint at_threshold(const Scores& scores, const Labels& labels, double threshold) {
  const auto r = detail::rank(scores, labels, "at_threshold");
  std::uint64_t tp = 0, fp = 0;
  r.for_each_group([&](const detail::Group& g) {
    if (g.score < threshold) return;
    tp += g.positives;
    fp += g.negatives;
  });
  return detail::operating_point(threshold, tp, fp, r);
}

// The threshold (one of the scores) with the largest Youden J; on ties, the highest one.
template <class Scores, class Labels>
OperatingPoint youden_optimal(const Scores& scores, const Labels& labels) {
  const auto r = detail::rank(scores, labels, "youden_optimal");
  std::uint64_t tp = 0, fp = 0;
  OperatingPoint best = detail::operating_point(std::numeric_limits<double>::infinity(), 0, 0, r);
  r.for_each_group([&](const detail::Group& g) {
    tp += g.positives;
    fp += g.negatives;
    const auto point = detail::operating_point(g.score, tp, fp, r);
    if (point.youden() > best.youden()) best = point;
  });
  return best;
}

}  // namespace thaw::metrics
