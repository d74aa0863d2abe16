// thaw/report/curves.hpp — the report's SVG figures: ROC curves of every case on one test set,
// and loss per epoch of every case (the paper's Figs. 5-7), each case drawn from its first
// (lowest) seed so every curve is one real run rather than an average of several.
#pragma once

#include <string>
#include <vector>

#include "thaw/metrics/roc.hpp"
#include "thaw/report/run_summary.hpp"
#include "thaw/report/svg_plot.hpp"

namespace thaw::report {

namespace detail {
inline Series case_series(const CaseSummary& c, std::size_t index, const std::string& reference) {
  Series s{c.case_name + (c.slug == reference ? " (ref.)" : ""), {}, {}, series_color(index)};
  if (c.slug == reference) s.width = 3.2;
  return s;
}
}  // namespace detail

// external = false: the validation set.
inline std::string roc_svg(const std::vector<CaseSummary>& cases, bool external, const std::string& reference) {
  LinePlot plot;
  plot.title = std::string("ROC curves, ") + (external ? "external test set" : "validation set") +
               " (first seed of each case)";
  plot.x_label = "false positive rate (1 - specificity)";
  plot.y_label = "true positive rate (sensitivity)";
  plot.x_range = plot.y_range = {0.0, 1.0};
  plot.chance_diagonal = true;
  plot.height = 520;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const RunRecord& run = *cases[i].runs.front()->run;
    const ScoredSet& set = external ? run.external : run.validation;
    const auto curve = metrics::roc_curve(set.scores, set.labels);
    auto s = detail::case_series(cases[i], i, reference);
    const auto& summary = external ? cases[i].runs.front()->external : cases[i].runs.front()->validation;
    s.name.append(" ").append(fixed(summary.auc.auc, 3));  // (not " " + ...: g++ 12 -O3 warns falsely)
    s.x = curve.fpr;
    s.y = curve.tpr;
    plot.series.push_back(std::move(s));
  }
  return svg_line_plot(plot);
}

// validation = false: the training loss.
inline std::string loss_svg(const std::vector<CaseSummary>& cases, bool validation, const std::string& reference) {
  LinePlot plot;
  plot.title = std::string(validation ? "Validation" : "Training") + " loss per epoch (first seed of each case)";
  plot.x_label = "epoch";
  plot.y_label = validation ? "validation loss" : "training loss";
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto s = detail::case_series(cases[i], i, reference);
    s.dashed = !validation;
    for (const auto& e : cases[i].runs.front()->run->history) {
      s.x.push_back(e.epoch);
      s.y.push_back(validation ? e.validation_loss : e.train_loss);
    }
    plot.series.push_back(std::move(s));
  }
  return svg_line_plot(plot);
}

}  // namespace thaw::report
