// libFuzzer target: a safetensors file from memory. Only FormatError may come out.
#include <cstddef>
#include <cstdint>
#include <span>

#include "thaw/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)thaw::io::read_safetensors(std::span(reinterpret_cast<const std::byte*>(data), size), "fuzz");
  } catch (const thaw::io::FormatError&) {
  }
  return 0;
}
