// thaw/backend/cuda/memory.cuh — how Model<Net, Cuda> reaches device memory: views of the
// layers' device vectors, the staging of host batches and labels, and the copies to and from
// the host (the memory hooks of the Cuda policy, in cuda.cuh). Copies to the host wait for
// the context's stream first, so a host read never sees a pass half done.
#pragma once

#include <cstddef>

#include <thrust/copy.h>

#include "thaw/backend/cuda/context.cuh"

namespace thaw::cuda {

// A tensor in device memory, with the context whose stream works on it: what
// Model::for_each_trainable hands an optimizer for thaw::Cuda (std::span for thaw::Cpu).
template <class T>
struct DeviceSpan {
  T* pointer;
  std::size_t count;
  Context* context;
  T* data() const { return pointer; }
  std::size_t size() const { return count; }
};

template <class T>
DeviceSpan<T> view(Context& ctx, thrust::device_vector<T>& v) {
  return {thrust::raw_pointer_cast(v.data()), v.size(), &ctx};
}
template <class T>
DeviceSpan<const T> view(const Context& ctx, const thrust::device_vector<T>& v) {
  return {thrust::raw_pointer_cast(v.data()), v.size(), const_cast<Context*>(&ctx)};
}

// Host -> device, synchronous (the legacy default stream, ordered with the context's blocking
// stream, so it waits for the passes that might still read dst).
inline void upload(const float* host, std::size_t n, float* dst) {
  thrust::copy(host, host + n, thrust::device_pointer_cast(dst));
}
// Device -> host once the context's work is done.
template <class T>
void download(const Context& ctx, const T* src, std::size_t n, T* host) {
  ctx.synchronize();
  thrust::copy(thrust::device_pointer_cast(src), thrust::device_pointer_cast(src) + n, host);
}
// n host floats copied into `staging` (grown when needed), for a pass to read.
inline const float* stage(thrust::device_vector<float>& staging, const float* host, std::size_t n) {
  float* dst = ensure(staging, n);
  upload(host, n, dst);
  return dst;
}

}  // namespace thaw::cuda
