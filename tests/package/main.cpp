// The README's first snippet, compiled as a user would: one include, a model type, pretrained
// weights with a fresh head, inference; plus the safetensors round trip and a .pth read, so
// that libzip and nlohmann-json come through the installed package too.
#include <thaw/thaw.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 3) return 2;  // WORK_DIR, a .pth file (tests/data/torch-2.11/fixture_zip.pth)
  const std::string imagenet = std::string(argv[1]) + "/imagenet.safetensors";
  using ImageNet = thaw::AlexNet<thaw::Freeze, thaw::Freeze, thaw::Freeze, thaw::Freeze, thaw::Freeze,
                                 thaw::Freeze, thaw::Freeze, thaw::Train, 1000>;
  thaw::io::save_safetensors(imagenet, thaw::Model<ImageNet, thaw::Cpu>(42).state_dict());

  using Net = thaw::AlexNet<thaw::Freeze, thaw::Freeze, thaw::Train, thaw::Train, thaw::Freeze>;
  static_assert(thaw::trainable_parameter_count_v<Net> == 1'553'025);
  thaw::Model<Net, thaw::Cpu> model;  // owns parameters + workspace
  auto report = model.load_pretrained(thaw::io::load_safetensors(imagenet));
  std::cout << report.summary() << "\n";
  model.eval();
  xt::xtensor<float, 4> batch = xt::zeros<float>({2, 3, 224, 224});
  xt::xtensor<float, 2> logits = model.forward(batch);
  std::cout << "logits shape [" << logits.shape()[0] << ", " << logits.shape()[1] << "]\n";
  const auto pth = thaw::io::load_torch(argv[2]);
  std::cout << argv[2] << ": " << pth.size() << " tensors\n";
  return logits.shape()[0] == 2 && logits.shape()[1] == 1 && report.loaded.size() == 14 && pth.size() == 8 ? 0 : 1;
}
