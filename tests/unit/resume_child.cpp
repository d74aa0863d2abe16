// A training run for the kill-and-resume test: trains the small binary net on synthetic data
// with a checkpoint, then writes the final parameters.
//   thaw_resume_child CHECKPOINT FINAL.safetensors EPOCHS
#include <cstdlib>
#include <string>

#include <xtensor/xrandom.hpp>

#include "small_net.hpp"
#include "thaw/train/trainer.hpp"

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  thaw::set_num_threads(1);
  xt::random::seed(21);
  const std::size_t n = 12000;  // enough work that an epoch takes a while (~0.2 s)
  thaw::train::Dataset data{xt::random::randn<float>({n, std::size_t{3}, std::size_t{16}, std::size_t{16}}), {}};
  for (std::size_t i = 0; i < n; ++i) {
    data.labels.push_back(float(i % 2));
    for (std::size_t k = 0; k < 768; ++k) data.images.data()[i * 768 + k] += (i % 2) ? 0.5f : -0.5f;
  }
  thaw::Model<thaw_test::SmallBinaryNet, thaw::Cpu> model(3);
  thaw::train::TrainerOptions options;
  options.epochs = std::size_t(std::atoi(argv[3]));
  options.batch_size = 8;
  options.seed = 4;
  options.lr_step = 2;
  options.checkpoint = argv[1];
  options.cache_bytes = 0;  // every epoch does the full work
  thaw::train::Trainer(model, options).fit(data);
  thaw::io::save_safetensors(argv[2], model.state_dict());
}
