// thaw/report/results_files.hpp — the report's machine-readable files: history.csv (every
// epoch of every run), results.json and results.csv (each case over its seeds, then each run).
// Each is written atomically, so a reader never sees half a table.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "thaw/io/atomic_file.hpp"
#include "thaw/report/run_summary.hpp"
#include "thaw/report/text.hpp"

namespace thaw::report {

inline void write_history_csv(const std::filesystem::path& file, const std::vector<RunRecord>& runs) {
  io::write_atomically(file, [&](std::ostream& out) {
    out << "case,seed,epoch,train_loss,validation_loss,lr,seconds\n";
    for (const auto& r : runs)
      for (const auto& e : r.history)
        out << csv_field(r.slug) << ',' << r.seed << ',' << e.epoch << ',' << exact(e.train_loss) << ','
            << exact(e.validation_loss) << ',' << exact(e.lr) << ',' << exact(e.seconds) << '\n';
  });
}

namespace detail {

inline nlohmann::json number_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); }

inline nlohmann::json operating_point_json(const metrics::OperatingPoint& p) {
  return {{"threshold", number_or_null(p.threshold)}, {"sensitivity", p.sensitivity},
          {"specificity", p.specificity}, {"accuracy", p.accuracy}};
}

inline nlohmann::json set_json(const SetSummary& s) {
  nlohmann::json j = {{"images", s.images},           {"positives", s.positives},
                      {"auc", s.auc.auc},             {"ci95", {s.auc.lower, s.auc.upper}},
                      {"se", s.auc.standard_error()}, {"youden", operating_point_json(s.youden)}};
  if (s.vs_reference.test)
    j["vs_reference"] = {{"p_value", s.vs_reference.test->p_value},
                         {"difference", s.vs_reference.test->difference},
                         {"z", number_or_null(s.vs_reference.test->z)}};
  else j["vs_reference"] = {{"p_value", nullptr}, {"note", s.vs_reference.note}};
  return j;
}

inline nlohmann::json aggregate_json(const SetAggregate& a) {
  return {{"auc_mean", a.auc_mean},
          {"auc_sd", number_or_null(a.auc_sd)},
          {"ci95_mean", {a.ci_lower_mean, a.ci_upper_mean}},
          {"p_vs_reference_max", a.p_max ? nlohmann::json(*a.p_max) : nlohmann::json()},
          {"note", a.note},
          {"sensitivity_mean", a.sensitivity_mean},
          {"specificity_mean", a.specificity_mean}};
}

}  // namespace detail

inline nlohmann::json results_json(const std::vector<CaseSummary>& cases, const std::vector<RunSummary>& runs,
                                   const std::string& reference) {
  nlohmann::json j;
  j["reference"] = reference;
  j["definitions"] = {
      {"auc", "area under the ROC curve; ci95: DeLong's 95% interval (Wald, clipped to [0, 1])"},
      {"p_value", "two-sided paired DeLong test of this case's AUC against the reference case's, on the same images "
                  "and seed"},
      {"epochs_to_converge", convergence_rule},
      {"youden", youden_rule},
      {"aggregation", aggregation_rule}};
  j["cases"] = nlohmann::json::array();
  for (const auto& c : cases) {
    nlohmann::json seeds = nlohmann::json::array();
    for (const auto* r : c.runs) seeds.push_back(r->run->seed);
    j["cases"].push_back({{"slug", c.slug},
                          {"case", c.case_name},
                          {"type", c.type},
                          {"seeds", seeds},
                          {"trainable_parameters", c.trainable_parameters},
                          {"training_seconds_mean", c.training_seconds_mean},
                          {"epochs_to_converge_mean", c.epochs_to_converge_mean},
                          {"validation", detail::aggregate_json(c.validation)},
                          {"external", detail::aggregate_json(c.external)}});
  }
  j["runs"] = nlohmann::json::array();
  for (const auto& r : runs) {
    auto external = detail::set_json(r.external);
    external["at_validation_threshold"] = detail::operating_point_json(r.external_at_validation_threshold);
    j["runs"].push_back({{"slug", r.run->slug},
                         {"case", r.run->case_name},
                         {"seed", r.run->seed},
                         {"trainable_parameters", r.run->trainable_parameters},
                         {"training_seconds", r.run->training_seconds},
                         {"prefix_seconds", r.run->prefix_seconds},
                         {"epochs", r.run->history.size()},
                         {"epochs_to_converge", r.epochs_to_converge},
                         {"validation", detail::set_json(r.validation)},
                         {"external", external}});
  }
  return j;
}

