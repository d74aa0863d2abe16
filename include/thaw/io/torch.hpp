// thaw/io/torch.hpp — PyTorch weight files (torch.save) without Python: the zip format of
// PyTorch >= 1.6 (torchvision's alexnet-owt-7be5be79.pth) and the legacy pickle stream
// before it (alexnet-owt-4df8aa71.pth). Pickles go through thaw's closed unpickler; every
// tensor's offset, size and stride are checked against the storage it reads.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "thaw/io/pickle.hpp"
#include "thaw/io/tensor.hpp"
#include "thaw/io/zip_archive.hpp"

namespace thaw::io {

struct TorchLimits {
  pickle::Limits pickle;
  std::uint64_t max_pickle_bytes = 64ull << 20;
  std::uint64_t max_storage_bytes = 16ull << 30;
};

namespace detail {

using pickle::Ref;
using pickle::Value;

// ('storage', <storage class>, key, location, numel) in zip files; legacy files add a sixth
// item, None or (view key, offset, size) for a view into the storage `key`.
inline Ref storage_from_pid(const Value& pid, std::size_t offset, bool legacy) {
  const auto bad = [&](const std::string& what) -> FormatError {
    return FormatError("pickle: persistent ID at byte " + std::to_string(offset) + ": " + what);
  };
  const auto& p = pid.items;
  if (pid.kind != Value::Kind::Tuple || p.size() != (legacy ? 6u : 5u) || p[0]->kind != Value::Kind::String ||
      p[0]->text != "storage")
    throw bad(std::string("expected ('storage', type, key, location, numel") + (legacy ? ", view)" : ")"));
  auto v = std::make_shared<Value>();
  v->kind = Value::Kind::Storage;
  auto& s = v->storage;
  if (p[1]->kind != Value::Kind::Global || !pickle::storage_dtype(p[1]->text, s.dtype))
    throw bad("storage type '" + p[1]->text + "' is not supported (thaw reads float32, float16, bfloat16, int64)");
  if (p[2]->kind != Value::Kind::String || p[2]->text.empty() || p[2]->text.size() > 64 ||
      !std::all_of(p[2]->text.begin(), p[2]->text.end(), [](char c) { return std::isalnum((unsigned char)c) || c == '_'; }))
    throw bad("storage key must be 1-64 letters, digits or '_'");
  if (p[4]->kind != Value::Kind::Int || p[4]->integer < 0) throw bad("numel must be a non-negative int");
  s.key = p[2]->text;
  s.numel = std::uint64_t(p[4]->integer);
  if (legacy && p[5]->kind != Value::Kind::None) {
    const auto& view = p[5]->items;
    if (p[5]->kind != Value::Kind::Tuple || view.size() != 3 || view[1]->kind != Value::Kind::Int ||
        view[2]->kind != Value::Kind::Int || view[1]->integer < 0 || view[2]->integer < 0)
      throw bad("storage view must be (key, offset, size)");
    s.view_offset = std::uint64_t(view[1]->integer);
    s.numel = std::uint64_t(view[2]->integer);
  }
  return v;
}

// Tensors of a dict, and of dicts inside it as "outer.inner" (training checkpoints often nest
// the state dict); other values (epochs, names) are skipped.
inline void collect_tensors(const Value& dict, const std::string& prefix,
                            std::vector<std::pair<std::string, const pickle::TensorRef*>>& out) {
  for (std::size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const Value& key = *dict.items[i];
    const Value& value = *dict.items[i + 1];
    if (key.kind != Value::Kind::String) continue;
    if (value.kind == Value::Kind::Tensor) out.emplace_back(prefix + key.text, &value.tensor);
    else if (value.kind == Value::Kind::Dict) collect_tensors(value, prefix + key.text + ".", out);
  }
}

// The layout of one tensor inside its storage, checked: every element it addresses lies
// inside the `available` elements the storage really holds.
struct Layout {
  std::uint64_t numel = 1;
  bool contiguous = true;  // C order from `offset` on: each stride is the product of the sizes after it
};

inline Layout check_layout(const std::string& name, const pickle::TensorRef& t, std::uint64_t available) {
  const auto bad = [&](const std::string& what) { return FormatError("tensor '" + name + "': " + what); };
  const DType dtype = t.storage.dtype;
  if (t.storage.view_offset > available || t.storage.numel > available - t.storage.view_offset)
    throw bad("storage '" + t.storage.key + "' holds " + std::to_string(available) + " " + dtype_name(dtype) +
              " elements, but the file declares " + std::to_string(t.storage.view_offset + t.storage.numel));
  if (t.offset < 0) throw bad("negative storage offset");
  Layout layout;
  std::uint64_t last = std::uint64_t(t.offset), expected_stride = 1;
  for (std::size_t d = t.size.size(); d-- > 0;) {
    if (t.size[d] < 0 || t.stride[d] < 0) throw bad("negative size or stride");
    const auto size = std::uint64_t(t.size[d]), stride = std::uint64_t(t.stride[d]);
    if (size != 0 && layout.numel > (std::uint64_t(1) << 40) / size) throw bad("more than 2^40 elements");
    layout.numel *= size;
    if (size > 1 && stride > ((std::uint64_t(1) << 62) - last) / (size - 1)) throw bad("stride overflow");
    if (size > 0) last += (size - 1) * stride;
    layout.contiguous &= size <= 1 || stride == expected_stride;
    expected_stride *= size;
  }
  if (layout.numel > 0 && last >= t.storage.numel)
    throw bad("reaches element " + std::to_string(last) + " of a storage with " + std::to_string(t.storage.numel) +
              " (offset " + std::to_string(t.offset) + ", shape " + shape_string(t.size) + ", stride " +
              shape_string(t.stride) + ")");
  return layout;
}

inline Tensor empty_tensor(const pickle::TensorRef& t) {
  Tensor out;
  out.dtype = t.storage.dtype;
  out.shape.assign(t.size.begin(), t.size.end());
  if (out.dtype == DType::I64) out.integers.resize(std::size_t(std::accumulate(
                                   out.shape.begin(), out.shape.end(), std::size_t(1), std::multiplies<>())));
  else out.values = xt::xarray<float>::from_shape(out.shape);
  prefer_huge_pages(out.dtype == DType::I64 ? static_cast<void*>(out.integers.data()) : out.values.data(),
                    out.dtype == DType::I64 ? 8 * out.integers.size() : 4 * out.values.size());
  return out;
}

// Copies tensor `t` out of its storage bytes into C order, after checking its layout.
inline Tensor rebuild(const std::string& name, const pickle::TensorRef& t, std::span<const std::byte> storage) {
  const DType dtype = t.storage.dtype;
  const Layout layout = check_layout(name, t, storage.size() / element_size(dtype));
  Tensor out = empty_tensor(t);
  const std::byte* base = storage.data() + t.storage.view_offset * element_size(dtype);
  const auto gather = [&](auto* dst, auto element) {
    if (layout.contiguous) {
      for (std::size_t i = 0; i < layout.numel; ++i) dst[i] = element(std::size_t(t.offset) + i);
      return;
    }
    std::vector<std::int64_t> index(t.size.size(), 0);
    std::uint64_t at = std::uint64_t(t.offset);
    for (std::size_t i = 0; i < layout.numel; ++i) {
      dst[i] = element(std::size_t(at));
      for (std::size_t d = t.size.size(); d-- > 0;) {  // odometer over the C-order index
        at += std::uint64_t(t.stride[d]);
        if (++index[d] < t.size[d]) break;
        at -= std::uint64_t(t.stride[d]) * std::uint64_t(t.size[d]);
        index[d] = 0;
      }
    }
  };
  if (dtype == DType::I64) {
    gather(out.integers.data(), [&](std::size_t k) {
      std::int64_t v;
      std::memcpy(&v, base + 8 * k, 8);
      return v;
    });
  } else if (dtype == DType::F32 && layout.contiguous) {  // the common case: one copy
    if (layout.numel > 0) std::memcpy(out.values.data(), base + 4 * std::size_t(t.offset), 4 * std::size_t(layout.numel));
  } else {
    gather(out.values.data(), [&](std::size_t k) { return float(element_at(base, dtype, k)); });
  }
  return out;
}

inline std::vector<std::pair<std::string, const pickle::TensorRef*>> tensors_of(const Value& top) {
  if (top.kind != Value::Kind::Dict)
    throw FormatError("the file holds no dict of tensors (a state_dict() or a checkpoint dict is expected)");
  std::vector<std::pair<std::string, const pickle::TensorRef*>> refs;
  collect_tensors(top, "", refs);
  if (refs.empty()) throw FormatError("the file's dict holds no tensors");
  return refs;
}

inline Tensors read_zip(const ZipArchive& zip, const TorchLimits& limits) {
  const auto names = zip.names();
  if (names.empty()) throw FormatError("the zip archive is empty");
  // The folder every record sits in is the saved file's name: read it, do not assume it.
  const std::string prefix = names.front().substr(0, names.front().find('/'));
  if (zip.size_of(prefix + "/byteorder")) {
    const Bytes order = zip.read(prefix + "/byteorder", 16);
    const std::string text(reinterpret_cast<const char*>(order.data.get()), order.size);
    if (text != "little")
      throw FormatError("the file was saved with byte order '" + text +
                        "'; thaw reads little-endian files only (load and re-save it on an x86 or ARM machine)");
  }
  const Bytes pkl = zip.read(prefix + "/data.pkl", limits.max_pickle_bytes);
  pickle::Unpickler unpickler(pkl.span(), [](const Value& pid, std::size_t at) { return storage_from_pid(pid, at, false); },
                              limits.pickle);
  const Ref top = unpickler.load();
  const auto refs = tensors_of(*top);
  std::map<std::string, int> users;
  for (const auto& [name, ref] : refs) ++users[ref->storage.key];
  std::map<std::string, Bytes> storages;
  Tensors out;
  for (const auto& [name, ref] : refs) {
    const std::string entry = prefix + "/data/" + ref->storage.key;
    const auto& s = ref->storage;
    // A float32 tensor that is its storage's only user and spans it from the start is read
    // straight into its own memory, as torch.load does: one read, no extra copy.
    if (s.dtype == DType::F32 && users[s.key] == 1 && ref->offset == 0 && s.view_offset == 0) {
      const auto bytes = zip.size_of(entry);
      if (!bytes) throw FormatError("the archive has no entry '" + entry + "'");
      const Layout layout = check_layout(name, *ref, *bytes / 4);
      if (layout.contiguous && layout.numel * 4 == *bytes) {
        Tensor t = empty_tensor(*ref);
        zip.read_into(entry, reinterpret_cast<std::byte*>(t.values.data()), *bytes);
        out[name] = std::move(t);
        continue;
      }
    }
    auto it = storages.find(s.key);
    if (it == storages.end()) it = storages.emplace(s.key, zip.read(entry, limits.max_storage_bytes)).first;
    out[name] = rebuild(name, *ref, it->second.span());
  }
  return out;
}

// Legacy stream: magic number, protocol 1001, sys_info, the object, the storage keys, then
// for each key an 8-byte element count and the raw elements.
inline Tensors read_legacy(std::span<const std::byte> bytes, const TorchLimits& limits) {
  std::size_t pos = 0;
  const auto next = [&](pickle::Unpickler::PersistentLoad pl = {}) {
    if (!pl) pl = [](const Value&, std::size_t at) -> Ref {
      throw FormatError("pickle: unexpected persistent ID at byte " + std::to_string(at));
    };
    pickle::Unpickler u(bytes.subspan(pos), std::move(pl), limits.pickle);
    Ref v = u.load();
    pos += u.position();
    return v;
  };
  static constexpr unsigned char magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  const Ref m = next();
  if (m->kind != Value::Kind::BigInt || m->text != std::string(reinterpret_cast<const char*>(magic), 10))
    throw FormatError("not a PyTorch legacy file (magic number missing)");
  const Ref protocol = next();
  if (protocol->kind != Value::Kind::Int || protocol->integer != 1001)
    throw FormatError("legacy protocol " + std::to_string(protocol->integer) + " is not 1001");
  const Ref sys_info = next();
  if (sys_info->kind != Value::Kind::Dict) throw FormatError("legacy sys_info is not a dict");
  for (std::size_t i = 0; i + 1 < sys_info->items.size(); i += 2)
    if (sys_info->items[i]->text == "little_endian" && sys_info->items[i + 1]->integer == 0)
      throw FormatError("the file was saved on a big-endian machine; thaw reads little-endian files only");
  const Ref top = next([](const Value& pid, std::size_t at) { return storage_from_pid(pid, at, true); });
  const Ref keys = next();
  if (keys->kind != Value::Kind::List) throw FormatError("legacy storage key list missing");

  const auto refs = tensors_of(*top);
  std::map<std::string, DType> dtype_of;
  for (const auto& [name, ref] : refs) dtype_of.emplace(ref->storage.key, ref->storage.dtype);
  std::map<std::string, std::span<const std::byte>> storages;
  for (const auto& key : keys->items) {
    if (key->kind != Value::Kind::String) throw FormatError("legacy storage key is not a string");
    const auto dtype = dtype_of.find(key->text);
    if (dtype == dtype_of.end()) throw FormatError("legacy storage '" + key->text + "' is used by no tensor");
    if (bytes.size() - pos < 8) throw FormatError("legacy storage '" + key->text + "' is truncated");
    std::uint64_t count = 0;
    std::memcpy(&count, bytes.data() + pos, 8);
    pos += 8;
    const std::size_t size = element_size(dtype->second);
    if (count > limits.max_storage_bytes / size || count * size > bytes.size() - pos)
      throw FormatError("legacy storage '" + key->text + "' declares " + std::to_string(count) +
                        " elements, more than the file holds");
    storages[key->text] = bytes.subspan(pos, count * size);
    pos += count * size;
  }
  Tensors out;
  for (const auto& [name, ref] : refs) {
    auto it = storages.find(ref->storage.key);
    if (it == storages.end()) throw FormatError("tensor '" + name + "': storage '" + ref->storage.key + "' is missing");
    out[name] = rebuild(name, *ref, it->second);
  }
  return out;
}

enum class TorchFormat { Zip, Legacy, Tar, Unknown };

inline TorchFormat torch_format(std::span<const std::byte> head) {
  const auto starts = [&](std::size_t at, std::string_view s) {
    return head.size() >= at + s.size() && std::memcmp(head.data() + at, s.data(), s.size()) == 0;
  };
  if (starts(0, "PK\x03\x04") || starts(0, "PK\x05\x06")) return TorchFormat::Zip;
  if (starts(0, "\x80\x02\x8a\x0a")) return TorchFormat::Legacy;
  if (starts(257, "ustar")) return TorchFormat::Tar;
  return TorchFormat::Unknown;
}

inline Tensors read_torch_bytes(std::span<const std::byte> bytes, const TorchLimits& limits) {
  switch (torch_format(bytes)) {
    case TorchFormat::Zip: return read_zip(ZipArchive::open(bytes), limits);
    case TorchFormat::Legacy: return read_legacy(bytes, limits);
    case TorchFormat::Tar:
      throw FormatError("this is PyTorch's tar format (before 0.4), which thaw does not read; load it in PyTorch "
                        "and torch.save(state_dict) again");
    case TorchFormat::Unknown: break;
  }
  throw FormatError("not a PyTorch file (neither a zip archive nor a legacy pickle stream)");
}

}  // namespace detail

// Every tensor of a torch.save'd dict (a state_dict, or a checkpoint dict whose nested dicts
// give "outer.inner" keys), in its stored dtype; `source` names the data in errors.
inline Tensors read_torch(std::span<const std::byte> bytes, const std::string& source = "<memory>",
                          const TorchLimits& limits = {}) {
  try {
    return detail::read_torch_bytes(bytes, limits);
  } catch (const FormatError& e) {
    throw FormatError("thaw::io::read_torch: " + source + ": " + e.what());
  }
}

inline Tensors read_torch(const std::filesystem::path& path, const TorchLimits& limits = {}) {
  const std::string source = quoted(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError("thaw::io::read_torch: cannot open " + source);
  std::byte head[512];
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const std::span<const std::byte> first(head, std::size_t(in.gcount()));
  if (detail::torch_format(first) == detail::TorchFormat::Zip) {
    try {  // libzip reads the file itself: storages are copied once, straight from disk
      return detail::read_zip(ZipArchive::open(path), limits);
    } catch (const FormatError& e) {
      throw FormatError("thaw::io::read_torch: " + source + ": " + e.what());
    }
  }
  in.close();
  const Bytes all = read_file(path, "thaw::io::read_torch");
  return read_torch(all.span(), source, limits);
}

// A torch.save'd state dict as float32 tensors (torchvision's AlexNet files among them).
inline StateDict load_torch(const std::filesystem::path& path) {
  return to_state_dict(read_torch(path), "thaw::io::load_torch: '" + path.string() + "'");
}

}  // namespace thaw::io
