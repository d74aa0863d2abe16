// thaw/backend/cpu/parallel.hpp — OpenMP loop annotation and thread-count control.
// Without OpenMP the loops run serially and the pragma disappears (no unknown-pragma warning).
#pragma once

#if defined(_OPENMP)
#include <omp.h>
#define THAW_PARALLEL_FOR _Pragma("omp parallel for schedule(static)")
#else
#define THAW_PARALLEL_FOR
#endif

#include <algorithm>
#include <cstddef>

namespace thaw {

// Threads used by thaw's CPU loops and by the OpenMP build of OpenBLAS behind its GEMMs.
inline void set_num_threads(int n) {
#if defined(_OPENMP)
  omp_set_num_threads(n > 0 ? n : 1);
#else
  (void)n;
#endif
}

inline int num_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

namespace cpu {

// The calling thread's index inside a THAW_PARALLEL_FOR loop (0 outside one), for per-thread
// buffers.
inline std::size_t thread_index() {
#if defined(_OPENMP)
  return std::size_t(omp_get_thread_num());
#else
  return 0;
#endif
}

// A batch cut into chunks of `images` for the threads: each chunk runs on one thread with that
// thread's own buffers, its GEMMs single-threaded (OpenBLAS runs one thread inside a parallel
// region). Measured at batch 32 on 2 threads against running each stage, and each GEMM, across
// both threads (where every GEMM has fewer columns and pays a thread handshake): AlexNet's
// conv3-conv5 forward 1.1-1.45x faster, conv1 and conv2 up to 1.25x, training steps 1.1-1.4x.
// With fewer chunks than threads (batch 1) the chunks run one after another (workers = 1) and
// each stage uses every thread as before.
struct BatchChunks {
  std::size_t batch, images, count, workers;
  // Chunks of at most budget_floats / floats_per_image images, at least one, and small enough
  // that every thread gets one.
  BatchChunks(std::size_t batch_size, std::size_t floats_per_image, std::size_t budget_floats)
      : batch(batch_size) {
    const auto threads = std::size_t(num_threads());
    images = std::clamp<std::size_t>(budget_floats / floats_per_image, 1,
                                     std::max<std::size_t>(1, (batch + threads - 1) / threads));
    count = (batch + images - 1) / images;
    workers = count >= threads ? threads : 1;
  }
  std::size_t first(std::size_t chunk) const { return chunk * images; }
  std::size_t size(std::size_t chunk) const { return std::min(images, batch - first(chunk)); }
};

// f(chunk, worker) for every chunk, on c.workers threads; worker is the thread's index.
template <class F>
void for_each_chunk(const BatchChunks& c, F&& f) {
#if defined(_OPENMP)
  if (c.workers > 1) {
#pragma omp parallel num_threads(int(c.workers))
    {
      const auto worker = std::size_t(omp_get_thread_num());
#pragma omp for schedule(static)
      for (std::ptrdiff_t k = 0; k < std::ptrdiff_t(c.count); ++k) f(std::size_t(k), worker);
    }
    return;
  }
#endif
  for (std::size_t k = 0; k < c.count; ++k) f(k, std::size_t{0});
}

// sum[i] += parts[i] + parts[stride + i] + ... over `count` parts, for i < n: what the other
// workers summed, added to what worker 0 summed in place.
inline void add_parts(const float* parts, std::size_t count, std::size_t stride, std::size_t n, float* sum) {
  if (count == 0) return;
  THAW_PARALLEL_FOR
  for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(n); ++i) {
    float total = sum[i];
    for (std::size_t part = 0; part < count; ++part) total += parts[part * stride + std::size_t(i)];
    sum[i] = total;
  }
}

}  // namespace cpu

}  // namespace thaw
