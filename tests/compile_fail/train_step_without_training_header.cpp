// A training member of a Model called where thaw/train/model_training.hpp is not included: the
// loss and backward live in train/, above model/, and the error names the header to include.
// expect: #include <thaw/train/model_training.hpp>
#include <cstddef>
#include <random>
#include <span>

#include "thaw/core/host_memory.hpp"
#include "thaw/layers/relu.hpp"
#include "thaw/model/model.hpp"
#if !defined(THAW_SHOULD_FAIL)
#include "thaw/train/model_training.hpp"
#endif

// A backend with identity kernels: enough for a Model of parameter-free layers, without Eigen.
struct IdentityBackend : thaw::HostMemory {
  struct context {
    bool training = true;
    bool dropout = true;
    std::mt19937_64 dropout_rng;
  };
  template <class Layer, thaw::Shape In, bool FusedRelu>
  struct layer {
    const float* forward(const float* x, std::size_t, context&) { return x; }
    const float* backward(const float*, const float* dy, std::size_t, bool, context&) { return dy; }
  };
};

using Net = thaw::Net<thaw::Input<1, 1, 1>, thaw::ReLU>;

float loss_of(thaw::Model<Net, IdentityBackend>& model, const xt::xtensor<float, 4>& batch,
              std::span<const float> labels) {
  return model.compute_gradients(batch, labels);
}
