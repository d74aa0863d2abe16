// thaw/data/cxr_dataset.hpp — which chest X-ray files make a set, and their labels, from one of
// three sources:
//   from_folder(dir)  files named like the NLM sets, CHNCXR_0001_0.png / MCUCXR_0399_1.png: the
//                     digit before the extension is the label (0 normal, 1 TB); or, when dir
//                     holds only subfolders, one subfolder per class (torchvision's ImageFolder
//                     rule: sorted names, label = position, files found recursively).
//   from_csv(file)    a manifest of `path,label` lines, paths relative to the manifest.
// Samples are sorted by path, so a set is the same whatever order the file system lists it in.
// What was found is counted per class and logged. Nothing is decoded here.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <thaw/data/image_file.hpp>

namespace thaw::data {

struct DatasetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Sample {
  std::filesystem::path path;
  int label = 0;
  bool operator==(const Sample&) const = default;
};

struct SourceOptions {
  // Files whose label cannot be read are an error; with this set they are left out and listed
  // in one warning instead.
  bool skip_unlabelled = false;
  std::ostream* log = &std::clog;  // nullptr: silent
};

class CxrDataset {
 public:
  CxrDataset() = default;
  CxrDataset(std::string name, std::vector<Sample> samples, std::vector<std::string> class_names = {"normal", "TB"})
      : name_(std::move(name)), samples_(std::move(samples)), class_names_(std::move(class_names)) {}

  static CxrDataset from_folder(const std::filesystem::path& folder, const SourceOptions& options = {});
  static CxrDataset from_csv(const std::filesystem::path& manifest, const SourceOptions& options = {});

  const std::string& name() const { return name_; }
  const std::vector<Sample>& samples() const { return samples_; }
  const Sample& operator[](std::size_t i) const { return samples_[i]; }
  std::size_t size() const { return samples_.size(); }
  const std::vector<std::string>& class_names() const { return class_names_; }
  std::size_t count(int label) const {
    return std::size_t(std::count_if(samples_.begin(), samples_.end(), [&](const Sample& s) { return s.label == label; }));
  }

  CxrDataset subset(std::span<const std::size_t> indices, std::string name) const {
    std::vector<Sample> picked;
    for (std::size_t i : indices) picked.push_back(samples_.at(i));
    return {std::move(name), std::move(picked), class_names_};
  }

  // "CXR_png: 662 images (326 normal, 336 TB)"
  std::string summary() const {
    std::string s = name_ + ": " + std::to_string(size()) + " images (";
    for (std::size_t c = 0; c < class_names_.size(); ++c)
      s.append(c ? ", " : "").append(std::to_string(count(int(c)))).append(" ").append(class_names_[c]);
    return s + ")";
  }

 private:
  std::string name_;
  std::vector<Sample> samples_;
  std::vector<std::string> class_names_{"normal", "TB"};
};

// The files thaw takes for images when it lists a folder: names ending in .png, .dcm or .dicom
// (any case), and files without an extension that are DICOM (PACS exports often have none).
inline bool is_image_file(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".png" || ext == ".dcm" || ext == ".dicom" || (ext.empty() && file_is_dicom(p));
}

namespace detail {

// The NLM rule: <anything>_<0|1>.<ext>; -1 when the name does not follow it.
inline int label_from_name(const std::filesystem::path& p) {
  const std::string stem = p.stem().string();
  const std::size_t n = stem.size();
  if (n < 3 || stem[n - 2] != '_' || (stem[n - 1] != '0' && stem[n - 1] != '1')) return -1;
  return stem[n - 1] - '0';
}

inline void require_folder(const std::filesystem::path& folder) {
  if (!std::filesystem::exists(folder)) throw DatasetError("thaw::data: '" + folder.string() + "' does not exist");
  if (!std::filesystem::is_directory(folder))
    throw DatasetError("thaw::data: '" + folder.string() + "' is not a folder");
}

// A set's name: its folder with the folder above, since the NLM sets' image folders are both
// called CXR_png ("ChinaSet_AllFiles/CXR_png", "MontgomerySet/CXR_png").
inline std::string folder_name(const std::filesystem::path& folder) {
  auto clean = std::filesystem::absolute(folder).lexically_normal();
  if (!clean.has_filename()) clean = clean.parent_path();
  const auto parent = clean.parent_path().filename();
  return parent.empty() ? clean.filename().string() : (parent / clean.filename()).string();
}

// Sorts, refuses an empty set, reports what was skipped and what was found.
inline CxrDataset finish(const std::filesystem::path& source, std::vector<Sample> samples,
                         std::vector<std::string> classes, const std::vector<std::string>& skipped,
                         const SourceOptions& options) {
  if (samples.empty())
    throw DatasetError("thaw::data: no labelled images in '" + source.string() +
                       "' (looked for .png, .dcm and .dicom files, and DICOM files without an extension" +
                       (skipped.empty() ? std::string(")") : ", skipped " + std::to_string(skipped.size()) + ")"));
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.path < b.path; });
  CxrDataset set(folder_name(source), std::move(samples), std::move(classes));
  if (options.log != nullptr) {
    if (!skipped.empty()) {
      *options.log << "thaw::data: warning: skipped " << skipped.size() << " file(s) in '" << source.string()
                   << "' whose label could not be read:\n";
      for (const auto& s : skipped) *options.log << "  " << s << "\n";
    }
    *options.log << "thaw::data: " << set.summary() << " from '" << source.string() << "'\n";
  }
  return set;
}

}  // namespace detail

