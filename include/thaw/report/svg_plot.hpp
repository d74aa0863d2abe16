// thaw/report/svg_plot.hpp — a small hand-written SVG line plot (axes, ticks, labels, legend,
// one <polyline> per series), enough for the report's ROC and loss curves without a plotting
// library; the files open in any browser and stay readable as text.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "thaw/report/text.hpp"

namespace thaw::report {

struct Series {
  std::string name;
  std::vector<double> x, y;  // points with a non-finite coordinate are left out
  std::string color;
  bool dashed = false;
  double width = 2.0;
};

struct LinePlot {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::pair<double, double> x_range{NAN, NAN}, y_range{NAN, NAN};  // NaN ends: from the data
  bool chance_diagonal = false;  // the y = x line of a ROC plot
  int width = 760, height = 440;
};

// Tableau 10: distinct for most color vision, readable on white.
inline const std::string& series_color(std::size_t i) {
  static const std::vector<std::string> palette{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                                "#b8860b", "#b07aa1", "#ff9da7", "#9c755f", "#6b6b6b"};
  return palette[i % palette.size()];
}

namespace detail {

// Tick marks at 1, 2 or 5 times a power of ten, about `target` of them across [low, high].
inline std::vector<double> nice_ticks(double low, double high, int target = 6) {
  const double raw = (high - low) / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(low / step - 1e-9) * step; t <= high + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

inline std::string tick_label(double value, const std::vector<double>& ticks) {
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1.0;
  const int digits = std::max(0, int(std::ceil(-std::log10(step) - 1e-9)));
  return fixed(value, digits);
}

inline std::pair<double, double> data_range(const LinePlot& plot, bool along_x) {
  double low = std::numeric_limits<double>::infinity(), high = -low;
  for (const auto& s : plot.series)
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      const double v = along_x ? s.x[i] : s.y[i];
      low = std::min(low, v);
      high = std::max(high, v);
    }
  if (!std::isfinite(low)) return {0.0, 1.0};
  if (high - low < 1e-12) return {low - 0.5, high + 0.5};
  if (!along_x) {  // a little air above and below the curves
    const double pad = 0.05 * (high - low);
    return {low - pad, high + pad};
  }
  return {low, high};
}

}  // namespace detail

inline std::string svg_line_plot(const LinePlot& plot) {
  // Plain variables, not structured bindings: the lambdas below capture them (C++20 allows
  // capturing bindings; clang 14, the sanitizer build's compiler, does not).
  double x0 = plot.x_range.first, x1 = plot.x_range.second, y0 = plot.y_range.first, y1 = plot.y_range.second;
  if (std::isnan(x0) || std::isnan(x1)) std::tie(x0, x1) = detail::data_range(plot, true);
  if (std::isnan(y0) || std::isnan(y1)) std::tie(y0, y1) = detail::data_range(plot, false);
  const double left = 70, right = plot.width - 210.0, top = 44, bottom = plot.height - 58.0;
  const auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  const auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };
  const auto at = [](double v) { return fixed(v, 1); };

  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << plot.width << "\" height=\"" << plot.height
      << "\" viewBox=\"0 0 " << plot.width << ' ' << plot.height
      << "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"13\">\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  svg << "<text x=\"" << at((left + right) / 2) << "\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" "
      << "font-weight=\"bold\">" << xml_escape(plot.title) << "</text>\n";
  svg << "<defs><clipPath id=\"area\"><rect x=\"" << at(left) << "\" y=\"" << at(top) << "\" width=\""
      << at(right - left) << "\" height=\"" << at(bottom - top) << "\"/></clipPath></defs>\n";

  // Grid and ticks.
  svg << "<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  const auto x_ticks = detail::nice_ticks(x0, x1), y_ticks = detail::nice_ticks(y0, y1);
  for (double t : x_ticks)
    svg << "<line x1=\"" << at(px(t)) << "\" y1=\"" << at(top) << "\" x2=\"" << at(px(t)) << "\" y2=\"" << at(bottom)
        << "\"/>\n";
  for (double t : y_ticks)
    svg << "<line x1=\"" << at(left) << "\" y1=\"" << at(py(t)) << "\" x2=\"" << at(right) << "\" y2=\"" << at(py(t))
        << "\"/>\n";
  svg << "</g>\n<g fill=\"#333333\">\n";
  for (double t : x_ticks)
    svg << "<text x=\"" << at(px(t)) << "\" y=\"" << at(bottom + 18) << "\" text-anchor=\"middle\">"
        << detail::tick_label(t, x_ticks) << "</text>\n";
  for (double t : y_ticks)
    svg << "<text x=\"" << at(left - 8) << "\" y=\"" << at(py(t) + 4) << "\" text-anchor=\"end\">"
        << detail::tick_label(t, y_ticks) << "</text>\n";
  svg << "</g>\n";
  svg << "<rect x=\"" << at(left) << "\" y=\"" << at(top) << "\" width=\"" << at(right - left) << "\" height=\""
      << at(bottom - top) << "\" fill=\"none\" stroke=\"#555555\"/>\n";
  svg << "<text x=\"" << at((left + right) / 2) << "\" y=\"" << at(bottom + 44) << "\" text-anchor=\"middle\">"
      << xml_escape(plot.x_label) << "</text>\n";
  svg << "<text transform=\"translate(18 " << at((top + bottom) / 2) << ") rotate(-90)\" text-anchor=\"middle\">"
      << xml_escape(plot.y_label) << "</text>\n";
  if (plot.chance_diagonal)
    svg << "<line x1=\"" << at(px(0)) << "\" y1=\"" << at(py(0)) << "\" x2=\"" << at(px(1)) << "\" y2=\"" << at(py(1))
        << "\" stroke=\"#999999\" stroke-dasharray=\"4 4\" clip-path=\"url(#area)\"/>\n";

  // One polyline per series, then the legend beside the plot.
  for (const auto& s : plot.series) {
    svg << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"" << fixed(s.width, 1) << "\""
        << (s.dashed ? " stroke-dasharray=\"7 4\"" : "") << " stroke-linejoin=\"round\" clip-path=\"url(#area)\" points=\"";
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) svg << at(px(s.x[i])) << ',' << at(py(s.y[i])) << ' ';
    svg << "\"><title>" << xml_escape(s.name) << "</title></polyline>\n";
  }
  double legend_y = top + 8;
  for (const auto& s : plot.series) {
    svg << "<line x1=\"" << at(right + 16) << "\" y1=\"" << at(legend_y) << "\" x2=\"" << at(right + 44) << "\" y2=\""
        << at(legend_y) << "\" stroke=\"" << s.color << "\" stroke-width=\"" << fixed(std::max(s.width, 2.5), 1)
        << "\"" << (s.dashed ? " stroke-dasharray=\"7 4\"" : "") << "/>\n";
    svg << "<text x=\"" << at(right + 52) << "\" y=\"" << at(legend_y + 4) << "\">" << xml_escape(s.name)
        << "</text>\n";
    legend_y += 21;
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace thaw::report
