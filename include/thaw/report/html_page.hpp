// thaw/report/html_page.hpp — index.html: one self-contained page (inline CSS, no script, no
// outside address) that a reader opens from OUT: the results table, the SVG curves, the timing
// of prefix sharing, the deconvnet pictures and the settings, each with a caption.
#pragma once

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "thaw/report/run_summary.hpp"
#include "thaw/report/text.hpp"

namespace thaw::report {

struct FigureEntry {
  std::string title, file, slug;  // file: relative to OUT
};

struct Timing {
  double total_seconds, shared_seconds, per_case_seconds, none_seconds;
  std::vector<std::pair<std::string, double>> cases;
};

struct PageInputs {
  const std::vector<CaseSummary>& cases;
  std::string reference;
  nlohmann::json settings;
  std::optional<std::vector<FigureEntry>> figures;  // nullopt: figures.json absent
  std::optional<Timing> timing;                     // nullopt: timing.json absent
  std::vector<std::pair<std::string, std::string>> curves;  // (svg file, caption)
};

namespace detail {

inline const char* page_style() {
  return R"(body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;background:#f6f7f9;margin:0}
main{max-width:1120px;margin:0 auto;padding:24px 32px 48px;background:#fff;box-shadow:0 0 12px rgba(0,0,0,.06)}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:32px 0 8px;border-bottom:2px solid #4e79a7;padding-bottom:4px}
p.lead{color:#555;margin:0 0 12px}p.note{color:#555;font-size:14px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{padding:5px 7px;border-bottom:1px solid #e2e2e2;text-align:right;white-space:nowrap}
th{background:#eef2f7;font-weight:600}td.name,th.name{text-align:left}tr.reference td{background:#fff7e0}
tbody tr:nth-child(even):not(.reference) td{background:#fafbfc}code{font-size:13px}
figure{margin:16px 0;display:inline-block;vertical-align:top}figure img{max-width:100%;border:1px solid #ddd}
figcaption{font-size:14px;color:#444;max-width:760px;margin-top:4px}
.bar{height:14px;background:#4e79a7;display:inline-block;vertical-align:middle;margin-right:6px}
.absent{color:#a33;font-style:italic}dl.defs dt{font-weight:600}dl.defs dd{margin:0 0 6px 16px;color:#444}
table.settings td{text-align:left;white-space:normal}table.settings td.key{font-weight:600;white-space:nowrap})";
}

inline std::string settings_rows(const nlohmann::json& value, const std::string& prefix) {
  std::string rows;
  if (value.is_object() && !value.empty()) {
    for (const auto& [key, item] : value.items())
      rows += settings_rows(item, prefix.empty() ? key : prefix + "." + key);
    return rows;
  }
  const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  return "<tr><td class=\"key\">" + xml_escape(prefix) + "</td><td><code>" + xml_escape(text) + "</code></td></tr>\n";
}

inline std::string p_cell(const SetAggregate& a) {
  if (a.p_max) return p_value_text(*a.p_max) + (a.note.empty() ? "" : " *");
  return a.note == "reference" ? "ref." : "<span class=\"absent\" title=\"" + xml_escape(a.note) + "\">n/a</span>";
}

inline std::string results_table(const std::vector<CaseSummary>& cases, const std::string& reference) {
  std::ostringstream t;
  t << "<table id=\"results\"><thead><tr><th class=\"name\">case</th><th class=\"name\">CL1..CL5</th>"
       "<th>seeds</th><th>AUC val<br>mean &plusmn; SD</th><th>AUC ext<br>mean &plusmn; SD</th>"
       "<th>AUC ext<br>95% CI</th><th>p vs " << xml_escape(reference) << "<br>val / ext</th>"
       "<th>sens / spec<br>ext (Youden)</th><th>epochs to<br>converge</th><th>trainable<br>parameters</th>"
       "<th>training<br>seconds</th></tr></thead><tbody>\n";
  for (const auto& c : cases) {
    const auto pm = [](const SetAggregate& a) {
      return fixed(a.auc_mean, 3) + (std::isfinite(a.auc_sd) ? " &plusmn; " + fixed(a.auc_sd, 3) : "");
    };
    std::string pattern;  // "AlexNet<Freeze, Train, ...>" -> "FTTF..."
    for (std::size_t at = c.type.find('<'); at != std::string::npos && at + 1 < c.type.size();
         at = c.type.find_first_of(",>", at + 1)) {
      const auto begin = c.type.find_first_not_of(" <,", at);
      if (begin != std::string::npos && (c.type[begin] == 'F' || c.type[begin] == 'T')) pattern += c.type[begin];
    }
    t << "<tr" << (c.slug == reference ? " class=\"reference\"" : "") << "><td class=\"name\">"
      << xml_escape(c.case_name) << "</td><td class=\"name\" title=\"" << xml_escape(c.type) << "\"><code>"
      << xml_escape(pattern.empty() ? c.type : pattern) << "</code></td><td>" << c.runs.size() << "</td><td>"
      << pm(c.validation) << "</td><td>" << pm(c.external) << "</td><td>[" << fixed(c.external.ci_lower_mean, 3)
      << ", " << fixed(c.external.ci_upper_mean, 3) << "]</td><td>" << p_cell(c.validation) << " / "
      << p_cell(c.external) << "</td><td>" << fixed(c.external.sensitivity_mean, 2) << " / "
      << fixed(c.external.specificity_mean, 2) << "</td><td>" << fixed(c.epochs_to_converge_mean, 1) << "</td><td>"
      << c.trainable_parameters << "</td><td>" << fixed(c.training_seconds_mean, 1) << "</td></tr>\n";
  }
  t << "</tbody></table>\n";
  return t.str();
}

inline std::string timing_section(const std::optional<Timing>& timing) {
  if (!timing) return "<p class=\"absent\">timing.json is absent: the runner wrote no timing.</p>\n";
  std::ostringstream t;
  const double longest = std::max({timing->shared_seconds, timing->per_case_seconds, timing->none_seconds, 1e-9});
  const auto bar = [&](double seconds) {
    return "<span class=\"bar\" style=\"width:" + fixed(240 * seconds / longest, 0) + "px\"></span>" +
           fixed(seconds, 1) + " s";
  };
  t << "<p>Whole experiment: <b>" << fixed(timing->total_seconds, 1) << " s</b>. Frozen lower layers compute the "
       "same features for every case that freezes them, so the runner can compute them once and share them.</p>\n"
       "<table id=\"timing\"><thead><tr><th class=\"name\">frozen-prefix features computed</th>"
       "<th class=\"name\">seconds</th></tr></thead><tbody>\n"
    << "<tr><td class=\"name\">once, shared by the cases (as run)</td><td class=\"name\">" << bar(timing->shared_seconds)
    << "</td></tr>\n<tr><td class=\"name\">once per case</td><td class=\"name\">" << bar(timing->per_case_seconds)
    << "</td></tr>\n<tr><td class=\"name\">not cached (every epoch)</td><td class=\"name\">"
    << bar(timing->none_seconds) << "</td></tr>\n</tbody></table>\n";
  if (!timing->cases.empty()) {
    t << "<table id=\"case-timing\"><thead><tr><th class=\"name\">case</th><th>seconds</th></tr></thead><tbody>\n";
    for (const auto& [slug, seconds] : timing->cases)
      t << "<tr><td class=\"name\">" << xml_escape(slug) << "</td><td>" << fixed(seconds, 1) << "</td></tr>\n";
    t << "</tbody></table>\n";
  }
  return t.str();
}

}  // namespace detail

inline std::string html_page(const PageInputs& in) {
  std::size_t runs = 0;
  for (const auto& c : in.cases) runs += c.runs.size();
  std::ostringstream page;
  page << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>thaw report: freeze patterns of AlexNet compared by AUC</title>\n<style>"
       << detail::page_style() << "</style></head>\n<body><main>\n"
       << "<h1>Freeze patterns of AlexNet compared by AUC</h1>\n<p class=\"lead\">" << in.cases.size() << " cases, "
       << runs << " runs; reference case: <b>" << xml_escape(in.reference)
       << "</b>. Machine-readable: <a href=\"results.json\">results.json</a>, <a href=\"results.csv\">results.csv</a>, "
          "<a href=\"history.csv\">history.csv</a>.</p>\n";

  page << "<h2>Results</h2>\n<p class=\"note\">Per case over its seeds. <i>val</i>: the validation split of the "
          "training site; <i>ext</i>: the external test site. The 95% CI is DeLong's, averaged over seeds (the "
          "typical interval of one run); p is the paired DeLong test against the reference case on the same images "
          "and seed, the largest over seeds (* some seeds could not be paired; n/a: none could). Sensitivity and "
          "specificity at Youden's threshold on the external set. CL1..CL5: <code>T</code> trained, <code>F</code> "
          "frozen.</p>\n"
       << detail::results_table(in.cases, in.reference)
       << "<dl class=\"defs\"><dt>epochs to converge</dt><dd>" << xml_escape(convergence_rule)
       << "</dd><dt>over seeds</dt><dd>" << xml_escape(aggregation_rule) << "</dd></dl>\n";

  page << "<h2>Curves</h2>\n";
  for (const auto& [file, caption] : in.curves)
    page << "<figure><img src=\"" << xml_escape(file) << "\" alt=\"" << xml_escape(caption)
         << "\"><figcaption>" << xml_escape(caption) << "</figcaption></figure>\n";

  page << "<h2>Timing</h2>\n" << detail::timing_section(in.timing);

  page << "<h2>What the layers see (deconvnet)</h2>\n";
  if (!in.figures) page << "<p class=\"absent\">figures.json is absent: the runner drew no deconvnet pictures.</p>\n";
  else if (in.figures->empty()) page << "<p class=\"absent\">figures.json lists no pictures.</p>\n";
  else {
    page << "<p class=\"note\">For each image, the deconvnet projection of its strongest activation in one conv layer "
            "back to pixels (the paper's Figs. 8-10).</p>\n";
    for (const auto& f : *in.figures)
      page << "<figure><img src=\"" << xml_escape(f.file) << "\" alt=\"" << xml_escape(f.title) << "\"><figcaption>"
           << xml_escape(f.title) << (f.slug.empty() ? "" : " (case " + xml_escape(f.slug) + ")")
           << "</figcaption></figure>\n";
  }

  page << "<h2>Settings</h2>\n<table class=\"settings\" id=\"settings\"><tbody>\n"
       << detail::settings_rows(in.settings, "") << "</tbody></table>\n</main></body></html>\n";
  return page.str();
}

}  // namespace thaw::report
