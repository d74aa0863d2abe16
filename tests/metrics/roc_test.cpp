// tests/metrics/roc_test.cpp — ROC curve and AUC against scikit-learn (make_roc_reference.py
// runs it at test time), DeLong against a brute-force O(mn) computation written here from the
// 1988 paper's definitions and against numpy/scipy (p-values, intervals), Hanley & McNeil's
// published example, and the errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>

#include "thaw/metrics/delong.hpp"
#include "thaw/metrics/roc.hpp"

#include "../oracle_files.hpp"

namespace fs = std::filesystem;
namespace metrics = thaw::metrics;

namespace {

nlohmann::json index_json() {
  std::ifstream in(oracle_dir("THAW_ROC_DIR") / "index.json");
  return nlohmann::json::parse(in);
}

template <class T>
std::vector<T> npy(const fs::path& path) {
  const auto a = xt::load_npy<T>(path.string());
  return std::vector<T>(a.begin(), a.end());
}

struct Case {
  std::vector<double> scores, scores_b;
  std::vector<std::int64_t> labels;
};

Case load_case(const std::string& name) {
  const fs::path d = oracle_dir("THAW_ROC_DIR") / name;
  return {npy<double>(d / "scores.npy"), npy<double>(d / "scores_b.npy"), npy<std::int64_t>(d / "labels.npy")};
}

// DeLong et al. (1988) by their definitions: psi over all m*n pairs, then sample covariances.
struct BruteForce {
  std::vector<double> aucs, cov;  // 2 scorings, 2x2 covariance
};

BruteForce brute_force(const Case& c) {
  const std::vector<const std::vector<double>*> sets{&c.scores, &c.scores_b};
  std::vector<std::size_t> pos, neg;
  for (std::size_t i = 0; i < c.labels.size(); ++i) (c.labels[i] ? pos : neg).push_back(i);
  const double m = double(pos.size()), n = double(neg.size());
  std::vector<std::vector<double>> v10(2, std::vector<double>(pos.size())), v01(2, std::vector<double>(neg.size()));
  BruteForce out{std::vector<double>(2), std::vector<double>(4)};
  for (std::size_t k = 0; k < 2; ++k) {
    const auto& s = *sets[k];
    double total = 0;
    for (std::size_t a = 0; a < pos.size(); ++a)
      for (std::size_t b = 0; b < neg.size(); ++b) {
        const double x = s[pos[a]], y = s[neg[b]];
        const double psi = x > y ? 1.0 : x == y ? 0.5 : 0.0;
        v10[k][a] += psi / n;
        v01[k][b] += psi / m;
        total += psi;
      }
    out.aucs[k] = total / (m * n);
  }
  for (std::size_t a = 0; a < 2; ++a)
    for (std::size_t b = 0; b < 2; ++b) {
      double s10 = 0, s01 = 0;
      for (std::size_t i = 0; i < pos.size(); ++i) s10 += (v10[a][i] - out.aucs[a]) * (v10[b][i] - out.aucs[b]);
      for (std::size_t j = 0; j < neg.size(); ++j) s01 += (v01[a][j] - out.aucs[a]) * (v01[b][j] - out.aucs[b]);
      out.cov[a * 2 + b] = s10 / (m - 1) / m + s01 / (n - 1) / n;
    }
  return out;
}

}  // namespace

TEST_CASE("roc_curve and roc_auc equal scikit-learn's", "[metrics][sklearn]") {
  const auto index = index_json();
  for (const std::string name : index["cases"]) {
    INFO("case " << name << ", sklearn " << index["sklearn"].get<std::string>());
    const auto c = load_case(name);
    for (const bool drop : {true, false}) {
      INFO("drop_intermediate " << drop);
      const std::string suffix = drop ? "drop" : "all";
      const auto curve = metrics::roc_curve(c.scores, c.labels, drop);
      const auto d = oracle_dir("THAW_ROC_DIR") / name;
      CHECK(curve.fpr == npy<double>(d / ("fpr_" + suffix + ".npy")));
      CHECK(curve.tpr == npy<double>(d / ("tpr_" + suffix + ".npy")));
      const auto thresholds = npy<double>(d / ("thresholds_" + suffix + ".npy"));
      REQUIRE(curve.thresholds.size() == thresholds.size());
      CHECK(std::equal(curve.thresholds.begin() + 1, curve.thresholds.end(), thresholds.begin() + 1));
      // The first threshold is +inf, as in scikit-learn >= 1.3; 1.2 wrote max(score) + 1.
      CHECK(std::isinf(curve.thresholds[0]));
      CHECK((std::isinf(thresholds[0]) || thresholds[0] == thresholds[1] + 1));
    }
    const double expected = npy<double>(oracle_dir("THAW_ROC_DIR") / name / "auc.npy")[0];
    CHECK(metrics::roc_auc(c.scores, c.labels) == Approx(expected).margin(1e-13));
  }
}

TEST_CASE("Hanley & McNeil's rating example gives their published area, 0.893", "[metrics]") {
  const auto c = load_case("hanley_mcneil");
  CHECK(std::round(metrics::roc_auc(c.scores, c.labels) * 1000) / 1000 == 0.893);
}

