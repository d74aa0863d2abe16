// libFuzzer target: a whole PyTorch file from memory (zip through libzip, or legacy stream),
// tensors rebuilt and bounds-checked. Only FormatError may come out.
#include <cstddef>
#include <cstdint>
#include <span>

#include "thaw/io/torch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    thaw::io::TorchLimits limits;
    limits.max_storage_bytes = 1 << 24;
    (void)thaw::io::read_torch(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz", limits);
  } catch (const thaw::io::FormatError&) {
  }
  return 0;
}
