// thaw/backend/cuda/kernels.cuh — the CUDA backend's own kernels, as index functors that a
// Thrust algorithm runs over a counting range: on the GPU each index is a thread, off it the
// same code runs on the host (see system.cuh). Every output is written by exactly one index
// and backward passes gather (col2im, unpooling) instead of scattering, so results need no
// atomics and are deterministic.
#pragma once

#include <cstddef>
#include <cstdint>

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

#include "thaw/backend/cuda/system.cuh"
#include "thaw/core/shape.hpp"

namespace thaw::cuda {

// Runs f(i) for i in [0, n) on the context's system.
template <class Exec, class F>
void launch(const Exec& exec, std::size_t n, const F& f, const char* what) {
  const int count = checked_int(n, what);
  if (count > 0) thrust::for_each_n(exec, thrust::counting_iterator<int>(0), count, f);
}

// Geometry of one convolution or pooling layer, as 32-bit kernel arguments.
struct Dims {
  int c, h, w;
  Dims() = default;
  explicit Dims(Shape s) : c(int(s.c)), h(int(s.h)), w(int(s.w)) {}
  THAW_HOST_DEVICE int plane() const { return h * w; }
  THAW_HOST_DEVICE int size() const { return c * h * w; }
};

struct ConvDims {
  Dims in, out;
  int kernel, stride, padding;
  THAW_HOST_DEVICE int rows() const { return in.c * kernel * kernel; }  // im2col rows
};

// columns[r, n * plane + p] for the chunk's `count` images: row r = (c, ky, kx), column (n, oy,
// ox); zero where the window reads padding.
struct Im2col {
  ConvDims g;
  int count;
  const float* x;
  float* columns;
  THAW_HOST_DEVICE void operator()(int i) const {
    const int plane = g.out.plane(), cp = count * plane, k = g.kernel;
    const int r = i / cp, j = i % cp, n = j / plane, p = j % plane;
    const int c = r / (k * k), ky = r / k % k, kx = r % k;
    const int iy = p / g.out.w * g.stride + ky - g.padding, ix = p % g.out.w * g.stride + kx - g.padding;
    const bool inside = iy >= 0 && iy < g.in.h && ix >= 0 && ix < g.in.w;
    columns[i] = inside ? x[((n * g.in.c + c) * g.in.h + iy) * g.in.w + ix] : 0.0f;
  }
};

// The adjoint of Im2col, gathered: each input pixel sums the column entries copied from it.
struct Col2im {
  ConvDims g;
  int count;
  const float* columns;
  float* dx;
  THAW_HOST_DEVICE void operator()(int i) const {
    const int plane = g.out.plane(), cp = count * plane, k = g.kernel;
    const int n = i / g.in.size(), c = i / g.in.plane() % g.in.c;
    const int iy = i / g.in.w % g.in.h, ix = i % g.in.w;
    float sum = 0.0f;
    for (int ky = 0; ky < k; ++ky) {
      const int ty = iy + g.padding - ky;  // oy * stride
      if (ty < 0 || ty % g.stride != 0 || ty / g.stride >= g.out.h) continue;
      for (int kx = 0; kx < k; ++kx) {
        const int tx = ix + g.padding - kx;
        if (tx < 0 || tx % g.stride != 0 || tx / g.stride >= g.out.w) continue;
        const int r = (c * k + ky) * k + kx;
        sum += columns[r * cp + n * plane + ty / g.stride * g.out.w + tx / g.stride];
      }
    }
    dx[i] = sum;
  }
};

// y[n, o, p] = act(products[o, n * plane + p] + bias[o]): bias, ReLU and the NCHW reorder of
// a chunk's convolution GEMM in one pass.
struct BiasActivationToNchw {
  const float* products;
  const float* bias;
  int channels, count, plane;
  bool relu;
  float* y;
  THAW_HOST_DEVICE void operator()(int i) const {
    const int n = i / (channels * plane), o = i / plane % channels, p = i % plane;
    const float v = products[(o * count + n) * plane + p] + bias[o];
    y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
  }
};

// The gradient before the activation, from NCHW into the GEMMs' [o, n * plane + p] layout.
struct ActivationGradFromNchw {
  const float* y;
  const float* dy;
  int channels, count, plane;
  bool relu;
  float* dz;
  THAW_HOST_DEVICE void operator()(int i) const {
    const int n = i / (channels * plane), o = i / plane % channels, p = i % plane;
    dz[(o * count + n) * plane + p] = relu && !(y[i] > 0.0f) ? 0.0f : dy[i];
  }
};

// In place after a GEMM or a cuDNN convolution: y[n, c, p] = act(y[n, c, p] + bias[c]), for
// rows of `channels` planes of `plane` values (plane 1: a linear layer's [n, out] rows).
struct BiasActivation {
  const float* bias;
  int channels, plane;
  bool relu;
  float* y;
  THAW_HOST_DEVICE void operator()(int i) const {
    const float v = y[i] + bias[(i / plane) % channels];
    y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
  }
};

// ReLU forward (NaN maps to 0, as the CPU backend) ...
struct Relu {
  const float* x;
  float* y;
  THAW_HOST_DEVICE void operator()(int i) const { y[i] = x[i] > 0.0f ? x[i] : 0.0f; }
};
// ... and its gradient through the output: dz = dy where y > 0.
struct ReluGrad {
  const float* y;
  const float* dy;
  bool relu;
  float* dz;
  THAW_HOST_DEVICE void operator()(int i) const { dz[i] = relu && !(y[i] > 0.0f) ? 0.0f : dy[i]; }
};

// Max pooling without padding, one output per index; the switch is the flat index of the
// maximum inside its input plane. First maximum wins, NaN wins over any number (PyTorch).
struct MaxPoolForward {
  Dims in, out;
  int kernel, stride;
  const float* x;
  float* y;
  std::int32_t* switches;
  THAW_HOST_DEVICE void operator()(int i) const {
    const int plane = i / out.plane(), o = i % out.plane();
    const float* src = x + plane * in.plane();
    int best = o / out.w * stride * in.w + o % out.w * stride;
    float value = src[best];
    const int corner = best;
    for (int ky = 0; ky < kernel; ++ky)
      for (int kx = 0; kx < kernel; ++kx) {
        const int at = corner + ky * in.w + kx;
        const float v = src[at];
        if (v > value || v != v) {  // v != v: NaN
          value = v;
          best = at;
        }
      }
    y[i] = value;
    switches[i] = best;
  }
};

// Unpooling through the switches, gathered: each input sums the gradients of the outputs
// (in increasing order, as the CPU's scatter) whose switch points at it.
struct MaxUnpool {
  Dims in, out;
  int kernel, stride;
  const float* dy;
  const std::int32_t* switches;
  float* dx;
  THAW_HOST_DEVICE void operator()(int i) const {
    const int plane = i / in.plane(), at = i % in.plane(), iy = at / in.w, ix = at % in.w;
    // Outputs whose window [o * stride, o * stride + kernel) covers the input.
    const int y0 = iy >= kernel ? (iy - kernel) / stride + 1 : 0, y1 = min_int(iy / stride, out.h - 1);
    const int x0 = ix >= kernel ? (ix - kernel) / stride + 1 : 0, x1 = min_int(ix / stride, out.w - 1);
    const int base = plane * out.plane();
    float sum = 0.0f;
    for (int oy = y0; oy <= y1; ++oy)
      for (int ox = x0; ox <= x1; ++ox) {
        const int o = base + oy * out.w + ox;
        if (switches[o] == at) sum += dy[o];
      }
    dx[i] = sum;
  }
  THAW_HOST_DEVICE static int min_int(int a, int b) { return a < b ? a : b; }
};

// PyTorch's adaptive bins: bin b of `out` over `in` is [floor(b*in/out), ceil((b+1)*in/out)).
THAW_HOST_DEVICE inline int bin_begin(int b, int in, int out) { return b * in / out; }
THAW_HOST_DEVICE inline int bin_end(int b, int in, int out) { return ((b + 1) * in + out - 1) / out; }

struct AdaptiveAvgPoolForward {
  Dims in, out;
  const float* x;
  float* y;
  THAW_HOST_DEVICE void operator()(int i) const {
    const int plane = i / out.plane(), oy = i % out.plane() / out.w, ox = i % out.w;
    const int y0 = bin_begin(oy, in.h, out.h), y1 = bin_end(oy, in.h, out.h);
    const int x0 = bin_begin(ox, in.w, out.w), x1 = bin_end(ox, in.w, out.w);
    const float* src = x + plane * in.plane();
    float sum = 0.0f;
    for (int iy = y0; iy < y1; ++iy)
      for (int ix = x0; ix < x1; ++ix) sum += src[iy * in.w + ix];
    y[i] = sum / float((y1 - y0) * (x1 - x0));
  }
};

// Each input gathers the shares of the bins that contain it (bins may overlap).
struct AdaptiveAvgPoolBackward {
  Dims in, out;
  const float* dy;
  float* dx;
  THAW_HOST_DEVICE void operator()(int i) const {
    const int plane = i / in.plane(), iy = i % in.plane() / in.w, ix = i % in.w;
    const float* src = dy + plane * out.plane();
    float sum = 0.0f;
    for (int oy = 0; oy < out.h; ++oy) {
      const int y0 = bin_begin(oy, in.h, out.h), y1 = bin_end(oy, in.h, out.h);
      if (iy < y0 || iy >= y1) continue;
      for (int ox = 0; ox < out.w; ++ox) {
        const int x0 = bin_begin(ox, in.w, out.w), x1 = bin_end(ox, in.w, out.w);
        if (ix < x0 || ix >= x1) continue;
        sum += src[oy * out.w + ox] / float((y1 - y0) * (x1 - x0));
      }
    }
    dx[i] = sum;
  }
};

// Dropout's keep decision for element `index` of the stream `seed`: SplitMix64 of the pair,
// its top 24 bits as a uniform in [0, 1). A pure function, so the GPU's masks can be
// recomputed anywhere.
THAW_HOST_DEVICE inline bool dropout_keeps(std::uint64_t seed, std::uint64_t index, float keep_probability) {
  std::uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return float(z >> 40) * (1.0f / 16777216.0f) < keep_probability;
}

// Inverted dropout forward: keeps with probability `keep`, scales kept values by 1/keep.
// `replay_offset` (device memory; null outside CUDA Graphs) moves a captured pass's counter
// on at each replay.
struct DropoutForward {
  std::uint64_t seed, counter;
  const std::uint64_t* replay_offset;
  float keep, scale;
  const float* x;
  float* y;
  std::uint8_t* kept;
  THAW_HOST_DEVICE void operator()(int i) const {
    const std::uint64_t base = counter + (replay_offset ? *replay_offset : 0);
    const bool k = dropout_keeps(seed, base + std::uint64_t(i), keep);
    kept[i] = k;
    y[i] = k ? x[i] * scale : 0.0f;
  }
};

struct DropoutBackward {
  float scale;
  const std::uint8_t* kept;
  const float* dy;
  float* dx;
  THAW_HOST_DEVICE void operator()(int i) const { dx[i] = kept[i] ? dy[i] * scale : 0.0f; }
};

}  // namespace thaw::cuda