TEST_CASE("DeLong variance, covariance and paired test equal the brute-force definitions", "[metrics][delong]") {
  for (const char* name : {"random", "integer_ties", "hanley_mcneil", "separated", "all_tied"}) {
    INFO("case " << name);
    const auto c = load_case(name);
    const auto bf = brute_force(c);
    const auto ci = metrics::delong_ci(c.scores, c.labels);
    CHECK(ci.auc == Approx(bf.aucs[0]).margin(1e-14));
    CHECK(ci.variance == Approx(bf.cov[0]).epsilon(1e-10).margin(1e-18));
    const auto cov = metrics::delong_covariance(std::vector{c.scores, c.scores_b}, c.labels);
    for (std::size_t i = 0; i < 4; ++i) CHECK(cov.covariance[i] == Approx(bf.cov[i]).epsilon(1e-10).margin(1e-18));
    const auto test = metrics::delong_test(c.scores, c.scores_b, c.labels);
    const double variance = bf.cov[0] + bf.cov[3] - 2 * bf.cov[1];
    CHECK(test.difference == Approx(bf.aucs[0] - bf.aucs[1]).margin(1e-14));
    CHECK(test.variance == Approx(variance).epsilon(1e-9).margin(1e-18));
    if (variance > 0) CHECK(test.z == Approx((bf.aucs[0] - bf.aucs[1]) / std::sqrt(variance)).epsilon(1e-9));
    // Swapping the two scorings flips the sign of z and of the difference, nothing else.
    const auto swapped = metrics::delong_test(c.scores_b, c.scores, c.labels);
    CHECK(swapped.z == -test.z);
    CHECK(swapped.p_value == test.p_value);
    CHECK(swapped.difference == -test.difference);
  }
}

TEST_CASE("DeLong p-values and intervals equal scipy's, from midrank components", "[metrics][delong][scipy]") {
  // The reference computes the components from midranks and takes p and the quantiles from
  // scipy.stats.norm. The two routes agree on the variance to ~1e-10 relative; z enters p
  // through exp(-z^2/2), so p's relative error is about z^2 times that: 1e-7 holds to z ~ 30.
  const auto index = index_json();
  int moderate_p = 0;  // cases whose p is far from 0 and 1, where a one-sided p shows
  for (const std::string name : index["cases"]) {
    INFO("case " << name);
    const auto c = load_case(name);
    std::ifstream in(oracle_dir("THAW_ROC_DIR") / name / "delong.json");
    const auto expected = nlohmann::json::parse(in);
    for (const auto& at : expected["intervals"]) {
      const double level = at["level"];
      INFO("level " << level);
      const auto test = metrics::delong_test(c.scores, c.scores_b, c.labels, level);
      CHECK(test.z == Approx(expected["z"].get<double>()).epsilon(1e-8).margin(1e-12));
      CHECK(test.p_value == Approx(expected["p_value"].get<double>()).epsilon(1e-7));
      // Interval ends are O(1) and their half-widths at least ~1e-3 here: 1e-10 is far above
      // rounding and far below any error in the width.
      CHECK(test.lower == Approx(at["difference"][0].get<double>()).margin(1e-10));
      CHECK(test.upper == Approx(at["difference"][1].get<double>()).margin(1e-10));
      const auto wald = metrics::delong_ci(c.scores, c.labels, level);
      CHECK(wald.lower == Approx(at["auc"][0].get<double>()).margin(1e-10));
      CHECK(wald.upper == Approx(at["auc"][1].get<double>()).margin(1e-10));
      const auto logit = metrics::delong_ci(c.scores, c.labels, level, metrics::CiScale::Logit);
      CHECK(logit.lower == Approx(at["auc_logit"][0].get<double>()).margin(1e-10));
      CHECK(logit.upper == Approx(at["auc_logit"][1].get<double>()).margin(1e-10));
    }
    const double p = expected["p_value"];
    moderate_p += p > 0.01 && p < 0.5;
  }
  CHECK(moderate_p >= 3);
}

TEST_CASE("DeLong at the edges: perfect separation, all tied, a logit-scale interval", "[metrics][delong]") {
  const auto separated = load_case("separated");
  const auto ci = metrics::delong_ci(separated.scores, separated.labels);
  CHECK(ci.auc == 1.0);
  CHECK(ci.variance == 0.0);
  CHECK((ci.lower == 1.0 && ci.upper == 1.0));
  const auto tied = load_case("all_tied");
  CHECK(metrics::roc_auc(tied.scores, tied.labels) == 0.5);
  CHECK(metrics::delong_test(tied.scores, tied.scores, tied.labels).p_value == 1.0);

  const auto c = load_case("random");
  const auto wald = metrics::delong_ci(c.scores, c.labels, 0.95);
  const auto logit = metrics::delong_ci(c.scores, c.labels, 0.95, metrics::CiScale::Logit);
  CHECK(logit.auc == wald.auc);
  CHECK((logit.lower > 0 && logit.lower < logit.auc && logit.auc < logit.upper && logit.upper < 1));
  CHECK(wald.upper - wald.lower == Approx(2 * 1.959963984540054 * wald.standard_error()).epsilon(1e-12));
  // A wider level gives a wider interval.
  const auto wide = metrics::delong_ci(c.scores, c.labels, 0.99);
  CHECK((wide.lower < wald.lower && wide.upper > wald.upper));
}