// One row per case (seed "all", aggregated as results.json's definitions say), then one per run.
inline void write_results_csv(const std::filesystem::path& file, const std::vector<CaseSummary>& cases) {
  io::write_atomically(file, [&](std::ostream& out) {
    out << "case,slug,seed,val_auc,val_auc_sd,val_ci95_low,val_ci95_high,val_p_vs_reference,val_sensitivity,"
           "val_specificity,ext_auc,ext_auc_sd,ext_ci95_low,ext_ci95_high,ext_p_vs_reference,ext_sensitivity,"
           "ext_specificity,epochs_to_within_5pct_of_min_val_loss,trainable_parameters,training_seconds,note\n";
    const auto p_text = [](const std::optional<double>& p) { return p ? exact(*p) : std::string(); };
    for (const auto& c : cases) {
      const auto& v = c.validation;
      const auto& e = c.external;
      std::string note = v.note == e.note ? v.note : v.note + (v.note.empty() ? "" : "; ") + e.note;
      out << csv_field(c.case_name) << ',' << c.slug << ",all," << exact(v.auc_mean) << ',' << exact(v.auc_sd) << ','
          << exact(v.ci_lower_mean) << ',' << exact(v.ci_upper_mean) << ',' << p_text(v.p_max) << ','
          << exact(v.sensitivity_mean) << ',' << exact(v.specificity_mean) << ',' << exact(e.auc_mean) << ','
          << exact(e.auc_sd) << ',' << exact(e.ci_lower_mean) << ',' << exact(e.ci_upper_mean) << ','
          << p_text(e.p_max) << ',' << exact(e.sensitivity_mean) << ',' << exact(e.specificity_mean) << ','
          << exact(c.epochs_to_converge_mean) << ',' << c.trainable_parameters << ','
          << exact(c.training_seconds_mean) << ',' << csv_field(note) << '\n';
    }
    for (const auto& c : cases)
      for (const auto* r : c.runs) {
        const auto p = [&](const SetSummary& s) {
          return s.vs_reference.test ? exact(s.vs_reference.test->p_value) : std::string();
        };
        const auto& v = r->validation;
        const auto& e = r->external;
        out << csv_field(c.case_name) << ',' << c.slug << ',' << r->run->seed << ',' << exact(v.auc.auc) << ",,"
            << exact(v.auc.lower) << ',' << exact(v.auc.upper) << ',' << p(v) << ',' << exact(v.youden.sensitivity)
            << ',' << exact(v.youden.specificity) << ',' << exact(e.auc.auc) << ",," << exact(e.auc.lower) << ','
            << exact(e.auc.upper) << ',' << p(e) << ',' << exact(e.youden.sensitivity) << ','
            << exact(e.youden.specificity) << ',' << r->epochs_to_converge << ',' << r->run->trainable_parameters
            << ',' << exact(r->run->training_seconds) << ','
            << csv_field(v.vs_reference.test ? std::string() : v.vs_reference.note) << '\n';
      }
  });
}

inline void write_results_json(const std::filesystem::path& file, const nlohmann::json& results) {
  io::write_atomically(file, [&](std::ostream& out) { out << results.dump(2) << '\n'; });
}

}  // namespace thaw::report
