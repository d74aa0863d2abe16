// thaw/train/dataset.hpp — a labelled set of images in memory, [N, C, H, W] with one 0/1
// label per image: data::LabelledImages (what data::load_all decodes) with labels taken from any
// range and a check of labels and pixels. Like it, and like a streaming data::FileSource, it is a
// thaw::train::ImageSource (train/source.hpp) that Trainer::fit reads.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "thaw/data/labelled_images.hpp"

namespace thaw::train {

struct Dataset : data::LabelledImages {
  Dataset() = default;
  Dataset(xt::xtensor<float, 4> images_, std::vector<float> labels_)
      : data::LabelledImages{std::move(images_), std::move(labels_)} {}
  // What data::load_all decoded (moved, not copied: pass std::move(loaded.data)).
  Dataset(data::LabelledImages set) : data::LabelledImages(std::move(set)) {}
  // Labels from any range of numbers (std::vector<int>, xt::xtensor<float, 1>, ...), the way
  // train_step takes them. Each must equal 0 or 1 in its own type, so that 1.0000001 (double)
  // or 2 (int) is refused here rather than rounded into a valid-looking float.
  template <std::ranges::input_range R>
    requires(!std::same_as<std::remove_cvref_t<R>, std::vector<float>> &&
             std::convertible_to<std::ranges::range_reference_t<R>, float>)
  Dataset(xt::xtensor<float, 4> images_, R&& labels_) : data::LabelledImages{std::move(images_), {}} {
    using Value = std::ranges::range_value_t<R>;
    for (auto&& element : labels_) {
      const Value value = element;
      if (!(value == Value(0) || value == Value(1))) {
        const std::string shown =
            std::is_integral_v<Value> ? std::to_string((long long)(value)) : std::to_string((double)(value));
        throw std::invalid_argument("thaw::train::Dataset: label " + std::to_string(labels.size()) + " is " + shown +
                                    "; labels must be 0 or 1");
      }
      labels.push_back(value == Value(1) ? 1.0f : 0.0f);
    }
  }

  // Throws unless there is one 0/1 label per image and every pixel is finite.
  void check(const std::string& name) const {
    if (images.shape()[0] != labels.size())
      throw std::invalid_argument("thaw::train::Dataset '" + name + "': " + std::to_string(images.shape()[0]) +
                                  " images but " + std::to_string(labels.size()) + " labels");
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] != 0.0f && labels[i] != 1.0f)
        throw std::invalid_argument("thaw::train::Dataset '" + name + "': label " + std::to_string(i) + " is " +
                                    std::to_string(labels[i]) + "; labels must be 0 or 1");
    const std::size_t per_image = images.size() / std::max<std::size_t>(1, labels.size());
    for (std::size_t k = 0; k < images.size(); ++k)
      if (!std::isfinite(images.data()[k]))
        throw std::invalid_argument("thaw::train::Dataset '" + name + "': image " + std::to_string(k / per_image) +
                                    " holds a non-finite pixel");
  }
};

}  // namespace thaw::train
