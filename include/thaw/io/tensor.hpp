// thaw/io/tensor.hpp — a tensor as a weights file stores it (dtype, shape, values), the
// element conversions to float32, the step from a file's tensors to a StateDict, and the
// whole-file reads the loaders share.
#pragma once

#include <sys/mman.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "thaw/core/state_dict.hpp"

namespace thaw::io {

static_assert(std::endian::native == std::endian::little,
              "thaw's weight readers assume a little-endian machine, like the files they read");

// Thrown for a damaged, malicious or unsupported file; the message says where and what.
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class DType { F32, F16, BF16, I64 };

constexpr std::size_t element_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::I64: return 8;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    case DType::I64: return "int64";
  }
  return "?";
}

// IEEE binary16 -> binary32, exactly (subnormals, infinities and NaN included).
inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  const float magnitude = std::ldexp(float(mantissa), -24);  // zero or subnormal
  return sign ? -magnitude : magnitude;
}

// bfloat16 is the upper half of a float32.
inline float bfloat16_to_float(std::uint16_t b) { return std::bit_cast<float>(std::uint32_t(b) << 16); }

// Element `i` of a little-endian array of `t`, as a double (exact for every float type, and
// for int64 up to 2^53).
inline double element_at(const std::byte* data, DType t, std::size_t i) {
  switch (t) {
    case DType::F32: {
      float v;
      std::memcpy(&v, data + 4 * i, 4);
      return v;
    }
    case DType::F16:
    case DType::BF16: {
      std::uint16_t v;
      std::memcpy(&v, data + 2 * i, 2);
      return t == DType::F16 ? half_to_float(v) : bfloat16_to_float(v);
    }
    case DType::I64: {
      std::int64_t v;
      std::memcpy(&v, data + 8 * i, 8);
      return double(v);
    }
  }
  return 0;
}

// A tensor as stored: float types widened to float32 in `values` (shaped), int64 kept in
// `integers`; both C order.
struct Tensor {
  DType dtype = DType::F32;
  std::vector<std::size_t> shape;
  xt::xarray<float> values;
  std::vector<std::int64_t> integers;
};

using Tensors = std::map<std::string, Tensor>;

// A float tensor as it is; an int64 tensor (a counter such as BatchNorm's num_batches_tracked)
// as float when every value is exact in float32, an error otherwise.
inline xt::xarray<float> to_float_array(Tensor&& t, const std::string& key, const std::string& source) {
  if (t.dtype != DType::I64) return std::move(t.values);
  xt::xarray<float> a = xt::xarray<float>::from_shape(t.shape);
  for (std::size_t i = 0; i < t.integers.size(); ++i) {
    const std::int64_t v = t.integers[i];
    const float f = float(v);
    if (!(f > -9.2e18f && f < 9.2e18f) || std::int64_t(f) != v)  // guard the cast back
      throw FormatError(source + ": int64 tensor '" + key + "' holds " + std::to_string(v) +
                        ", which float32 cannot represent exactly");
    a.data()[i] = f;
  }
  return a;
}

inline StateDict to_state_dict(Tensors&& tensors, const std::string& source) {
  StateDict sd;
  for (auto& [key, t] : tensors) sd.emplace(key, to_float_array(std::move(t), key, source));
  return sd;
}

// Most of loading a large file is the kernel mapping fresh pages, one 4 KiB fault at a time;
// 2 MiB pages (transparent huge pages, where the system allows them) cut that to a few hundred.
inline void prefer_huge_pages(void* data, std::size_t bytes) {
  constexpr std::uintptr_t huge = std::uintptr_t(2) << 20;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + huge - 1) & ~(huge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(huge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

// A buffer that is not zeroed first: weight files are hundreds of megabytes.
struct Bytes {
  std::unique_ptr<std::byte[]> data;
  std::size_t size = 0;

  static Bytes allocate(std::size_t size) {
    Bytes b{std::unique_ptr<std::byte[]>(new std::byte[size]), size};
    prefer_huge_pages(b.data.get(), size);
    return b;
  }
  std::span<const std::byte> span() const { return {data.get(), size}; }
};

// 'path', for messages (built by appending: g++ 12 -O3 warns falsely on "'" + string + "'").
inline std::string quoted(const std::filesystem::path& path) {
  std::string s = "'";
  s.append(path.string()).append("'");
  return s;
}

inline Bytes read_file(const std::filesystem::path& path, const std::string& who) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(who + ": cannot open '" + path.string() + "'");
  const auto size = std::size_t(std::filesystem::file_size(path));
  Bytes all = Bytes::allocate(size);
  if (!in.read(reinterpret_cast<char*>(all.data.get()), std::streamsize(size)))
    throw FormatError(who + ": cannot read '" + path.string() + "'");
  return all;
}

}  // namespace thaw::io
