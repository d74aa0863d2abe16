// thaw/layers/linear.hpp — fully connected layer y = x W^T + b, described at compile time.
// Accepts a flattened input (Shape{in, 1, 1}); weight layout [out, in] as in PyTorch.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "thaw/core/shape.hpp"
#include "thaw/core/tags.hpp"

namespace thaw {

template <std::size_t InFeatures, std::size_t OutFeatures, class M>
struct Linear {
  static_assert(is_mode_v<M>,
                "thaw::Linear: the last template argument must be thaw::Frozen or thaw::Trainable");
  static_assert(InFeatures > 0 && OutFeatures > 0, "thaw::Linear: feature counts must be positive");

  using mode = M;
  static constexpr std::size_t in_features = InFeatures, out_features = OutFeatures;
  static constexpr bool has_parameters = true;
  static constexpr std::array<std::size_t, 2> weight_shape{OutFeatures, InFeatures};
  static constexpr std::size_t weight_size = OutFeatures * InFeatures;
  static constexpr std::size_t bias_size = OutFeatures;
  static constexpr std::size_t parameter_count = weight_size + bias_size;
  static constexpr std::size_t fan_in = InFeatures;

  // A flat vector of InFeatures; anything else (an unflattened map) is a mismatch.
  static constexpr Shape expected_input(Shape) { return {InFeatures, 1, 1}; }
  static constexpr Shape output_shape(Shape) { return {OutFeatures, 1, 1}; }
  static constexpr std::size_t forward_flops(Shape) { return OutFeatures * (2 * InFeatures + 1); }
  static constexpr std::size_t backward_data_flops(Shape) { return 2 * OutFeatures * InFeatures; }
  static constexpr std::size_t backward_weight_flops(Shape) { return OutFeatures * (2 * InFeatures + 1); }
  static constexpr std::size_t kept_bytes(Shape in, bool weight_grad) {
    return weight_grad ? in.size() * sizeof(float) : 0;
  }

  static std::string name() {
    return "Linear(" + std::to_string(InFeatures) + "->" + std::to_string(OutFeatures) + ")";
  }
};

}  // namespace thaw