inline CxrDataset CxrDataset::from_folder(const std::filesystem::path& folder, const SourceOptions& options) {
  namespace fs = std::filesystem;
  detail::require_folder(folder);
  std::vector<fs::path> files, folders;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().filename().string().starts_with(".")) continue;
    if (entry.is_directory()) folders.push_back(entry.path());
    else if (is_image_file(entry.path())) files.push_back(entry.path());
  }
  std::vector<Sample> samples;
  std::vector<std::string> skipped;
  if (files.empty() && !folders.empty()) {  // one subfolder per class
    std::sort(folders.begin(), folders.end());
    if (folders.size() != 2)
      throw DatasetError("thaw::data: '" + folder.string() + "' has " + std::to_string(folders.size()) +
                         " class subfolders; thaw's models are binary and need exactly 2 (e.g. normal/ and tb/)");
    std::vector<std::string> classes;
    for (std::size_t c = 0; c < folders.size(); ++c) {
      classes.push_back(folders[c].filename().string());
      for (const auto& entry : fs::recursive_directory_iterator(folders[c]))
        if (entry.is_regular_file() && is_image_file(entry.path())) samples.push_back({entry.path(), int(c)});
    }
    return detail::finish(folder, std::move(samples), std::move(classes), skipped, options);
  }
  for (const auto& file : files) {
    const int label = detail::label_from_name(file);
    if (label >= 0) {
      samples.push_back({file, label});
    } else if (options.skip_unlabelled) {
      skipped.push_back(file.string());
    } else {
      throw DatasetError("thaw::data: cannot read a label from the name '" + file.string() +
                         "': NLM-style names end in _0 (normal) or _1 (TB) before the extension, e.g. "
                         "CHNCXR_0001_0.png. Rename it, use one subfolder per class or a CSV manifest, or "
                         "pass skip_unlabelled to leave such files out");
    }
  }
  return detail::finish(folder, std::move(samples), {"normal", "TB"}, skipped, options);
}

inline CxrDataset CxrDataset::from_csv(const std::filesystem::path& manifest, const SourceOptions& options) {
  namespace fs = std::filesystem;
  std::ifstream in(manifest);
  if (!in) throw DatasetError("thaw::data: cannot open the manifest '" + manifest.string() + "'");
  std::vector<Sample> samples;
  std::vector<std::string> skipped;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (number == 1 && line == "path,label")) continue;
    const std::string where = manifest.string() + ":" + std::to_string(number);
    const std::size_t comma = line.rfind(',');
    const std::string label = comma == std::string::npos ? "" : line.substr(comma + 1);
    if (label != "0" && label != "1") {
      if (options.skip_unlabelled) {
        skipped.push_back(where + ": " + line);
        continue;
      }
      throw DatasetError("thaw::data: " + where + ": expected `path,label` with label 0 or 1, got '" + line + "'");
    }
    const fs::path path = manifest.parent_path() / line.substr(0, comma);
    if (!fs::is_regular_file(path))
      throw DatasetError("thaw::data: " + where + ": '" + path.string() + "' does not exist");
    samples.push_back({path, label[0] - '0'});
  }
  return detail::finish(manifest, std::move(samples), {"normal", "TB"}, skipped, options);
}

}  // namespace thaw::data
