// thaw/train/from_data.hpp — the one bridge from data/ to training: a train::Dataset made from
// the images and labels data::load_all() decoded (data/ itself never includes train/).
#pragma once

#include <utility>

#include "thaw/data/labelled_images.hpp"
#include "thaw/train/dataset.hpp"

namespace thaw::train {

// Moves the images and labels (a full-size set is hundreds of MB): pass std::move(loaded.data),
// or a copy to keep the original.
inline Dataset to_dataset(data::LabelledImages set) { return Dataset{std::move(set.images), std::move(set.labels)}; }

}  // namespace thaw::train
