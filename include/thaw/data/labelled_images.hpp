// thaw/data/labelled_images.hpp — decoded images in memory, [N, C, H, W], with one 0/1 label per
// image: what load_all() produces, and a source Trainer::fit and predict_logits read from
// (size, label, image_floats, read: the shape of thaw::train::ImageSource, which data/ does not
// include). train::Dataset adds labels from any range and checks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include <xtensor/xtensor.hpp>

namespace thaw::data {

struct LabelledImages {
  xt::xtensor<float, 4> images;
  std::vector<float> labels;

  std::size_t size() const { return labels.size(); }
  float label(std::size_t i) const { return labels[i]; }
  std::size_t image_floats() const { return images.shape()[1] * images.shape()[2] * images.shape()[3]; }
  // Images ids[0..n) one after another into out (the training loop's batches).
  void read(std::span<const std::size_t> ids, float* out) const {
    const std::size_t floats = image_floats();
    for (std::size_t j = 0; j < ids.size(); ++j)
      std::copy_n(images.data() + ids[j] * floats, floats, out + j * floats);
  }
};

}  // namespace thaw::data
