// thaw/report/text.hpp — the few text helpers the report's files share: numbers at a fixed
// precision (empty for NaN, so CSV cells stay blank), and escaping for XML/HTML and CSV.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

namespace thaw::report {

inline std::string fixed(double x, int digits) {
  if (!std::isfinite(x)) return {};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, x);
  return buffer;
}

// Round-trip precision for machine-read files.
inline std::string exact(double x) {
  if (!std::isfinite(x)) return {};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", x);
  return buffer;
}

// p-values: small ones in scientific notation so they do not all read 0.000.
inline std::string p_value_text(double p) {
  if (!std::isfinite(p)) return {};
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, p < 0.001 ? "%.1e" : "%.3f", p);
  return buffer;
}

inline std::string xml_escape(const std::string& text) {
  std::string out;
  for (const char c : text) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  return out;
}

inline std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace thaw::report
