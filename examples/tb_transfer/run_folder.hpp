// examples/tb_transfer/run_folder.hpp — what tb_transfer keeps in --out besides the report: the
// settings a resumed run must share, the finished runs, and where the frozen-prefix time went.
// Every file is written atomically.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "options.hpp"
#include "thaw/io/atomic_file.hpp"

namespace tb_transfer {

namespace fs = std::filesystem;
using nlohmann::json;

inline std::string seed_folder(std::uint64_t seed) { return "seed-" + std::to_string(seed); }

inline json read_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read '" + file.string() + "'");
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded())
    throw std::runtime_error("'" + file.string() + "' is not valid JSON; delete it to redo that part");
  return j;
}

inline void write_json(const fs::path& file, const json& j) {
  thaw::io::write_atomically(file, [&](std::ostream& o) { o << j.dump(1) << "\n"; });
}

// settings.json: what a resumed run must share with the first. Cases and seeds may differ
// between invocations (each case and seed is a separate run); the file records their union.
inline void check_and_record_settings(const fs::path& out, json settings) {
  const fs::path file = out / "settings.json";
  const auto protocol = [](json s) {
    for (const char* k : {"cases", "seeds", "thaw_version", "command"}) s.erase(k);
    return s;
  };
  if (fs::exists(file)) {
    const json old = read_json(file);
    if (const json wanted = protocol(settings); protocol(old) != wanted) {
      std::string differing;
      for (const auto& [key, value] : wanted.items())
        if (!old.contains(key) || old[key] != value) differing += (differing.empty() ? "" : ", ") + key;
      throw std::runtime_error("'" + out.string() + "' holds a run with other settings (" + file.string() + ": " +
                               differing + "); pass another --out, or delete that folder to start over");
    }
    std::vector<std::string> cases;
    for (auto s : slugs)
      if (std::count(old["cases"].begin(), old["cases"].end(), s) || std::count(settings["cases"].begin(), settings["cases"].end(), s))
        cases.emplace_back(s);
    settings["cases"] = cases;
    settings["seeds"] = std::max(old["seeds"].get<std::size_t>(), settings["seeds"].get<std::size_t>());
  }
  write_json(file, settings);
}

// The finished run.json files of the selected cases and seeds, by case.
inline std::map<std::size_t, std::vector<json>> finished_runs(const fs::path& out, const Options& opt) {
  std::map<std::size_t, std::vector<json>> runs;
  for (std::size_t i = 0; i < case_count; ++i)
    for (std::size_t k = 0; opt.selected[i] && k < opt.seeds; ++k) {
      const fs::path file = out / "runs" / std::string(slugs[i]) / seed_folder(opt.seed + k) / "run.json";
      if (fs::exists(file)) runs[i].push_back(read_json(file));
    }
  return runs;
}

// timing.json, from the frozen-prefix time each group's shared cache measured: shared_seconds as
// run; per_case_seconds what a private cache per case would have cost (every train and
// validation image once per case); none_seconds what no cache would (every image every epoch).
inline void write_timing(const fs::path& out, const std::map<std::size_t, std::vector<json>>& runs, double wall_seconds) {
  json cases = json::object();
  double total = 0, shared = 0, per_case = 0, none = 0;
  for (const auto& [i, list] : runs) {
    double seconds = 0;
    for (const json& r : list) {
      seconds += r["training_seconds"].get<double>();
      const json& prefix = r["prefix_detail"];
      const double images = prefix["images"]["train"].get<double>() + prefix["images"]["validation"].get<double>();
      const double per_image = prefix["seconds_per_image"];
      shared += r["prefix_seconds"].get<double>();
      per_case += per_image * images;
      none += per_image * images * prefix["epochs"].get<double>();
    }
    cases[std::string(slugs[i])] = seconds;
    total += seconds;
  }
  write_json(out / "timing.json", {{"total_seconds", total}, {"wall_seconds_this_invocation", wall_seconds},
                                   {"prefix", {{"shared_seconds", shared}, {"per_case_seconds", per_case},
                                               {"none_seconds", none},
                                               {"how", "shared: measured by each sharing group's cache; per case and "
                                                       "none: its measured seconds per image times the images a "
                                                       "private cache or no cache would run"}}},
                                   {"cases", cases}});
}

}  // namespace tb_transfer
