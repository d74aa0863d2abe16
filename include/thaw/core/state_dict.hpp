// thaw/core/state_dict.hpp — StateDict: PyTorch state-dict key -> float tensor, and the
// shape formatting its error messages use.
#pragma once

#include <map>
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

}  // namespace thaw
