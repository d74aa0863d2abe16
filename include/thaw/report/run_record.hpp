// thaw/report/run_record.hpp — one finished training run (case x seed) as the experiment
// runner leaves it in OUT/runs/<slug>/seed-<seed>/run.json, read back with checks that name the
// file and the field, so a broken or half-written run is reported instead of averaged in.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace thaw::report {

struct EpochRecord {
  int epoch;
  double train_loss, validation_loss, lr, seconds;  // validation_loss: NaN where the runner wrote null
};

// The scores (logits) a model gave one test set, with the true labels and image names.
struct ScoredSet {
  std::vector<double> scores;
  std::vector<int> labels;          // 0 or 1
  std::vector<std::string> files;   // may be empty: then the set is paired by position only
};

struct RunRecord {
  std::filesystem::path file;  // where it was read from, for messages
  std::string case_name, slug, type;
  long long seed = 0;
  long long trainable_parameters = 0;
  double training_seconds = 0, prefix_seconds = 0;
  std::vector<EpochRecord> history;
  ScoredSet validation, external;
};

// Any JSON file, parse errors turned into a message that names it.
inline nlohmann::json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open '" + path.string() + "'");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("'" + path.string() + "' is not valid JSON (" + e.what() + ")");
  }
}

namespace detail {

struct Fields {  // reads members of one JSON object, naming the file and the path on failure
  const std::filesystem::path& file;
  std::string where;

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("'" + file.string() + "': " + where + what);
  }
  const nlohmann::json& at(const nlohmann::json& object, const std::string& key) const {
    if (!object.is_object()) fail("is not a JSON object");
    const auto it = object.find(key);
    if (it == object.end()) fail("has no \"" + key + "\"");
    return *it;
  }
  double number(const nlohmann::json& object, const std::string& key, bool null_is_nan = false) const {
    const auto& v = at(object, key);
    if (null_is_nan && v.is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (!v.is_number()) fail("\"" + key + "\" must be a number, got " + v.dump());
    return v.get<double>();
  }
  long long integer(const nlohmann::json& object, const std::string& key) const {
    const auto& v = at(object, key);
    if (!v.is_number_integer()) fail("\"" + key + "\" must be a whole number, got " + v.dump());
    return v.get<long long>();
  }
  std::string text(const nlohmann::json& object, const std::string& key) const {
    const auto& v = at(object, key);
    if (!v.is_string()) fail("\"" + key + "\" must be a string, got " + v.dump());
    return v.get<std::string>();
  }
  const nlohmann::json& array(const nlohmann::json& object, const std::string& key) const {
    const auto& v = at(object, key);
    if (!v.is_array()) fail("\"" + key + "\" must be an array");
    return v;
  }
};

inline ScoredSet read_scored_set(const std::filesystem::path& file, const nlohmann::json& run, const std::string& name) {
  const Fields top{file, ""};
  const Fields f{file, "\"" + name + "\" "};
  const auto& set = top.at(run, name);
  ScoredSet out;
  for (const auto& s : f.array(set, "scores")) {
    if (!s.is_number()) f.fail("has a score that is not a number: " + s.dump());
    out.scores.push_back(s.get<double>());
  }
  for (const auto& y : f.array(set, "labels")) {
    if (!y.is_number_integer() || (y.get<long long>() != 0 && y.get<long long>() != 1))
      f.fail("has a label that is not 0 or 1: " + y.dump());
    out.labels.push_back(y.get<int>());
  }
  if (set.contains("files"))
    for (const auto& n : f.array(set, "files")) {
      if (!n.is_string()) f.fail("has a file name that is not a string: " + n.dump());
      out.files.push_back(n.get<std::string>());
    }
  if (out.scores.size() != out.labels.size() || (!out.files.empty() && out.files.size() != out.scores.size()))
    f.fail("has " + std::to_string(out.scores.size()) + " scores, " + std::to_string(out.labels.size()) +
           " labels and " + std::to_string(out.files.size()) + " files; they must be as many");
  const auto positives = std::count(out.labels.begin(), out.labels.end(), 1);
  if (positives == 0 || positives == std::ptrdiff_t(out.labels.size()))
    f.fail("needs both classes for an AUC, but all " + std::to_string(out.labels.size()) + " labels are " +
           (positives == 0 ? "0" : "1"));
  return out;
}

}  // namespace detail

inline RunRecord read_run(const std::filesystem::path& file) {
  const auto run = read_json_file(file);
  const detail::Fields f{file, ""};
  RunRecord r;
  r.file = file;
  r.case_name = f.text(run, "case");
  r.slug = f.text(run, "slug");
  r.type = f.text(run, "type");
  r.seed = f.integer(run, "seed");
  r.trainable_parameters = f.integer(run, "trainable_parameters");
  r.training_seconds = f.number(run, "training_seconds");
  r.prefix_seconds = f.number(run, "prefix_seconds");
  for (const auto& e : f.array(run, "history")) {
    const detail::Fields h{file, "history entry " + std::to_string(r.history.size() + 1) + " "};
    r.history.push_back({int(h.integer(e, "epoch")), h.number(e, "train_loss"), h.number(e, "validation_loss", true),
                         h.number(e, "lr"), h.number(e, "seconds")});
  }
  if (r.history.empty()) f.fail("\"history\" is empty: the run trained no epoch");
  r.validation = detail::read_scored_set(file, run, "validation");
  r.external = detail::read_scored_set(file, run, "external");
  return r;
}

// Every OUT/runs/<slug>/seed-<seed>/run.json, sorted by folder; the slug and seed inside must
// agree with the folder names (a copied or moved run would otherwise be counted twice).
inline std::vector<RunRecord> read_runs(const std::filesystem::path& out) {
  namespace fs = std::filesystem;
  const fs::path runs = out / "runs";
  if (!fs::is_directory(runs))
    throw std::runtime_error("'" + runs.string() + "' does not exist: run the experiment (tb_transfer) into '" +
                             out.string() + "' first");
  std::vector<fs::path> files;
  for (const auto& c : fs::directory_iterator(runs))
    if (c.is_directory())
      for (const auto& s : fs::directory_iterator(c.path()))
        if (s.is_directory() && fs::is_regular_file(s.path() / "run.json")) files.push_back(s.path() / "run.json");
  std::sort(files.begin(), files.end());
  if (files.empty())
    throw std::runtime_error("no finished run in '" + runs.string() + "' (expected <slug>/seed-<seed>/run.json)");
  std::vector<RunRecord> records;
  for (const auto& file : files) {
    auto r = read_run(file);
    const std::string folder = file.parent_path().filename().string(), slug = file.parent_path().parent_path().filename().string();
    if (slug != r.slug || folder != "seed-" + std::to_string(r.seed))
      throw std::runtime_error("'" + file.string() + "' says slug \"" + r.slug + "\", seed " + std::to_string(r.seed) +
                               " but lies in " + slug + "/" + folder);
    records.push_back(std::move(r));
  }
  return records;
}

}  // namespace thaw::report
