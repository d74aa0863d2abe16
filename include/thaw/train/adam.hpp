// thaw/train/adam.hpp — Adam and StepLR exactly as torch.optim defines them (single-tensor
// Adam: bias-corrected moments, eps added after the square root; StepLR multiplies the rate
// by gamma every `step_size` epochs). State exists for the trainable tensors only.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <string>
#include <vector>

#include "thaw/core/adam_update.hpp"

namespace thaw::train {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // L2 added to the gradient, as torch.optim.Adam (not AdamW)
};

// The constants of update number `step` (counting from 1), computed in double as
// torch.optim.Adam does and then rounded.
inline AdamScalars adam_scalars(const AdamOptions& options, std::uint64_t step) {
  const double bias_correction1 = 1 - std::pow(options.beta1, double(step));
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(options.beta2, double(step)));
  return {float(options.beta1), float(options.beta2), float(options.lr / bias_correction1),
          float(bias_correction2_sqrt), float(options.eps), float(options.weight_decay)};
}

// Whether Model's backend brings its own update of host tensors (thaw::Cpu: vectors, threads).
template <class Model>
concept backend_updates_adam = requires(const AdamScalars& s, std::span<float> p, std::span<const float> g, float* m) {
  Model::backend::adam_update(s, p, g, m, m);
};

class Adam {
 public:
  // Moments kept in a backend's memory, for models whose parameters live there (thaw::Cuda):
  // the backend's update (found by argument-dependent lookup as adam_step_resident) makes
  // them from the host moments, and exp_avg()/exp_avg_sq() read them back.
  struct ResidentMoments {
    virtual ~ResidentMoments() = default;
    virtual void upload(const std::vector<std::vector<float>>& exp_avg,
                        const std::vector<std::vector<float>>& exp_avg_sq) = 0;
    virtual void download(std::vector<std::vector<float>>& exp_avg, std::vector<std::vector<float>>& exp_avg_sq) = 0;
  };

  template <class Model>
  Adam(Model& model, AdamOptions options = {}) : options_(options) {
    if (!(options.lr > 0) || !(options.beta1 >= 0 && options.beta1 < 1) || !(options.beta2 >= 0 && options.beta2 < 1) ||
        !(options.eps > 0) || !(options.weight_decay >= 0))
      throw std::invalid_argument("thaw::train::Adam: need lr > 0, 0 <= beta1, beta2 < 1, eps > 0, weight_decay >= 0");
    for (const auto& [key, size] : model.trainable_tensors()) {
      keys_.push_back(key);
      exp_avg_.emplace_back(size, 0.0f);
      exp_avg_sq_.emplace_back(size, 0.0f);
    }
  }

  // One update of every trainable tensor of `model` from its current gradient.
  template <class Model>
  void step(Model& model) {
    ++step_;
    const AdamScalars scalars = adam_scalars(options_, step_);
    std::size_t t = 0;
    model.for_each_trainable([&](const std::string& key, auto params, auto grads) {
      if (t >= keys_.size() || keys_[t] != key)
        throw std::logic_error("thaw::train::Adam::step: '" + key + "' is not the tensor this optimizer was built for");
      if constexpr (std::is_same_v<decltype(params), std::span<float>>) {
        float* m = exp_avg_[t].data();
        float* v = exp_avg_sq_[t].data();
        if constexpr (backend_updates_adam<Model>)
          Model::backend::adam_update(scalars, params, grads, m, v);  // the backend's vector loop
        else
          adam_update(scalars, params.data(), grads.data(), m, v, 0, params.size());
      } else {  // parameters off the host: the backend's kernel, the same arithmetic
        adam_step_resident(*this, t, params, grads);
      }
      ++t;
    });
  }

  double lr() const { return options_.lr; }
  void set_lr(double lr) { options_.lr = lr; }
  std::uint64_t steps() const { return step_; }
  const AdamOptions& options() const { return options_; }

  // The optimizer state, for checkpoints: tensor keys, first and second moments, step count.
  // With moments in a backend's memory, these read them back, and the backend takes the host
  // copies again at the next step (the caller may have written them: a resumed checkpoint).
  const std::vector<std::string>& keys() const { return keys_; }
  std::vector<std::vector<float>>& exp_avg() {
    host_moments();
    return exp_avg_;
  }
  std::vector<std::vector<float>>& exp_avg_sq() {
    host_moments();
    return exp_avg_sq_;
  }

  // The backend's moments (a State, derived from ResidentMoments), made from the host
  // moments on first use and after the host moments were handed out.
  template <class State>
  State& resident_moments() {
    if (!resident_) {
      resident_ = std::make_shared<State>(exp_avg_, exp_avg_sq_);
    } else if (host_moments_handed_out_) {
      resident_->upload(exp_avg_, exp_avg_sq_);
    }
    host_moments_handed_out_ = false;
    return static_cast<State&>(*resident_);
  }
  void set_steps(std::uint64_t steps) { step_ = steps; }

  // Floats of state the optimizer holds (two moments per trainable parameter).
  std::size_t state_size() const {
    std::size_t n = 0;
    for (const auto& m : exp_avg_) n += 2 * m.size();
    return n;
  }

 private:
  AdamOptions options_;
  std::uint64_t step_ = 0;
  std::vector<std::string> keys_;
  std::vector<std::vector<float>> exp_avg_, exp_avg_sq_;
  // Copies of an Adam share these (copy an optimizer of a resident model only to read it).
  std::shared_ptr<ResidentMoments> resident_;
  bool host_moments_handed_out_ = false;

  void host_moments() {
    if (!resident_) return;
    resident_->download(exp_avg_, exp_avg_sq_);
    host_moments_handed_out_ = true;
  }
};

// torch.optim.lr_scheduler.StepLR: after every `step_size` calls of step(), lr *= gamma.
class StepLR {
 public:
  StepLR(Adam& optimizer, std::size_t step_size, double gamma = 0.1) : optimizer_(optimizer), step_size_(step_size), gamma_(gamma) {
    if (step_size == 0 || !(gamma > 0)) throw std::invalid_argument("thaw::train::StepLR: need step_size >= 1 and gamma > 0");
  }
  // Call once per epoch, after the epoch's optimizer steps (as in PyTorch).
  void step() {
    ++epoch_;
    if (epoch_ % step_size_ == 0) optimizer_.set_lr(optimizer_.lr() * gamma_);
  }
  std::size_t epoch() const { return epoch_; }
  void set_epoch(std::size_t epoch) { epoch_ = epoch; }

 private:
  Adam& optimizer_;
  std::size_t step_size_;
  double gamma_;
  std::size_t epoch_ = 0;
};

}  // namespace thaw::train
