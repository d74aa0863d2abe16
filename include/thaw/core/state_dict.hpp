// thaw/core/state_dict.hpp — StateDict: PyTorch state-dict key -> float tensor; the checks
// and reports of loading one into a model, and the shape formatting their messages use.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

namespace thaw {

// Keys are torchvision's ("features.0.weight"), so weights move between thaw and PyTorch.
using StateDict = std::map<std::string, xt::xarray<float>>;

template <class Extents>
std::string shape_string(const Extents& extents) {
  std::string s = "[";
  for (auto e : extents) s += (s.size() > 1 ? ", " : "") + std::to_string(e);
  return s + "]";
}

// Throws unless sd[key] exists with `shape` and only finite values; `who` and `hint` go into
// the message.
inline void check_state_dict_entry(const StateDict& sd, const std::string& key, const auto& shape, const char* who,
                                   const std::string& hint) {
  const std::string where = std::string("thaw::Model::") + who + ": ";
  auto it = sd.find(key);
  if (it == sd.end())
    throw std::invalid_argument(where + "missing key '" + key + "' (expected shape " + shape_string(shape) + ")" + hint);
  if (!std::equal(shape.begin(), shape.end(), it->second.shape().begin(), it->second.shape().end()))
    throw std::invalid_argument(where + "key '" + key + "' has shape " + shape_string(it->second.shape()) +
                                " but the model expects " + shape_string(shape) + hint);
  for (float v : it->second)
    if (!std::isfinite(v))
      throw std::invalid_argument(where + "key '" + key + "' contains NaN or infinite values; the weights file is damaged");
}

// What Model::load_pretrained took from the file, drew afresh, and left unused.
struct PretrainedReport {
  std::vector<std::string> loaded, initialized, ignored;

  std::string summary() const {
    std::string s = "loaded " + std::to_string(loaded.size()) + " tensors";
    const auto list = [](const std::vector<std::string>& keys) {
      std::string out;
      for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
      return out;
    };
    if (!initialized.empty()) s += "; initialized " + list(initialized);
    if (!ignored.empty()) s += "; ignored " + list(ignored);
    return s;
  }
};

}  // namespace thaw
