// The installed thaw::cuda target in a user's .cu program: Model<Net, thaw::Cuda> with the same
// calls as on the CPU. It builds everywhere nvcc is; it trains one step where there is a GPU.
#include <cmath>
#include <cstdio>
#include <vector>

#include <thaw/backend/cuda/cuda.cuh>
#include <thaw/model/model.hpp>
#include <thaw/models/paper_cases.hpp>
#include <thaw/train/adam.hpp>
#include <thaw/train/model_training.hpp>

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("app_cuda: built against thaw::cuda (cuDNN %s); no CUDA device to run it on\n",
                THAW_CUDNN_ON_DEVICE ? "on" : "off");
    return 0;
  }
  thaw::Model<thaw::paper::MidLevelFE, thaw::Cuda> model(1);
  const xt::xtensor<float, 4> batch = xt::ones<float>({2, 3, 224, 224});
  const std::vector<float> labels{0, 1};
  thaw::train::Adam adam(model, {.lr = 1e-4});
  const float loss = model.train_step(batch, labels, adam);
  std::printf("app_cuda: one training step on the GPU, loss %g\n", loss);
  return std::isfinite(loss) ? 0 : 1;
}
