// thaw/data/labelled_images.hpp — decoded images in memory, [N, C, H, W], with one 0/1 label per
// image: what load_all() produces. data/ knows nothing of training; thaw/train/from_data.hpp
// hands these to a train::Dataset without a copy.
#pragma once

#include <cstddef>
#include <vector>

#include <xtensor/xtensor.hpp>

namespace thaw::data {

struct LabelledImages {
  xt::xtensor<float, 4> images;
  std::vector<float> labels;

  std::size_t size() const { return labels.size(); }
};

}  // namespace thaw::data
