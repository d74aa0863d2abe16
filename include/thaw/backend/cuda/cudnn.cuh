// thaw/backend/cuda/cudnn.cuh — convolutions through cuDNN, where it is built in (THAW_CUDNN,
// which CMake's thaw::cuda target defines when it finds cuDNN). cuDNN's implicit-GEMM kernels
// read the image directly, so they skip the im2col matrix (up to 600 MB for conv2 at batch
// 128) that the cuBLAS path writes and reads back; with TF32 on an H200 that made the
// mid-level step 1.5x faster than thaw's im2col, while in strict fp32 im2col was the faster
// (Context::convolutions picks by mode). The bias and ReLU stay thaw's one fused pass.
//
// A plan (descriptors and algorithms) is made per batch size and math mode, once, from cuDNN's
// heuristic ranking rather than by timing: timing picks differently from run to run, and the
// same model must give the same bits in every run and replay (CUDA Graphs included). Only
// exact, deterministic algorithms are taken (see exact_sum). Strict fp32 restricts cuDNN to FMA
// kernels; TF32 mode lets it use tensor cores, as PyTorch's default. THAW_CUDNN_LOG=1 prints
// each plan's choice to stderr.
#pragma once

#include "thaw/backend/cuda/system.cuh"

#if THAW_CUDNN_ON_DEVICE
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "thaw/backend/cuda/context.cuh"
#include "thaw/backend/cuda/kernels.cuh"

namespace thaw::cuda {

// The algorithms thaw lets cuDNN run: direct sums (implicit or explicit GEMM), which are
// deterministic and as exact as an fp32 GEMM. FFT and Winograd transforms are left out: on an
// H200 cuDNN's timing picked them and gradients drifted from the CPU's by up to 7% of a
// tensor's largest element, far beyond fp32 rounding.
inline bool exact_sum(cudnnConvolutionFwdAlgo_t a) {
  return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}
inline bool exact_sum(cudnnConvolutionBwdDataAlgo_t a) { return a == CUDNN_CONVOLUTION_BWD_DATA_ALGO_1; }
inline bool exact_sum(cudnnConvolutionBwdFilterAlgo_t a) { return a == CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1; }

// The first of cuDNN's heuristic ranking (a fixed order for a shape and GPU, unlike timing)
// that is an exact sum, deterministic, within the workspace limit and, for strict fp32, free
// of tensor cores; nullopt when none is.
template <class Perf>
std::optional<Perf> first_exact(const Perf* ranked, int count, std::size_t workspace_limit, bool strict) {
  for (int i = 0; i < count; ++i)
    if (ranked[i].status == CUDNN_STATUS_SUCCESS && ranked[i].determinism == CUDNN_DETERMINISTIC &&
        exact_sum(ranked[i].algo) && ranked[i].memory <= workspace_limit &&
        (!strict || ranked[i].mathType == CUDNN_FMA_MATH))
      return ranked[i];
  return std::nullopt;
}

// One convolution layer's cuDNN descriptors and algorithms for a batch size and math mode.
class CudnnConvolution {
 public:
  CudnnConvolution(Context& ctx, const ConvDims& g, int batch, bool tf32) {
    check(cudnnCreateTensorDescriptor(&x_), "cudnnCreateTensorDescriptor");
    check(cudnnCreateTensorDescriptor(&y_), "cudnnCreateTensorDescriptor");
    check(cudnnCreateTensorDescriptor(&bias_), "cudnnCreateTensorDescriptor");
    check(cudnnCreateFilterDescriptor(&w_), "cudnnCreateFilterDescriptor");
    check(cudnnCreateConvolutionDescriptor(&conv_), "cudnnCreateConvolutionDescriptor");
    check(cudnnSetTensor4dDescriptor(x_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, batch, g.in.c, g.in.h, g.in.w),
          "cudnnSetTensor4dDescriptor");
    check(cudnnSetTensor4dDescriptor(y_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, batch, g.out.c, g.out.h, g.out.w),
          "cudnnSetTensor4dDescriptor");
    check(cudnnSetTensor4dDescriptor(bias_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, g.out.c, 1, 1),
          "cudnnSetTensor4dDescriptor");
    check(cudnnSetFilter4dDescriptor(w_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, g.out.c, g.in.c, g.kernel, g.kernel),
          "cudnnSetFilter4dDescriptor");
    // Cross-correlation, as PyTorch's Conv2d.
    check(cudnnSetConvolution2dDescriptor(conv_, g.padding, g.padding, g.stride, g.stride, 1, 1,
                                          CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
          "cudnnSetConvolution2dDescriptor");
    check(cudnnSetConvolutionMathType(conv_, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH),
          "cudnnSetConvolutionMathType");
    constexpr int candidates = 16;
    int found = 0;
    const std::size_t limit = ctx.cudnn_workspace_limit;
    cudnnConvolutionFwdAlgoPerf_t fwd[candidates];
    check(cudnnGetConvolutionForwardAlgorithm_v7(ctx.dnn(), x_, w_, conv_, y_, candidates, &found, fwd),
          "cudnnGetConvolutionForwardAlgorithm_v7");
    const auto forward = first_exact(fwd, found, limit, !tf32);
    cudnnConvolutionBwdDataAlgoPerf_t data[candidates];
    check(cudnnGetConvolutionBackwardDataAlgorithm_v7(ctx.dnn(), w_, y_, conv_, x_, candidates, &found, data),
          "cudnnGetConvolutionBackwardDataAlgorithm_v7");
    const auto backward_data = first_exact(data, found, limit, !tf32);
    cudnnConvolutionBwdFilterAlgoPerf_t filter[candidates];
    check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(ctx.dnn(), x_, y_, conv_, w_, candidates, &found, filter),
          "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
    const auto backward_filter = first_exact(filter, found, limit, !tf32);
    usable_ = forward && backward_data && backward_filter;
    if (usable_) {
      forward_ = forward->algo;
      backward_data_ = backward_data->algo;
      backward_filter_ = backward_filter->algo;
      workspace_ = std::max({forward->memory, backward_data->memory, backward_filter->memory});
    }
    if (std::getenv("THAW_CUDNN_LOG"))
      std::fprintf(stderr,
                   "thaw: cuDNN %dx%dx%d -> %dx%dx%d (k%d s%d p%d), batch %d, %s: %s (forward %d, input gradient %d, "
                   "weight gradient %d, workspace %zu bytes)\n",
                   g.in.c, g.in.h, g.in.w, g.out.c, g.out.h, g.out.w, g.kernel, g.stride, g.padding, batch,
                   tf32 ? "TF32" : "fp32", usable_ ? "cuDNN" : "no exact deterministic algorithm, im2col",
                   int(forward_), int(backward_data_), int(backward_filter_), workspace_);
  }
  ~CudnnConvolution() {
    cudnnDestroyConvolutionDescriptor(conv_);
    cudnnDestroyFilterDescriptor(w_);
    cudnnDestroyTensorDescriptor(bias_);
    cudnnDestroyTensorDescriptor(y_);
    cudnnDestroyTensorDescriptor(x_);
  }
  CudnnConvolution(const CudnnConvolution&) = delete;
  CudnnConvolution& operator=(const CudnnConvolution&) = delete;

  // Whether cuDNN offered exact, deterministic algorithms for all three passes; if not, the
  // layer runs thaw's im2col convolution.
  bool usable() const { return usable_; }

  void forward(Context& ctx, const float* x, const float* weight, float* y) const {
    const float one = 1, zero = 0;
    check(cudnnConvolutionForward(ctx.dnn(), &one, x_, x, w_, weight, conv_, forward_, workspace(ctx), workspace_,
                                  &zero, y_, y),
          "cudnnConvolutionForward");
  }
  void backward(Context& ctx, const float* x, const float* dz, const float* weight, float* dweight, float* dbias,
                float* dx) const {
    const float one = 1, zero = 0;
    if (dbias) check(cudnnConvolutionBackwardBias(ctx.dnn(), &one, y_, dz, &zero, bias_, dbias), "bias gradient");
    if (dweight)
      check(cudnnConvolutionBackwardFilter(ctx.dnn(), &one, x_, x, y_, dz, conv_, backward_filter_, workspace(ctx),
                                           workspace_, &zero, w_, dweight),
            "cudnnConvolutionBackwardFilter");
    if (dx)
      check(cudnnConvolutionBackwardData(ctx.dnn(), &one, w_, weight, y_, dz, conv_, backward_data_, workspace(ctx),
                                         workspace_, &zero, x_, dx),
            "cudnnConvolutionBackwardData");
  }

 private:
  void* workspace(Context& ctx) const { return ensure(ctx.cudnn_workspace, (workspace_ + 3) / 4); }

  cudnnTensorDescriptor_t x_ = nullptr, y_ = nullptr, bias_ = nullptr;
  cudnnFilterDescriptor_t w_ = nullptr;
  cudnnConvolutionDescriptor_t conv_ = nullptr;
  cudnnConvolutionFwdAlgo_t forward_{};
  cudnnConvolutionBwdDataAlgo_t backward_data_{};
  cudnnConvolutionBwdFilterAlgo_t backward_filter_{};
  std::size_t workspace_ = 0;
  bool usable_ = false;
};

// A convolution layer's plans, one per (batch size, TF32) it has run with.
class CudnnPlans {
 public:
  const CudnnConvolution& operator()(Context& ctx, const ConvDims& g, std::size_t batch) {
    const auto key = std::make_pair(checked_int(batch, "a batch"), ctx.tf32());
    auto it = plans_.find(key);
    if (it == plans_.end())
      it = plans_.emplace(key, std::make_unique<CudnnConvolution>(ctx, g, key.first, key.second)).first;
    return *it->second;
  }

