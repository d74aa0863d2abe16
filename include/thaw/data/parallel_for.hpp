// thaw/data/parallel_for.hpp — body(i) for every i in [0, n) on a few worker threads, for the
// data pipeline's file work (decoding, drawing), where each item is milliseconds of I/O and
// compute and OpenMP's threads are left to the training loop.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace thaw::data {

// The first exception a body throws stops the others from taking new items and is rethrown
// here, once every thread has finished.
template <class Body>
void parallel_for(std::size_t n, std::size_t workers, Body&& body) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  {
    std::vector<std::jthread> threads;
    for (std::size_t w = 0; w < std::max<std::size_t>(1, workers); ++w)
      threads.emplace_back([&] {
        for (std::size_t i; (i = next++) < n;) {
          try {
            body(i);
          } catch (...) {
            const std::lock_guard lock(error_mutex);
            if (!error) error = std::current_exception();
            next = n;
          }
        }
      });
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace thaw::data
