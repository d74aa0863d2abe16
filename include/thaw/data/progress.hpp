// thaw/data/progress.hpp — "what: 300/662, 21 s, about 25 s left" lines for long loops, from any
// thread, about every tenth of the work (and at the end).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <ostream>
#include <string>

namespace thaw::data {

class Progress {
 public:
  Progress(std::ostream* log, std::string what, std::size_t total)
      : log_(log), what_(std::move(what)), total_(total), start_(std::chrono::steady_clock::now()) {}

  void step() {
    const std::lock_guard lock(mutex_);
    ++done_;
    if (log_ == nullptr || (done_ != total_ && done_ * 10 / total_ == (done_ - 1) * 10 / total_)) return;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    *log_ << "thaw::data: " << what_ << ": " << done_ << "/" << total_ << ", " << long(seconds) << " s";
    if (done_ < total_) *log_ << ", about " << long(seconds / double(done_) * double(total_ - done_) + 0.5) << " s left";
    *log_ << "\n" << std::flush;
  }

 private:
  std::ostream* log_;
  std::string what_;
  std::size_t total_, done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
};

}  // namespace thaw::data
