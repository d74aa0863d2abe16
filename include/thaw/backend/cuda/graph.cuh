// thaw/backend/cuda/graph.cuh — CUDA Graphs: a pass of static shape captured once and replayed
// with one launch, instead of a hundred kernel launches and a host round trip per step. Every
// shape in a thaw network is fixed by its type, so a whole training step (forward, loss,
// generated backward, Adam) can be captured. Kernel arguments freeze at capture; what changes
// from one step to the next (the dropout counter, Adam's bias corrections, the loss) is read
// from or written to device memory while Context::capturing is set (context.cuh, adam.cuh).
#pragma once

#include "thaw/backend/cuda/system.cuh"

#if THAW_CUDA_ON_DEVICE
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include <thrust/fill.h>

#include "thaw/backend/cuda/adam.cuh"
#include "thaw/backend/cuda/context.cuh"
#include "thaw/backend/cuda/memory.cuh"

namespace thaw::cuda {

// `work` on the context's stream, captured as a graph. It must allocate nothing and wait for
// nothing: run it once uncaptured first, which sizes every buffer and plans cuDNN. A graph
// holds the addresses of the model's buffers: a later pass with a larger batch on the same
// model grows them and leaves the graph pointing at freed memory, so capture at the largest
// batch first (smaller batches reuse the buffers) or keep one model per batch size.
class Graph {
 public:
  template <class Work>
  Graph(Context& ctx, Work&& work) {
    thrust::fill_n(ctx.exec(), ensure(ctx.dropout_replay_offset, 1), 1, std::uint64_t{0});
    ctx.synchronize();
    check(cudaStreamBeginCapture(ctx.stream(), cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    ctx.capturing = true;
    cudaGraph_t graph = nullptr;
    try {
      work();
    } catch (...) {
      ctx.capturing = false;
      cudaStreamEndCapture(ctx.stream(), &graph);
      if (graph) cudaGraphDestroy(graph);
      throw;
    }
    ctx.capturing = false;
    check(cudaStreamEndCapture(ctx.stream(), &graph),
          "cudaStreamEndCapture (the captured work allocated memory or waited for the GPU: run it once uncaptured "
          "first)");
    const cudaError_t made = cudaGraphInstantiate(&exec_, graph, 0);
    cudaGraphDestroy(graph);
    check(made, "cudaGraphInstantiate");
  }
  ~Graph() {
    if (exec_) cudaGraphExecDestroy(exec_);
  }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Enqueues the captured work on the context's stream; returns at once.
  void replay(const Context& ctx) const { check(cudaGraphLaunch(exec_, ctx.stream()), "cudaGraphLaunch"); }

 private:
  cudaGraphExec_t exec_ = nullptr;
};

// model.train_step_resident<Start>(inputs, n, labels, adam) on fixed device buffers, as a
// graph: the first call runs the step as usual and captures it, every later call replays it.
// Replays compute what uncaptured steps would, bit for bit: the same dropout masks (the
// counter moves on as before), the same Adam step count and updates.
// Write each new batch into `inputs` and `labels` between calls.
template <class Model, std::size_t Start = 0>
class CapturedTrainStep {
 public:
  CapturedTrainStep(Model& model, train::Adam& adam, const float* inputs, std::size_t n, const float* labels)
      : model_(model), adam_(adam), inputs_(inputs), labels_(labels), n_(n) {}

  // One step; returns its loss (waiting for it).
  float operator()() {
    if (!graph_) return first_step();
    enqueue();
    return loss();
  }

  // One step without waiting (from the second call on; the first call captures and waits).
  void enqueue() {
    if (!graph_) {
      first_step();
      return;
    }
    Context& ctx = model_.context();
    adam_.set_steps(adam_.steps() + 1);
    auto& moments = adam_.template resident_moments<ResidentAdamMoments>();
    thrust::fill_n(ctx.exec(), moments.replay_scalars.begin(), 1, adam_scalars(adam_.options(), adam_.steps()));
    thrust::fill_n(ctx.exec(), ctx.dropout_replay_offset.begin(), 1, ctx.dropout_counter - captured_counter_);
    graph_->replay(ctx);
    ctx.dropout_counter += drawn_;
  }

  // The last step's loss (waits for it); a NaN or infinite loss is an error, as in train_step.
  float loss() const {
    double value = 0;
    download(model_.context(), thrust::raw_pointer_cast(model_.context().loss.data()), 1, &value);
    if (!std::isfinite(value))
      throw std::runtime_error("thaw::cuda::CapturedTrainStep: optimizer step " + std::to_string(adam_.steps()) +
                               ": the loss is " + (std::isnan(value) ? "NaN" : "infinite") +
                               "; run model.train_step on the batch to find the layer (check the inputs; lower "
                               "the learning rate)");
    return float(value);
  }

 private:
  float step() { return model_.template train_step_resident<Start>(inputs_, n_, labels_, adam_); }
  float first_step() {
    const float loss = step();
    Context& ctx = model_.context();
    captured_counter_ = ctx.dropout_counter;
    const std::uint64_t steps = adam_.steps();
    graph_.emplace(ctx, [&] { step(); });  // records the work; runs nothing
    drawn_ = ctx.dropout_counter - captured_counter_;
    ctx.dropout_counter = captured_counter_;
    adam_.set_steps(steps);
    return loss;
  }

  Model& model_;
  train::Adam& adam_;
  const float* inputs_;
  const float* labels_;
  std::size_t n_;
  std::optional<Graph> graph_;
  std::uint64_t captured_counter_ = 0, drawn_ = 0;
};

}  // namespace thaw::cuda
#endif
