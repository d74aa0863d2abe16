// examples/cli_options.hpp — what the example programs share around CLI11: whole- and positive-number checks
// with a plain message, and parsing that answers --help with the usage and anything wrong with
// one line on stderr (exit 2), so scripts can tell a bad command line from a failed run (exit 1).
#pragma once

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include <CLI/CLI.hpp>

namespace thaw_examples {

// A whole number in [minimum, maximum], said as such (CLI11's Range prints floating-point ends).
inline CLI::Validator whole_number(long long minimum, long long maximum = std::numeric_limits<long long>::max()) {
  const bool bounded = maximum != std::numeric_limits<long long>::max();
  const std::string range = bounded ? std::to_string(minimum) + ".." + std::to_string(maximum)
                                    : ">= " + std::to_string(minimum);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        long long value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc{} || end != text.data() + text.size() || value < minimum || value > maximum)
          return "must be a whole number " + range + ", got '" + text + "'";
        return {};
      },
      range);
}

// A finite number above zero (a learning rate), said as such.
inline CLI::Validator positive_real() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc{} || end != text.data() + text.size() || !(value > 0) || !std::isfinite(value))
          return "must be a positive number, got '" + text + "'";
        return {};
      },
      "> 0");
}

inline void parse_or_exit(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::exit(app.exit(e));
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s (see %s --help)\n", app.get_name().c_str(), e.what(), app.get_name().c_str());
    std::exit(2);
  }
}

}  // namespace thaw_examples
