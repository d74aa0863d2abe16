// thaw/report/report.hpp — the experiment's report in one call: reads what the runner left in
// OUT (settings.json, runs/*/seed-*/run.json, optional figures.json and timing.json) and writes
// history.csv, results.json, results.csv, the SVG curves and index.html beside them.
#pragma once

#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "thaw/io/atomic_file.hpp"
#include "thaw/report/curves.hpp"
#include "thaw/report/html_page.hpp"
#include "thaw/report/results_files.hpp"
#include "thaw/report/run_record.hpp"
#include "thaw/report/run_summary.hpp"

namespace thaw::report {

namespace detail {

inline std::optional<std::vector<FigureEntry>> read_figures(const std::filesystem::path& out) {
  const auto file = out / "figures" / "figures.json";
  if (!std::filesystem::exists(file)) return std::nullopt;
  const auto list = read_json_file(file);
  if (!list.is_array()) throw std::runtime_error("'" + file.string() + "' must be a JSON array of figures");
  std::vector<FigureEntry> figures;
  for (const auto& entry : list) {
    const Fields f{file, "figure " + std::to_string(figures.size() + 1) + " "};
    FigureEntry e{f.text(entry, "title"), f.text(entry, "file"), entry.contains("case") ? f.text(entry, "case") : ""};
    const std::filesystem::path relative(e.file);
    if (relative.is_absolute() || e.file.find("..") != std::string::npos)
      f.fail("\"file\" must be a path inside the output folder, got '" + e.file + "'");
    if (!std::filesystem::is_regular_file(out / relative))
      f.fail("names '" + e.file + "', which is not in '" + out.string() + "'");
    figures.push_back(std::move(e));
  }
  return figures;
}

inline std::optional<Timing> read_timing(const std::filesystem::path& out) {
  const auto file = out / "timing.json";
  if (!std::filesystem::exists(file)) return std::nullopt;
  const auto j = read_json_file(file);
  const Fields f{file, ""}, prefix{file, "\"prefix\" "}, cases{file, "\"cases\" "};
  Timing t{f.number(j, "total_seconds"), prefix.number(f.at(j, "prefix"), "shared_seconds"),
           prefix.number(f.at(j, "prefix"), "per_case_seconds"), prefix.number(f.at(j, "prefix"), "none_seconds"), {}};
  if (j.contains("cases")) {
    const auto& by_case = f.at(j, "cases");
    if (!by_case.is_object()) f.fail("\"cases\" must be an object of case: seconds");
    for (const auto& [slug, _] : by_case.items()) t.cases.emplace_back(slug, cases.number(by_case, slug));
    const auto rank = [](const std::string& slug) {  // the paper's order, as in the results table
      const auto& order = paper_case_order();
      return std::size_t(std::find(order.begin(), order.end(), slug) - order.begin());
    };
    std::stable_sort(t.cases.begin(), t.cases.end(), [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
  }
  return t;
}

inline void write_text(const std::filesystem::path& file, const std::string& text) {
  io::write_atomically(file, [&](std::ostream& o) { o << text; });
}

inline std::string console_table(const std::vector<CaseSummary>& cases, const std::string& reference) {
  std::string table;
  char line[320];
  std::snprintf(line, sizeof line, "%-16s %-15s %-22s %-17s %-11s %6s %10s %8s\n", "case", "AUC val (+-SD)",
                "AUC ext [95% CI]", ("p vs " + reference + " (ext)").c_str(), "sens/spec", "epochs", "trainable",
                "seconds");
  table += line;
  for (const auto& c : cases) {
    const auto& v = c.validation;
    const auto& e = c.external;
    const std::string val = fixed(v.auc_mean, 3) + (std::isfinite(v.auc_sd) ? " +- " + fixed(v.auc_sd, 3) : "");
    const std::string ext = fixed(e.auc_mean, 3) + " [" + fixed(e.ci_lower_mean, 3) + ", " + fixed(e.ci_upper_mean, 3) + "]";
    const std::string p = e.p_max ? p_value_text(*e.p_max) + (e.note.empty() ? "" : " *")
                                  : (e.note == "reference" ? "ref." : "n/a");
    const std::string ss = fixed(e.sensitivity_mean, 2) + "/" + fixed(e.specificity_mean, 2);
    std::snprintf(line, sizeof line, "%-16.16s %-15s %-22s %-17s %-11s %6.1f %10lld %8.1f\n", c.case_name.c_str(),
                  val.c_str(), ext.c_str(), p.c_str(), ss.c_str(), c.epochs_to_converge_mean, c.trainable_parameters,
                  c.training_seconds_mean);
    table += line;
  }
  table += "(means over seeds; CI: mean of the seeds' DeLong intervals; p: largest over seeds, * some seeds not "
           "paired; sens/spec at Youden's threshold on the external set; epochs: to within 5% of the lowest "
           "validation loss)\n";
  return table;
}

}  // namespace detail

// Writes the report into `out` and returns the console table. `reference`: the slug every case
// is tested against. Throws std::runtime_error naming the file and what is wrong with it.
inline std::string write_report(const std::filesystem::path& out, const std::string& reference = "mid") {
  if (!std::filesystem::is_directory(out))
    throw std::runtime_error("'" + out.string() + "' is not a folder: pass the experiment's output folder");
  const auto settings_file = out / "settings.json";
  if (!std::filesystem::exists(settings_file))
    throw std::runtime_error("'" + settings_file.string() + "' is missing: is '" + out.string() +
                             "' the experiment's output folder?");
  const auto settings = read_json_file(settings_file);
  const auto figures = detail::read_figures(out);
  const auto timing = detail::read_timing(out);
  const auto runs = read_runs(out);
  if (std::none_of(runs.begin(), runs.end(), [&](const RunRecord& r) { return r.slug == reference; }))
    throw std::runtime_error("no run of the reference case \"" + reference + "\" in '" + (out / "runs").string() +
                             "': pass another reference or finish that case");
  const auto summaries = summarize_runs(runs, reference);
  const auto cases = summarize_cases(summaries);

  write_history_csv(out / "history.csv", runs);
  write_results_json(out / "results.json", results_json(cases, summaries, reference));
  write_results_csv(out / "results.csv", cases);
  const std::vector<std::pair<std::string, std::string>> curves{
      {"roc_validation.svg", "ROC curves on the validation set, one per case (its first seed); the legend gives "
                             "each curve's AUC, the dashed diagonal is chance."},
      {"roc_external.svg", "ROC curves on the external test site, one per case (its first seed): how well each "
                           "freeze pattern transfers to images from another hospital."},
      {"loss_validation.svg", "Validation loss per epoch, one line per case (first seed; the thick line is the "
                              "reference case): the paper's Figs. 5-7."},
      {"loss_train.svg", "Training loss per epoch, one line per case (first seed); compare with the validation "
                         "loss above to see over-fitting."}};
  detail::write_text(out / curves[0].first, roc_svg(cases, false, reference));
  detail::write_text(out / curves[1].first, roc_svg(cases, true, reference));
  detail::write_text(out / curves[2].first, loss_svg(cases, true, reference));
  detail::write_text(out / curves[3].first, loss_svg(cases, false, reference));
  detail::write_text(out / "index.html", html_page({cases, reference, settings, figures, timing, curves}));
  return detail::console_table(cases, reference);
}

}  // namespace thaw::report
