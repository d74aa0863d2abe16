// The README's first snippet, compiled as a user would: one include, a model type, weights
// from a folder of .npy files, inference.
#include <thaw/thaw.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  // Make a weights folder to load (a user would export one from PyTorch).
  thaw::io::save_npy_dir(argv[1], thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu>(42).state_dict());

  using Net = thaw::AlexNet<thaw::Freeze, thaw::Freeze, thaw::Train, thaw::Train, thaw::Freeze>;
  static_assert(thaw::trainable_parameter_count_v<Net> == 1'553'025);
  thaw::Model<Net, thaw::Cpu> model;                       // owns parameters + workspace
  model.load_state_dict(thaw::io::load_npy_dir(argv[1]));  // torchvision key names
  model.eval();
  xt::xtensor<float, 4> batch = xt::zeros<float>({2, 3, 224, 224});
  xt::xtensor<float, 2> logits = model.forward(batch);
  std::cout << "logits shape [" << logits.shape()[0] << ", " << logits.shape()[1] << "]\n";
  return logits.shape()[0] == 2 && logits.shape()[1] == 1 ? 0 : 1;
}