TEST_CASE("normal_quantile equals Python's statistics.NormalDist", "[metrics]") {
  const auto index = index_json();  // kept alive: items() only refers to it
  for (const auto& [p, q] : index["quantiles"].items()) {
    INFO("p = " << p);
    CHECK(metrics::normal_quantile(std::stod(p)) == Approx(q.get<double>()).epsilon(1e-13).margin(1e-15));
  }
}

TEST_CASE("operating points: counts at a threshold and the Youden-optimal one", "[metrics]") {
  const auto c = load_case("integer_ties");
  for (const double threshold : {-1.0, 2.0, 3.0, 3.5, 100.0}) {
    std::uint64_t tp = 0, fp = 0, tn = 0, fn = 0;
    for (std::size_t i = 0; i < c.scores.size(); ++i) {
      const bool called = c.scores[i] >= threshold;
      (c.labels[i] ? (called ? tp : fn) : (called ? fp : tn)) += 1;
    }
    const auto point = metrics::at_threshold(c.scores, c.labels, threshold);
    CHECK(point.true_positives == tp);
    CHECK(point.false_positives == fp);
    CHECK(point.true_negatives == tn);
    CHECK(point.false_negatives == fn);
    CHECK(point.sensitivity == double(tp) / double(tp + fn));
    CHECK(point.specificity == double(tn) / double(tn + fp));
    CHECK(point.accuracy == double(tp + tn) / double(c.scores.size()));
  }
  // Youden's J is largest where sklearn's curve has the largest tpr - fpr.
  const auto d = oracle_dir("THAW_ROC_DIR") / "integer_ties";
  const auto fpr = npy<double>(d / "fpr_all.npy"), tpr = npy<double>(d / "tpr_all.npy");
  const auto thresholds = npy<double>(d / "thresholds_all.npy");
  std::size_t best = 0;
  for (std::size_t i = 1; i < fpr.size(); ++i)
    if (tpr[i] - fpr[i] > tpr[best] - fpr[best]) best = i;
  const auto youden = metrics::youden_optimal(c.scores, c.labels);
  CHECK(youden.threshold == thresholds[best]);
  CHECK(youden.youden() == Approx(tpr[best] - fpr[best]).margin(1e-15));
}

TEST_CASE("a million heavily tied scores: exact AUC from counts", "[metrics]") {
  // Scores 0..9 with a known number of positives and negatives at each: the Mann-Whitney
  // count is computed here by another route (per score value) and must match exactly.
  std::vector<float> scores;
  std::vector<bool> labels;
  std::uint64_t pos[10], neg[10];
  for (int v = 0; v < 10; ++v) {
    pos[v] = 10'000 * std::uint64_t(v + 1);
    neg[v] = 100'000 - pos[v] / 2;
    for (std::uint64_t k = 0; k < pos[v] + neg[v]; ++k) {
      scores.push_back(float(v));
      labels.push_back(k < pos[v]);
    }
  }
  std::uint64_t twice = 0, negatives_below = 0, p = 0, n = 0;
  for (int v = 0; v < 10; ++v) {
    twice += pos[v] * (2 * negatives_below + neg[v]);
    negatives_below += neg[v];
    p += pos[v];
    n += neg[v];
  }
  CHECK(scores.size() > 1'000'000);
  CHECK(metrics::roc_auc(scores, labels) == double(twice) / (2.0 * double(p) * double(n)));
  const auto ci = metrics::delong_ci(scores, labels);
  CHECK((ci.variance > 0 && ci.variance < 1e-5));
}

TEST_CASE("bad inputs give clear errors", "[metrics][errors]") {
  const std::vector<double> s{0.1, 0.4, 0.35, 0.8};
  const std::vector<int> y{0, 0, 1, 1};
  CHECK_THROWS_WITH(metrics::roc_auc(s, std::vector<int>{1, 1, 1, 1}), Catch::Contains("only one class is present"));
  CHECK_THROWS_WITH(metrics::roc_auc(std::vector<double>{0.1, NAN, 0.3, 0.2}, y),
                    Catch::Contains("score 1 is nan") && Catch::Contains("finite"));
  CHECK_THROWS_WITH(metrics::roc_auc(s, std::vector<int>{0, 1, 1}), Catch::Contains("4 scores but 3 labels"));
  CHECK_THROWS_WITH(metrics::roc_auc(std::vector<double>{}, std::vector<int>{}), Catch::Contains("no scores"));
  CHECK_THROWS_WITH(metrics::roc_curve(s, std::vector<int>{0, 2, 1, 1}), Catch::Contains("label 1 is 2"));
  CHECK_THROWS_WITH(metrics::delong_ci(s, y, 1.5), Catch::Contains("level must be in (0, 1)"));
  CHECK_THROWS_WITH(metrics::delong_test(s, std::vector<double>{1, 2}, y), Catch::Contains("differ in length"));
}
