// thaw/report/run_summary.hpp — what the report says about each run and each case: AUC with
// its DeLong interval, the operating point at Youden's threshold, the paired DeLong test
// against the reference case on the same images and seed, and when training converged; then
// the same per case, over its seeds. The definitions below are also written into results.json.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "thaw/metrics/delong.hpp"
#include "thaw/metrics/roc.hpp"
#include "thaw/report/run_record.hpp"

namespace thaw::report {

inline constexpr double convergence_tolerance = 0.05;
inline constexpr const char* convergence_rule =
    "epochs to converge: the first epoch whose validation loss is within 5% of the run's lowest validation loss "
    "(loss <= min + 0.05 * |min|); training loss where no validation loss was recorded";
inline constexpr const char* aggregation_rule =
    "per case over seeds: AUC mean and sample SD; ci95 = the mean of the seeds' DeLong interval ends (the typical "
    "interval of one run); p_vs_reference = the largest of the seeds' paired DeLong p-values (the difference holds "
    "at every seed when it is below 0.05); sensitivity, specificity, epochs and seconds = means over seeds";
inline constexpr const char* youden_rule =
    "sensitivity and specificity at Youden's threshold: the score maximizing sensitivity + specificity - 1 on that "
    "same set (optimistic on a set it was chosen on); external.at_validation_threshold applies the validation "
    "set's threshold to the external set";

// The paired DeLong test against the reference case, or why there is none.
struct Paired {
  std::optional<metrics::AucComparison> test;
  std::string note;  // empty when tested; "reference" for the reference case itself
};

struct SetSummary {
  metrics::AucInterval auc;
  metrics::OperatingPoint youden;
  Paired vs_reference;
  std::size_t images = 0, positives = 0;
};

struct RunSummary {
  const RunRecord* run;
  SetSummary validation, external;
  metrics::OperatingPoint external_at_validation_threshold;
  int epochs_to_converge;
};

struct SetAggregate {
  double auc_mean, auc_sd;  // sd: NaN with one seed
  double ci_lower_mean, ci_upper_mean;
  std::optional<double> p_max;  // over the seeds that could be compared
  std::string note;             // why some seed has no p-value
  double sensitivity_mean, specificity_mean;
};

struct CaseSummary {
  std::string slug, case_name, type;
  std::vector<const RunSummary*> runs;  // by seed
  SetAggregate validation, external;
  double epochs_to_converge_mean, training_seconds_mean;
  long long trainable_parameters;
};

inline int epochs_to_converge(const std::vector<EpochRecord>& history) {
  const bool has_validation =
      std::any_of(history.begin(), history.end(), [](const EpochRecord& e) { return std::isfinite(e.validation_loss); });
  const auto loss = [&](const EpochRecord& e) { return has_validation ? e.validation_loss : e.train_loss; };
  double lowest = std::numeric_limits<double>::infinity();
  for (const auto& e : history)
    if (std::isfinite(loss(e))) lowest = std::min(lowest, loss(e));
  for (const auto& e : history)
    if (loss(e) <= lowest + convergence_tolerance * std::abs(lowest)) return e.epoch;
  return history.back().epoch;
}

namespace detail {

// The reference's scores in the order of `set`'s images, or why they cannot be paired.
inline std::optional<std::vector<double>> paired_scores(const ScoredSet& set, const ScoredSet& reference,
                                                        std::string& why) {
  if (set.scores.size() != reference.scores.size()) {
    why = "not paired: " + std::to_string(set.scores.size()) + " images against the reference's " +
          std::to_string(reference.scores.size());
    return std::nullopt;
  }
  std::vector<double> scores = reference.scores;
  std::vector<int> labels = reference.labels;
  if (!set.files.empty() && !reference.files.empty() && set.files != reference.files) {
    std::map<std::string, std::size_t> where;
    for (std::size_t i = 0; i < reference.files.size(); ++i) where[reference.files[i]] = i;
    if (where.size() != reference.files.size()) {
      why = "not paired: the reference names some image twice";
      return std::nullopt;
    }
    for (std::size_t i = 0; i < set.files.size(); ++i) {
      const auto it = where.find(set.files[i]);
      if (it == where.end()) {
        why = "not paired: the images differ from the reference's (e.g. '" + set.files[i] + "')";
        return std::nullopt;
      }
      scores[i] = reference.scores[it->second];
      labels[i] = reference.labels[it->second];
    }
  }
  if (labels != set.labels) {
    why = "not paired: the labels differ from the reference's on the same images";
    return std::nullopt;
  }
  return scores;
}

inline SetSummary summarize_set(const ScoredSet& set, const ScoredSet* reference, bool is_reference) {
  SetSummary s{metrics::delong_ci(set.scores, set.labels), metrics::youden_optimal(set.scores, set.labels), {},
               set.labels.size(), std::size_t(std::count(set.labels.begin(), set.labels.end(), 1))};
  if (is_reference) s.vs_reference.note = "reference";
  else if (reference == nullptr) s.vs_reference.note = "no reference run with this seed";
  else if (const auto ref = paired_scores(set, *reference, s.vs_reference.note))
    s.vs_reference.test = metrics::delong_test(set.scores, *ref, set.labels);
  return s;
}

inline double mean(const std::vector<double>& x) {
  double sum = 0;
  for (double v : x) sum += v;
  return sum / double(x.size());
}

inline double sample_sd(const std::vector<double>& x) {
  if (x.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  const double m = mean(x);
  double squares = 0;
  for (double v : x) squares += (v - m) * (v - m);
  return std::sqrt(squares / double(x.size() - 1));
}

template <class Pick>
SetAggregate aggregate_set(const std::vector<const RunSummary*>& runs, Pick pick) {
  std::vector<double> auc, lower, upper, sensitivity, specificity;
  SetAggregate a{};
  for (const RunSummary* r : runs) {
    const SetSummary& s = pick(*r);
    auc.push_back(s.auc.auc);
    lower.push_back(s.auc.lower);
    upper.push_back(s.auc.upper);
    sensitivity.push_back(s.youden.sensitivity);
    specificity.push_back(s.youden.specificity);
    if (s.vs_reference.test) a.p_max = std::max(a.p_max.value_or(0.0), s.vs_reference.test->p_value);
    else if (s.vs_reference.note == "reference") a.note = "reference";
    else a.note = "seed " + std::to_string(r->run->seed) + ": " + s.vs_reference.note;
  }
  a.auc_mean = mean(auc);
  a.auc_sd = sample_sd(auc);
  a.ci_lower_mean = mean(lower);
  a.ci_upper_mean = mean(upper);
  a.sensitivity_mean = mean(sensitivity);
  a.specificity_mean = mean(specificity);
  return a;
}

}  // namespace detail

// One summary per run; `runs` must outlive the result. The reference case's run with the same
// seed is the partner of each paired test.
inline std::vector<RunSummary> summarize_runs(const std::vector<RunRecord>& runs, const std::string& reference) {
  std::map<long long, const RunRecord*> reference_by_seed;
  for (const auto& r : runs)
    if (r.slug == reference) reference_by_seed[r.seed] = &r;
  std::vector<RunSummary> out;
  for (const auto& r : runs) try {
      const auto it = reference_by_seed.find(r.seed);
      const RunRecord* partner = it == reference_by_seed.end() ? nullptr : it->second;
      const bool is_reference = r.slug == reference;
      RunSummary s{&r, detail::summarize_set(r.validation, partner ? &partner->validation : nullptr, is_reference),
                   detail::summarize_set(r.external, partner ? &partner->external : nullptr, is_reference),
                   {}, epochs_to_converge(r.history)};
      s.external_at_validation_threshold =
          metrics::at_threshold(r.external.scores, r.external.labels, s.validation.youden.threshold);
      out.push_back(std::move(s));
    } catch (const std::exception& e) {
      throw std::runtime_error("'" + r.file.string() + "': " + e.what());
    }
  return out;
}

// The known slugs in the paper's order; other slugs follow alphabetically.
inline const std::vector<std::string>& paper_case_order() {
  static const std::vector<std::string> order{"mid", "cl3", "cl4", "finetune", "low", "cl1", "cl2", "high", "hm"};
  return order;
}

inline std::vector<CaseSummary> summarize_cases(const std::vector<RunSummary>& runs) {
  std::map<std::string, std::vector<const RunSummary*>> by_slug;
  for (const auto& r : runs) by_slug[r.run->slug].push_back(&r);
  std::vector<std::string> slugs;
  for (const auto& s : paper_case_order())
    if (by_slug.count(s)) slugs.push_back(s);
  for (const auto& [slug, _] : by_slug)
    if (std::find(slugs.begin(), slugs.end(), slug) == slugs.end()) slugs.push_back(slug);
  std::vector<CaseSummary> out;
  for (const auto& slug : slugs) {
    auto& list = by_slug[slug];
    std::sort(list.begin(), list.end(), [](auto* a, auto* b) { return a->run->seed < b->run->seed; });
    std::vector<double> epochs, seconds;
    for (const auto* r : list) {
      epochs.push_back(r->epochs_to_converge);
      seconds.push_back(r->run->training_seconds);
    }
    const RunRecord& first = *list.front()->run;
    out.push_back({slug, first.case_name, first.type, list,
                   detail::aggregate_set(list, [](const RunSummary& r) -> const SetSummary& { return r.validation; }),
                   detail::aggregate_set(list, [](const RunSummary& r) -> const SetSummary& { return r.external; }),
                   detail::mean(epochs), detail::mean(seconds), first.trainable_parameters});
  }
  return out;
}

}  // namespace thaw::report
