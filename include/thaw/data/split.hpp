// thaw/data/split.hpp — the paper's seeded 80/20 train/validation split, stratified by class
// by default, and its record on disk (JSON: every file and label, the seed, the fraction), so a
// run can be reproduced and audited and a later run can reuse exactly the same split.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <thaw/core/shuffle.hpp>
#include <thaw/data/cxr_dataset.hpp>
#include <thaw/io/atomic_file.hpp>

namespace thaw::data {

struct SplitOptions {
  double train_fraction = 0.8;
  std::uint64_t seed = 42;
  bool stratified = true;  // each class split on its own, so both sides keep the class ratio
};

struct Split {
  CxrDataset train;
  CxrDataset validation;
};

inline Split split(const CxrDataset& set, const SplitOptions& options = {}) {
  if (!(options.train_fraction > 0 && options.train_fraction < 1))
    throw DatasetError("thaw::data::split: train_fraction must lie strictly between 0 and 1, not " +
                       std::to_string(options.train_fraction));
  std::vector<std::vector<std::size_t>> groups(options.stratified ? set.class_names().size() : 1);
  for (std::size_t i = 0; i < set.size(); ++i) groups[options.stratified ? std::size_t(set[i].label) : 0].push_back(i);
  std::mt19937_64 rng(options.seed);
  std::vector<std::size_t> train, validation;
  for (auto& group : groups) {
    shuffle_in_place(group, rng);
    const auto kept = std::size_t(std::llround(double(group.size()) * options.train_fraction));
    train.insert(train.end(), group.begin(), group.begin() + std::ptrdiff_t(kept));
    validation.insert(validation.end(), group.begin() + std::ptrdiff_t(kept), group.end());
  }
  if (train.empty() || validation.empty())
    throw DatasetError("thaw::data::split: " + set.summary() + " is too small to split " +
                       std::to_string(options.train_fraction) + " / " + std::to_string(1 - options.train_fraction));
  std::sort(train.begin(), train.end());
  std::sort(validation.begin(), validation.end());
  return {set.subset(train, set.name() + " (train)"), set.subset(validation, set.name() + " (validation)")};
}

namespace detail {

inline nlohmann::json samples_json(const CxrDataset& set) {
  auto list = nlohmann::json::array();
  for (const Sample& s : set.samples()) list.push_back({{"path", s.path.string()}, {"label", s.label}});
  return list;
}

inline CxrDataset samples_from_json(const nlohmann::json& list, std::string name, std::vector<std::string> classes) {
  std::vector<Sample> samples;
  for (const auto& s : list) samples.push_back({s.at("path").get<std::string>(), s.at("label").get<int>()});
  return {std::move(name), std::move(samples), std::move(classes)};
}

}  // namespace detail

inline void save_split(const std::filesystem::path& file, const Split& s, const SplitOptions& options) {
  const nlohmann::json record = {
      {"format", "thaw.split.v1"},
      {"seed", options.seed},
      {"train_fraction", options.train_fraction},
      {"stratified", options.stratified},
      {"classes", s.train.class_names()},
      {"train", detail::samples_json(s.train)},
      {"validation", detail::samples_json(s.validation)},
  };
  io::write_atomically(file, [&](std::ostream& out) { out << record.dump(1) << "\n"; });
}

inline Split load_split(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw DatasetError("thaw::data::load_split: cannot open '" + file.string() + "'");
  try {
    const auto record = nlohmann::json::parse(in);
    if (record.at("format") != "thaw.split.v1") throw DatasetError("unknown format " + record.at("format").dump());
    const auto classes = record.at("classes").get<std::vector<std::string>>();
    return {detail::samples_from_json(record.at("train"), "train", classes),
            detail::samples_from_json(record.at("validation"), "validation", classes)};
  } catch (const std::exception& e) {
    throw DatasetError("thaw::data::load_split: '" + file.string() + "' is not a thaw split record: " + e.what());
  }
}

}  // namespace thaw::data
