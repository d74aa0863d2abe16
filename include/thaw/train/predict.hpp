// thaw/train/predict.hpp — the model's logit for every image of a source, in order, streamed
// batch by batch (the next batch is read while one runs), so scoring a set never needs all its
// images in memory:
//   std::vector<double> logits = thaw::train::predict_logits(model, loader, 32);
#pragma once

#include <cstddef>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "thaw/train/batch_stream.hpp"
#include "thaw/train/source.hpp"

namespace thaw::train {

// Eval mode (dropout off). `data`: an ImageSource (Dataset, data::FileSource) or a data::Loader.
template <class Model, class Data>
std::vector<double> predict_logits(Model& model, const Data& data, std::size_t batch_size = 32) {
  static_assert(Model::output_shape.size() == 1, "thaw::train::predict_logits scores a one-logit (binary) head");
  if (batch_size == 0) throw std::invalid_argument("thaw::train::predict_logits: batch_size must be at least 1");
  const auto& source = as_source(data);
  check_source(source, "scored", Model::input_shape.size());
  model.eval();
  std::vector<std::size_t> order(source.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::vector<double> out;
  out.reserve(order.size());
  stream_batches(
      source, order, batch_size, [](std::size_t, std::size_t) { return true; },
      [&](std::size_t, std::size_t n, const float* images) {
        const float* logits = model.template forward_from<0>(images, n);
        out.insert(out.end(), logits, logits + n);
      });
  return out;
}

}  // namespace thaw::train
