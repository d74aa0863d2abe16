// thaw/backend/cuda/context.cuh — what the layers of one Model<Net, Cuda> share during a
// pass: the stream, cuBLAS and cuDNN handles, scratch, the dropout generator's state, what a
// CUDA Graph reads at each replay, and the train/dropout/TF32/cuDNN switches.
#pragma once

#include <cstddef>
#include <cstdint>

#include "thaw/backend/cuda/system.cuh"

namespace thaw::cuda {

// Grows `buffer` to hold `count` elements; allocation happens only when a larger batch arrives.
template <class T>
T* ensure(thrust::device_vector<T>& buffer, std::size_t count) {
  if (buffer.size() < count) buffer.resize(count);
  return thrust::raw_pointer_cast(buffer.data());
}

class Context {
 public:
  bool training = false;
  bool dropout = true;  // off: dropout is the identity even in train mode (for parity tests)
  // Dropout masks are a hash of (seed, counter + element): every pass draws fresh ones, and
  // a pass can be replayed by restoring the counter.
  std::uint64_t dropout_seed = 0, dropout_counter = 0;
  // While a CUDA Graph is captured (graph.cuh), the values that change from one replay to the
  // next are read from device memory, written before each replay: the dropout counter's
  // offset from its value at capture, and (adam.cuh) the optimizer's step constants. The loss
  // then stays on the device, in `loss`.
  bool capturing = false;
  thrust::device_vector<std::uint64_t> dropout_replay_offset;
  thrust::device_vector<double> loss;
  const std::uint64_t* replay_offset() {
    return capturing ? ensure(dropout_replay_offset, 1) : nullptr;
  }
  // Floats of im2col columns per convolution GEMM (512 MiB): the batch is split into chunks
  // of images whose column matrix fits.
  std::size_t column_budget_floats = std::size_t{1} << 27;
  thrust::device_vector<float> columns, products, ones;
  // Which convolution runs: cuDNN's exact algorithms (cudnn.cuh; where the build has cuDNN) or
  // thaw's im2col and cuBLAS. `automatic` takes cuDNN in TF32 mode and im2col in strict fp32,
  // the faster of the two in each mode on an H200 (benchmarks/gpu, 2026-11-27: mid-level step
  // at batch 32, 2.70x vs 1.79x PyTorch eager with TF32; 0.90x vs 0.97x in strict fp32).
  enum class Convolutions { automatic, cudnn, im2col };
  Convolutions convolutions = Convolutions::automatic;
  std::size_t cudnn_workspace_limit = std::size_t{1} << 29;  // bytes an algorithm may use
  thrust::device_vector<float> cudnn_workspace;

#if THAW_CUDA_ON_DEVICE
  Context() {
    // A blocking stream: it stays ordered with the legacy default stream that
    // device_vector's own allocations and fills use.
    check(cudaStreamCreate(&stream_), "cudaStreamCreate");
    check(cublasCreate(&blas_), "cublasCreate");
    check(cublasSetStream(blas_, stream_), "cublasSetStream");
    // cuBLAS's scratch given up front, so that no GEMM allocates while a graph is captured.
    blas_workspace_.resize(std::size_t{8} << 20);
    check(cublasSetWorkspace(blas_, thrust::raw_pointer_cast(blas_workspace_.data()), blas_workspace_.size() * 4),
          "cublasSetWorkspace");
#if THAW_CUDNN_ON_DEVICE
    check(cudnnCreate(&dnn_), "cudnnCreate");
    check(cudnnSetStream(dnn_, stream_), "cudnnSetStream");
#endif
    set_tf32(false);
  }
  ~Context() {
#if THAW_CUDNN_ON_DEVICE
    cudnnDestroy(dnn_);
#endif
    cublasDestroy(blas_);
    cudaStreamDestroy(stream_);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // fp32 GEMMs by default (parity with the CPU to ~1e-6); TF32 tensor cores only when asked
  // (about 1e-3 relative error in the products, several times the throughput).
  void set_tf32(bool on) {
    check(cublasSetMathMode(blas_, on ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    tf32_ = on;
  }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t blas() const { return blas_; }
#if THAW_CUDNN_ON_DEVICE
  cudnnHandle_t dnn() const { return dnn_; }
#endif
  // Thrust algorithms on the context's stream, without a synchronization after each.
  auto exec() const { return thrust::cuda::par_nosync.on(stream_); }
  void synchronize() const { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }
#else
  void set_tf32(bool on) { tf32_ = on; }  // the host reference GEMM is always fp32
  auto exec() const { return thrust::cpp::par; }
  void synchronize() const {}
#endif
  bool tf32() const { return tf32_; }
  bool uses_cudnn() const {
    return THAW_CUDNN_ON_DEVICE && (convolutions == Convolutions::cudnn ||
                                    (convolutions == Convolutions::automatic && tf32_));
  }

  // n ones, for bias gradients as GEMMs.
  const float* ones_of(std::size_t n) {
    if (ones.size() < n) ones.assign(n, 1.0f);
    return thrust::raw_pointer_cast(ones.data());
  }

 private:
  bool tf32_ = false;
#if THAW_CUDA_ON_DEVICE
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  thrust::device_vector<float> blas_workspace_;
#endif
#if THAW_CUDNN_ON_DEVICE
  cudnnHandle_t dnn_ = nullptr;
#endif
};

}  // namespace thaw::cuda
