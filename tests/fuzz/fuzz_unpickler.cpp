// libFuzzer target: the closed unpickler on arbitrary bytes, with torch's persistent IDs, then
// the walk that collects tensors. Only FormatError may come out.
#include <cstddef>
#include <cstdint>
#include <span>

#include "thaw/io/torch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const bool legacy = size % 2 == 1;  // both persistent-ID forms get explored
  try {
    thaw::io::pickle::Unpickler unpickler(bytes, [legacy](const thaw::io::pickle::Value& pid, std::size_t at) {
      return thaw::io::detail::storage_from_pid(pid, at, legacy);
    });
    const auto top = unpickler.load();
    (void)thaw::io::detail::tensors_of(*top);
  } catch (const thaw::io::FormatError&) {
  }
  return 0;
}
