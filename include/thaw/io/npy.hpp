// thaw/io/npy.hpp — a StateDict from a folder of <key>.npy files (xtensor's npy reader), and
// the reverse, so weights can be exchanged with numpy/PyTorch without pickle.
#pragma once

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <xtensor/xnpy.hpp>

#include "thaw/core/state_dict.hpp"

namespace thaw::io {

// Reads every `<key>.npy` in `dir` (float32, C or Fortran order) as StateDict[key].
inline StateDict load_npy_dir(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir))
    throw std::runtime_error("thaw::io::load_npy_dir: '" + dir.string() + "' is not a directory");
  StateDict sd;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".npy") continue;
    const std::string key = entry.path().stem().string();
    std::ifstream in(entry.path(), std::ios::binary);
    try {
      if (!in) throw std::runtime_error("cannot open the file");
      xt::xarray<float> tensor = xt::load_npy<float>(in);
      // xtensor reads the payload without checking that it was all there.
      if (!in) throw std::runtime_error("the file is truncated");
      sd.emplace(key, std::move(tensor));
    } catch (const std::exception& e) {
      throw std::runtime_error("thaw::io::load_npy_dir: cannot read '" + entry.path().string() + "': " +
                               e.what() + " (expected a float32 .npy array, e.g. numpy.save(f, a.astype('float32')))");
    }
  }
  if (sd.empty())
    throw std::runtime_error("thaw::io::load_npy_dir: no .npy files in '" + dir.string() +
                             "' (expected one <state-dict key>.npy per tensor, e.g. features.0.weight.npy)");
  return sd;
}

// Writes StateDict[key] to `dir/<key>.npy` (float32, C order); creates `dir` if needed. Each
// file goes to a temporary name first and is renamed, so a crash never leaves half a tensor.
inline void save_npy_dir(const std::filesystem::path& dir, const StateDict& sd) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  for (const auto& [key, tensor] : sd) {
    const fs::path final_path = dir / (key + ".npy"), temp_path = dir / (key + ".npy.tmp");
    xt::dump_npy(temp_path.string(), tensor);
    fs::rename(temp_path, final_path);
  }
}

}  // namespace thaw::io
