// thaw/train/batch_stream.hpp — a source's batches in a known order, each read on a helper
// thread while the one before it is being used: the training loop never waits for decoding
// (when decoding is faster than a training step), and only two batches are ever in memory.
#pragma once

#include <algorithm>
#include <cstddef>
#include <future>
#include <span>
#include <vector>

#include "thaw/train/source.hpp"

namespace thaw::train {

// For every batch [b, b + n) of `order`: visit(b, n, images), where images holds the n images
// read from `source` (n * image_floats() floats), or is nullptr when needs_images(b, n) said
// the batch needs none (its frozen-prefix outputs are cached). needs_images(b + batch, ...) is
// asked before visit(b, ...) runs, so visit must not change its answer for the next batch.
template <ImageSource S, class NeedsImages, class Visit>
void stream_batches(const S& source, std::span<const std::size_t> order, std::size_t batch, NeedsImages&& needs_images,
                    Visit&& visit) {
  const std::size_t floats = source.image_floats();
  std::vector<float> buffers[2];
  std::future<void> pending;  // after the buffers: destroyed (waited for) first
  bool pending_reads = false;
  const auto start = [&](std::size_t b, std::vector<float>& buffer) {
    const std::size_t n = std::min(batch, order.size() - b);
    pending_reads = needs_images(b, n);
    if (!pending_reads) return;
    buffer.resize(n * floats);
    pending = std::async(std::launch::async, [&source, ids = order.subspan(b, n), out = buffer.data()] { source.read(ids, out); });
  };
  if (order.empty()) return;
  start(0, buffers[0]);
  for (std::size_t b = 0, k = 0; b < order.size(); b += batch, k ^= 1) {
    const std::size_t n = std::min(batch, order.size() - b);
    const bool has_images = pending_reads;
    if (has_images) pending.get();
    if (b + batch < order.size()) start(b + batch, buffers[k ^ 1]);
    visit(b, n, has_images ? static_cast<const float*>(buffers[k].data()) : nullptr);
  }
}

}  // namespace thaw::train
