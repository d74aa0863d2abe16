// thaw/io/safetensors.hpp — the safetensors format (huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}, then
// the tensors' bytes. thaw's trained models and checkpoints use it: no code runs on load, and
// the reader validates the header the way the reference implementation does.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "thaw/io/atomic_file.hpp"
#include "thaw/io/tensor.hpp"

namespace thaw::io {

using Metadata = std::map<std::string, std::string>;

struct Safetensors {
  StateDict tensors;
  Metadata metadata;  // the "__metadata__" string map
};

namespace detail {

inline constexpr std::uint64_t safetensors_max_header = 100'000'000;  // as the reference reader

inline DType safetensors_dtype(const std::string& name, const std::string& key) {
  if (name == "F32") return DType::F32;
  if (name == "F16") return DType::F16;
  if (name == "BF16") return DType::BF16;
  if (name == "I64") return DType::I64;
  throw FormatError("tensor '" + key + "' has dtype '" + name + "'; thaw reads F32, F16, BF16 and I64");
}

inline Safetensors parse_safetensors(std::span<const std::byte> bytes) {
  if (bytes.size() < 8) throw FormatError("shorter than the 8-byte header length");
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > safetensors_max_header) throw FormatError("header length " + std::to_string(n) + " is over the 100 MB limit");
  if (n > bytes.size() - 8)
    throw FormatError("header length " + std::to_string(n) + " runs past the end of the file (" +
                      std::to_string(bytes.size()) + " bytes)");
  const char* header = reinterpret_cast<const char*>(bytes.data() + 8);
  const auto buffer = bytes.subspan(8 + n);

  // Duplicate names are an error in the format; nlohmann would keep the last one silently.
  std::set<std::string> seen;
  const auto no_duplicates = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key && !seen.insert(parsed.get<std::string>()).second)
      throw FormatError("the header names '" + parsed.get<std::string>() + "' twice");
    return true;
  };
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(header, header + n, no_duplicates);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(std::string("the header is not valid JSON: ") + e.what());
  }
  if (!json.is_object()) throw FormatError("the header is not a JSON object");

  Safetensors out;
  struct Span { std::uint64_t begin, end; std::string key; };
  std::vector<Span> spans;
  for (const auto& item : json.items()) {
    const std::string key = item.key();  // not a structured binding: lambdas below capture it
    const auto& entry = item.value();
    if (key == "__metadata__") {
      if (!entry.is_object()) throw FormatError("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw FormatError("__metadata__ value '" + k + "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const auto bad = [&](const std::string& what) { return FormatError("tensor '" + key + "': " + what); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets") ||
        !entry["dtype"].is_string() || !entry["shape"].is_array() || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2 || !entry["data_offsets"][0].is_number_unsigned() ||
        !entry["data_offsets"][1].is_number_unsigned())
      throw bad("needs dtype (string), shape (array) and data_offsets ([begin, end])");
    const DType dtype = safetensors_dtype(entry["dtype"].get<std::string>(), key);
    std::vector<std::size_t> shape;
    std::uint64_t numel = 1;
    for (const auto& e : entry["shape"]) {
      if (!e.is_number_unsigned()) throw bad("shape entries must be non-negative integers");
      const auto d = e.get<std::uint64_t>();
      if (d != 0 && numel > (std::uint64_t(1) << 40) / d) throw bad("more than 2^40 elements");
      numel *= d;
      shape.push_back(std::size_t(d));
    }
    const auto begin = entry["data_offsets"][0].get<std::uint64_t>(), end = entry["data_offsets"][1].get<std::uint64_t>();
    if (end < begin || end > buffer.size())
      throw bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] lie outside the " +
                std::to_string(buffer.size()) + "-byte buffer");
    if (end - begin != numel * element_size(dtype))
      throw bad("data_offsets cover " + std::to_string(end - begin) + " bytes but shape " + shape_string(shape) + " of " +
                dtype_name(dtype) + " needs " + std::to_string(numel * element_size(dtype)));
    spans.push_back({begin, end, key});
    const std::byte* data = buffer.data() + begin;
    xt::xarray<float> values;
    if (dtype == DType::F32) {
      values = xt::xarray<float>::from_shape(shape);
      prefer_huge_pages(values.data(), 4 * values.size());
      if (numel > 0) std::memcpy(values.data(), data, 4 * std::size_t(numel));
    } else {
      Tensor t{dtype, shape, xt::xarray<float>::from_shape(shape), {}};
      if (dtype == DType::I64) {
        t.integers.resize(std::size_t(numel));
        if (numel > 0) std::memcpy(t.integers.data(), data, 8 * std::size_t(numel));
      } else {
        for (std::size_t i = 0; i < numel; ++i) t.values.data()[i] = float(element_at(data, dtype, i));
      }
      values = to_float_array(std::move(t), key, "");
    }
    out.tensors.emplace(key, std::move(values));
  }
  // The tensors must tile the buffer exactly: no holes, no overlaps, nothing after the end.
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return std::pair(a.begin, a.end) < std::pair(b.begin, b.end); });
  std::uint64_t covered = 0;
  for (const auto& s : spans) {
    if (s.begin != covered)
      throw FormatError("tensor '" + s.key + "' starts at byte " + std::to_string(s.begin) + " of the buffer, expected " +
                        std::to_string(covered) + (s.begin < covered ? " (overlap)" : " (hole)"));
    covered = s.end;
  }
  if (covered != buffer.size())
    throw FormatError("the tensors cover " + std::to_string(covered) + " of the buffer's " +
                      std::to_string(buffer.size()) + " bytes");
  return out;
}

}  // namespace detail

inline Safetensors read_safetensors(std::span<const std::byte> bytes, const std::string& source = "<memory>") {
  try {
    return detail::parse_safetensors(bytes);
  } catch (const FormatError& e) {
    throw FormatError("thaw::io::read_safetensors: " + source + ": " + e.what());
  }
}

inline Safetensors read_safetensors(const std::filesystem::path& path) {
  return read_safetensors(read_file(path, "thaw::io::read_safetensors").span(), quoted(path));
}

inline StateDict load_safetensors(const std::filesystem::path& path) { return read_safetensors(path).tensors; }

// Writes `sd` as float32 tensors in name order, with the header padded by spaces to a multiple
// of 8 bytes (every tensor stays 4-byte aligned); atomically (temporary file + rename).
inline void save_safetensors(const std::filesystem::path& path, const StateDict& sd, const Metadata& metadata = {}) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [key, tensor] : sd) {
    if (key == "__metadata__") throw std::invalid_argument("thaw::io::save_safetensors: '__metadata__' is reserved");
    const std::uint64_t bytes = 4 * std::uint64_t(tensor.size());
    header[key] = {{"dtype", "F32"},
                   {"shape", std::vector<std::size_t>(tensor.shape().begin(), tensor.shape().end())},
                   {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  write_atomically(path, [&](std::ostream& out) {
    const std::uint64_t n = text.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(text.data(), std::streamsize(text.size()));
    for (const auto& [key, tensor] : sd)
      out.write(reinterpret_cast<const char*>(tensor.data()), std::streamsize(4 * tensor.size()));
  });
}

}  // namespace thaw::io
