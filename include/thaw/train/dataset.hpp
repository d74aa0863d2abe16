// thaw/train/dataset.hpp — a labelled set of images in memory, [N, C, H, W] with one 0/1
// label per image: what Trainer iterates over (the chest X-ray loaders produce it). It models
// thaw::train::ImageSource (train/source.hpp), as a streaming data::FileSource does.
#pragma once

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

namespace thaw::train {

struct Dataset {
  xt::xtensor<float, 4> images;
  std::vector<float> labels;

  Dataset() = default;
  Dataset(xt::xtensor<float, 4> images_, std::vector<float> labels_)
      : images(std::move(images_)), labels(std::move(labels_)) {}
  // Labels from any range of numbers (std::vector<int>, xt::xtensor<float, 1>, ...), the way
  // train_step takes them. Each must equal 0 or 1 in its own type, so that 1.0000001 (double)
  // or 2 (int) is refused here rather than rounded into a valid-looking float.
  template <std::ranges::input_range R>
    requires(!std::same_as<std::remove_cvref_t<R>, std::vector<float>> &&
             std::convertible_to<std::ranges::range_reference_t<R>, float>)
  Dataset(xt::xtensor<float, 4> images_, R&& labels_) : images(std::move(images_)) {
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

  std::size_t size() const { return labels.size(); }
  float label(std::size_t i) const { return labels[i]; }
  std::size_t image_floats() const { return images.shape()[1] * images.shape()[2] * images.shape()[3]; }
  // Images ids[0..n) one after another into out (the training loop's batches).
  void read(std::span<const std::size_t> ids, float* out) const {
    const std::size_t floats = image_floats();
    for (std::size_t j = 0; j < ids.size(); ++j)
      std::copy_n(images.data() + ids[j] * floats, floats, out + j * floats);
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
