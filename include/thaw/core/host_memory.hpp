// thaw/core/host_memory.hpp — the memory hooks Model asks of a backend, for a backend whose
// memory is the host's (thaw::Cpu, and small test backends): pointers are used as they are and
// copies are plain copies. A device backend (thaw::Cuda, backend/cuda/cuda.cuh) provides its own.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <vector>

namespace thaw {

// Grows `buffer` to `count` elements and returns its data; allocation happens only when a larger
// batch arrives, so steady-state passes allocate nothing. It grows to exactly `count`: resize
// alone would at least double the capacity, and a scratch that serves several layers, smallest
// first, then held the largest plus the one before (10.6 MiB for the 7.9 the Winograd layers of
// the mid-level FE's step need).
template <class T>
T* ensure(std::vector<T>& buffer, std::size_t count) {
  if (buffer.size() < count) {
    buffer.reserve(count);
    buffer.resize(count);
  }
  return buffer.data();
}

struct HostMemory {
  static constexpr bool host_memory = true;
  using buffer = std::vector<float>;
  static float* ensure(buffer& b, std::size_t n) { return thaw::ensure(b, n); }
  // A layer's parameter or gradient vector as the optimizer and the copies see it.
  template <class Context>
  static std::span<float> view(Context&, std::vector<float>& v) { return v; }
  template <class Context>
  static std::span<const float> view(const Context&, const std::vector<float>& v) { return v; }
  // n host floats as the input of a pass: `staging` is for backends that must copy.
  static const float* stage(buffer&, const float* host, std::size_t) { return host; }
  // Host -> backend memory, and backend memory -> host once the pending work is done.
  static void upload(const float* host, std::size_t n, float* dst) { std::copy_n(host, n, dst); }
  template <class Context>
  static void download(const Context&, const float* src, std::size_t n, float* host) { std::copy_n(src, n, host); }
  template <class Context>
  static void seed_dropout(Context& ctx, std::uint64_t seed) { ctx.dropout_rng.seed(seed); }
  // The dropout generator's state as text (checkpoints), and back: false, and nothing changed,
  // for text that is not a generator's (another backend's state).
  template <class Context>
  static std::string dropout_state(const Context& ctx) {
    std::ostringstream out;
    out << ctx.dropout_rng;
    return out.str();
  }
  template <class Context>
  static bool set_dropout_state(Context& ctx, const std::string& text) {
    std::istringstream in(text);
    decltype(ctx.dropout_rng) rng;
    if (!(in >> rng)) return false;
    ctx.dropout_rng = rng;
    return true;
  }
};

}  // namespace thaw
