// Times thaw::io::load_torch / load_safetensors on one file: the best of N loads, in seconds,
// as one JSON line; with SAVE_AS, also writes what it loaded as safetensors. load_vs_torch.py
// runs it beside torch.load on the same files.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "thaw/io/safetensors.hpp"
#include "thaw/io/torch.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: load_weights FILE [REPEATS [SAVE_AS.safetensors]]\n  FILE: a torch.save'd state dict (.pth) or .safetensors\n");
    return 2;
  }
  const std::filesystem::path path = argv[1];
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  const bool safetensors = path.extension() == ".safetensors";
  double best = 1e300;
  thaw::StateDict sd;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    sd = safetensors ? thaw::io::load_safetensors(path) : thaw::io::load_torch(path);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (argc > 3) thaw::io::save_safetensors(argv[3], sd);
  const std::size_t tensors = sd.size();
  std::printf("{\"seconds\": %.6f, \"tensors\": %zu}\n", best, tensors);
}
