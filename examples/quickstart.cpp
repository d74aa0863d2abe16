// examples/quickstart.cpp — what thaw's types know before anything runs (the cost of the
// paper's nine freeze patterns), then a forward pass of the mid-level feature extractor.
//
//   quickstart [--weights FILE|DIR] [--batch N] [--threads N]
//
// FILE is torchvision's alexnet-owt-7be5be79.pth (or -4df8aa71.pth), any torch.save'd AlexNet
// state dict, or a .safetensors file: its ImageNet body is loaded and the 1-logit head drawn
// afresh. DIR holds torchvision-named <key>.npy files. Without either the weights are random.
#include <thaw/thaw.hpp>
#include <thaw/io/weights.hpp>

#include "cli_options.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <tuple>

#include <xtensor/xrandom.hpp>

namespace {

struct Options {
  std::string weights;
  std::size_t batch = 8;
  int threads = 0;  // 0: OpenMP's default
};

Options parse(int argc, char** argv) {
  Options o;
  CLI::App app{"The nine freeze patterns' cost, then a forward pass of the mid-level feature extractor.",
               "quickstart"};
  app.add_option("--weights", o.weights, "torchvision AlexNet .pth/.safetensors file or a folder of <key>.npy")
      ->type_name("FILE|DIR");
  app.add_option("--batch", o.batch, "images per forward pass")->check(thaw_examples::whole_number(1))->capture_default_str();
  app.add_option("--threads", o.threads, "OpenMP threads (0: OpenMP's default)")
      ->check(thaw_examples::whole_number(0))
      ->capture_default_str();
  thaw_examples::parse_or_exit(app, argc, argv);
  return o;
}

void print_cost_table() {
  std::printf("Cost of one training step per image, known at compile time (thaw::cost_v):\n\n");
  std::printf("  %-14s %-11s %12s %10s %10s %12s %12s\n", "case", "CL1..CL5", "trainable", "fwd GFLOP",
              "bwd GFLOP", "kept MB/img", "grad+Adam MB");
  std::apply(
      [](auto... c) {
        (
            [&] {
              using Net = typename decltype(c)::net;
              constexpr thaw::Cost cost = thaw::cost_v<Net>;
              std::string pattern;
              for (std::size_t i : {1, 4, 7, 9, 11}) pattern += Net::trainable[i] ? 'T' : 'F';
              std::printf("  %-14.*s %-11s %12zu %10.3f %10.3f %12.2f %12.1f\n", int(c.name.size()),
                          c.name.data(), pattern.c_str(), thaw::trainable_parameter_count_v<Net>,
                          cost.forward_flops / 1e9, cost.backward_flops / 1e9, cost.kept_activation_bytes / 1e6,
                          (cost.gradient_bytes + cost.optimizer_state_bytes) / 1e6);
            }(),
            ...);
      },
      thaw::paper::cases);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) try {
  const Options opt = parse(argc, argv);
  if (opt.threads > 0) thaw::set_num_threads(opt.threads);
  print_cost_table();

  using Net = thaw::paper::MidLevelFE;
  thaw::Model<Net, thaw::Cpu> model(/*seed=*/2020);
  if (!opt.weights.empty()) {
    const auto report = model.load_pretrained(thaw::io::load_weights(opt.weights));
    std::printf("%s: %s\n", opt.weights.c_str(), report.summary().c_str());
  } else {
    std::printf("weights: random (seed 2020); pass --weights alexnet-owt-7be5be79.pth for ImageNet's\n");
  }
  model.eval();

  xt::random::seed(1);
  const xt::xtensor<float, 4> batch = xt::random::randn<float>({opt.batch, std::size_t{3}, std::size_t{224}, std::size_t{224}});
  xt::xtensor<float, 2> logits;
  model.forward(batch, logits);  // first call sizes the buffers
  constexpr int repeats = 3;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < repeats; ++r) model.forward(batch, logits);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf("mid-level FE forward (eval), %d thread(s): input [%zu, 3, 224, 224] -> logits [%zu, %zu]\n",
              thaw::num_threads(), opt.batch, logits.shape()[0], logits.shape()[1]);
  std::printf("  %.1f images/s (%.1f ms per batch, mean of %d)\n", repeats * opt.batch / seconds,
              1e3 * seconds / repeats, repeats);
  std::printf("  first logits:");
  for (std::size_t i = 0; i < std::min<std::size_t>(opt.batch, 4); ++i) std::printf(" %.4f", logits(i, 0));
  std::printf("\n");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "quickstart: %s\n", e.what());
  return 1;
}
