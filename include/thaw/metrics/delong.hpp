// thaw/metrics/delong.hpp — uncertainty of the AUC by DeLong, DeLong & Clarke-Pearson (1988),
// in the O(n log n) form of Sun & Xu (2014): a confidence interval for one AUC, the covariance
// of several AUCs measured on the same cases, and the paired test between two of them.
//
// Each case gets a structural component: a positive's V10 is the share of negatives it outranks
// (ties count one half), a negative's V01 the share of positives that outrank it. The AUC is
// the mean of either; Var(AUC) = S10/m + S01/n with S the sample (co)variances over the m
// positives and n negatives. Cases with equal scores share their component, so one sort and
// one pass over the runs of equal scores give everything.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "thaw/metrics/ranked.hpp"
#include "thaw/metrics/roc.hpp"

namespace thaw::metrics {

enum class CiScale {
  Auc,    // AUC +- z*se, clipped to [0, 1] (as pROC)
  Logit,  // on logit(AUC), mapped back: stays inside (0, 1) and is asymmetric near the ends
};

struct AucInterval {
  double auc, variance, lower, upper, level;
  double standard_error() const { return std::sqrt(variance); }
};

struct AucComparison {
  double auc_a, auc_b, difference;  // difference = auc_a - auc_b
  double variance, z, p_value;      // two-sided; z = 0 and p = 1 when both AUCs are equal
  double lower, upper, level;       // confidence interval of the difference
};

// AUCs of k score vectors on the same cases and the k x k DeLong covariance of them.
struct AucCovariance {
  std::vector<double> aucs;
  std::vector<double> covariance;  // row-major k x k
  double at(std::size_t i, std::size_t j) const { return covariance[i * aucs.size() + j]; }
};

// The standard normal quantile: Acklam's rational approximation, polished by one Halley step
// on erfc (about 1e-15 relative). The upper half goes through the lower one, where 1 - p is
// exact and erfc has no cancellation.
inline double normal_quantile(double p) {
  if (!(p > 0.0 && p < 1.0)) throw std::invalid_argument("thaw::metrics::normal_quantile: p must be in (0, 1)");
  if (p > 0.5) return -normal_quantile(1.0 - p);
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                 1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                 6.680131188771972e+01,  -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                 -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                 3.754408661907416e+00};
  double x;
  if (p < 0.02425 || p > 1 - 0.02425) {
    const double q = std::sqrt(-2 * std::log(p < 0.5 ? p : 1 - p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    if (p > 0.5) x = -x;
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  const double u = e * std::sqrt(2 * std::numbers::pi) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

namespace detail {

inline double z_for(double level, const char* who) {
  if (!(level > 0.0 && level < 1.0))
    throw std::invalid_argument(std::string("thaw::metrics::") + who + ": level must be in (0, 1), e.g. 0.95");
  return normal_quantile(0.5 + level / 2);
}

// f(group, V10, V01) for each run of equal scores: the component its positives and its
// negatives share.
template <class F>
void for_each_component(const Ranked& r, F&& f) {
  std::uint64_t negatives_above = 0, positives_above = 0;
  r.for_each_group([&](const Group& g) {
    const double v10 = (double(r.negatives - negatives_above - g.negatives) + 0.5 * double(g.negatives)) /
                       double(r.negatives);
    const double v01 = (double(positives_above) + 0.5 * double(g.positives)) / double(r.positives);
    f(g, v10, v01);
    negatives_above += g.negatives;
    positives_above += g.positives;
  });
}

// A sum of squared deviations over `count` cases -> its share of Var(AUC): S / (count - 1) / count.
inline double variance_term(double squares, double count) { return count > 1 ? squares / (count - 1) / count : 0.0; }

// V10 of every positive and V01 of every negative, in the caller's order of cases: each case
// finds its run of equal scores by binary search.
struct Components {
  std::vector<double> v10, v01;  // in case order, positives and negatives separately
  double auc;
};

template <class Scores>
Components components(const Ranked& r, const Scores& scores, const std::vector<std::uint8_t>& positive) {
  std::vector<std::uint64_t> keys;
  std::vector<double> v10s, v01s;
  for_each_component(r, [&](const Group& g, double v10, double v01) {
    keys.push_back(descending_key(g.score));
    v10s.push_back(v10);
    v01s.push_back(v01);
  });
  Components c{{}, {}, auc_of(r)};
  std::size_t i = 0;
  for (const auto& s : scores) {
    const auto at = std::size_t(std::lower_bound(keys.begin(), keys.end(), descending_key(double(s))) - keys.begin());
    if (positive[i++]) c.v10.push_back(v10s[at]);
    else c.v01.push_back(v01s[at]);
  }
  return c;
}

}  // namespace detail

// DeLong covariance of the AUCs of `score_sets` (k vectors, each scoring the same cases).
template <class ScoreSets, class Labels>
AucCovariance delong_covariance(const ScoreSets& score_sets, const Labels& labels) {
  std::vector<std::uint8_t> positive;
  for (const auto& y : labels) positive.push_back(double(y) == 1.0);
  std::vector<detail::Components> parts;
  for (const auto& scores : score_sets)
    parts.push_back(detail::components(detail::rank(scores, labels, "delong_covariance"), scores, positive));
  if (parts.empty()) throw std::invalid_argument("thaw::metrics::delong_covariance: no score vectors");
  const std::size_t k = parts.size();
  const double m = double(parts[0].v10.size()), n = double(parts[0].v01.size());
  AucCovariance out{std::vector<double>(k), std::vector<double>(k * k)};
  for (std::size_t a = 0; a < k; ++a) out.aucs[a] = parts[a].auc;
  // Sample covariances centred on the AUCs, which are the components' means.
  const auto centred = [&](const std::vector<double>& x, const std::vector<double>& y, double mx, double my) {
    double sum = 0;
    for (std::size_t i = 0; i < x.size(); ++i) sum += (x[i] - mx) * (y[i] - my);
    return sum;
  };
  for (std::size_t a = 0; a < k; ++a)
    for (std::size_t b = a; b < k; ++b)
      out.covariance[a * k + b] = out.covariance[b * k + a] =
          detail::variance_term(centred(parts[a].v10, parts[b].v10, out.aucs[a], out.aucs[b]), m) +
          detail::variance_term(centred(parts[a].v01, parts[b].v01, out.aucs[a], out.aucs[b]), n);
  return out;
}

// The AUC and its DeLong confidence interval at `level`.
template <class Scores, class Labels>
AucInterval delong_ci(const Scores& scores, const Labels& labels, double level = 0.95,
                      CiScale scale = CiScale::Auc) {
  const double z = detail::z_for(level, "delong_ci");
  const auto r = detail::rank(scores, labels, "delong_ci");
  const double auc = detail::auc_of(r);
  // One component per run of equal scores, weighted by how many cases share it.
  double s10 = 0, s01 = 0;
  detail::for_each_component(r, [&](const detail::Group& g, double v10, double v01) {
    s10 += double(g.positives) * (v10 - auc) * (v10 - auc);
    s01 += double(g.negatives) * (v01 - auc) * (v01 - auc);
  });
  const double variance =
      detail::variance_term(s10, double(r.positives)) + detail::variance_term(s01, double(r.negatives));
  const double se = std::sqrt(variance);
  if (scale == CiScale::Logit && auc > 0.0 && auc < 1.0) {
    const double logit = std::log(auc / (1 - auc)), se_logit = se / (auc * (1 - auc));
    const auto expit = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
    return {auc, variance, expit(logit - z * se_logit), expit(logit + z * se_logit), level};
  }
  return {auc, variance, std::max(0.0, auc - z * se), std::min(1.0, auc + z * se), level};
}

// The paired DeLong test of AUC(a) = AUC(b) from a covariance of several AUCs.
inline AucComparison delong_compare(const AucCovariance& cov, std::size_t a, std::size_t b, double level = 0.95) {
  const double z_level = detail::z_for(level, "delong_compare");
  if (a >= cov.aucs.size() || b >= cov.aucs.size())
    throw std::out_of_range("thaw::metrics::delong_compare: index beyond the " + std::to_string(cov.aucs.size()) +
                            " AUCs");
  const double difference = cov.aucs[a] - cov.aucs[b];
  const double variance = std::max(0.0, cov.at(a, a) + cov.at(b, b) - 2 * cov.at(a, b));
  const double se = std::sqrt(variance);
  double z = 0, p = 1;
  if (difference != 0) {
    z = se > 0 ? difference / se : std::copysign(std::numeric_limits<double>::infinity(), difference);
    p = std::erfc(std::abs(z) / std::sqrt(2.0));
  }
  return {cov.aucs[a], cov.aucs[b], difference, variance, z, p, difference - z_level * se, difference + z_level * se,
          level};
}

// The paired DeLong test between two scorings of the same cases (two freeze patterns on the
// same external test set, say).
template <class ScoresA, class ScoresB, class Labels>
AucComparison delong_test(const ScoresA& scores_a, const ScoresB& scores_b, const Labels& labels,
                          double level = 0.95) {
  if (std::size(scores_a) != std::size(scores_b))
    throw std::invalid_argument("thaw::metrics::delong_test: the two score vectors differ in length (" +
                                std::to_string(std::size(scores_a)) + " and " + std::to_string(std::size(scores_b)) +
                                "); both must score the same cases");
  std::vector<std::vector<double>> sets{std::vector<double>(std::begin(scores_a), std::end(scores_a)),
                                        std::vector<double>(std::begin(scores_b), std::end(scores_b))};
  return delong_compare(delong_covariance(sets, labels), 0, 1, level);
}

}  // namespace thaw::metrics