 private:
  std::map<std::pair<int, bool>, std::unique_ptr<CudnnConvolution>> plans_;
};

// y = act(conv(x, W) + b): cuDNN's convolution, then thaw's bias and ReLU pass. False (and
// nothing done) where cuDNN has no exact algorithm for the layer.
inline bool cudnn_conv2d_forward(Context& ctx, CudnnPlans& plans, const ConvDims& g, const float* x,
                                 std::size_t batch, const float* weight, const float* bias, bool relu, float* y) {
  const CudnnConvolution& plan = plans(ctx, g, batch);
  if (!plan.usable()) return false;
  plan.forward(ctx, x, weight, y);
  launch(ctx.exec(), batch * std::size_t(g.out.size()), BiasActivation{bias, g.out.c, g.out.plane(), relu, y},
         "conv bias/ReLU");
  return true;
}

// Backward of the same; dz is scratch for the gradient at the convolution's output.
inline bool cudnn_conv2d_backward(Context& ctx, CudnnPlans& plans, const ConvDims& g, const float* x,
                                  const float* y, const float* dy, std::size_t batch, const float* weight, bool relu,
                                  float* dz, float* dweight, float* dbias, float* dx) {
  const CudnnConvolution& plan = plans(ctx, g, batch);
  if (!plan.usable()) return false;
  launch(ctx.exec(), batch * std::size_t(g.out.size()), ReluGrad{y, dy, relu, dz}, "conv ReLU gradient");
  plan.backward(ctx, x, dz, weight, dweight, dbias, dx);
  return true;
}

}  // namespace thaw::cuda
#endif
