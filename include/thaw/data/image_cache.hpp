// thaw/data/image_cache.hpp — the resized 8-bit images on disk, so each ~3000x3000 source is
// decoded once: 224x224 bytes instead of a 50-200 ms PNG decode.
//
// One entry per (source path, preprocessing); it records the source's size and modification
// time and the preprocessing key, and ends with a checksum. An entry whose record does not match
// the source as it is now is stale and rebuilt; one that fails its checks (truncated, flipped
// bits, another program's file) is reported and rebuilt, never trusted. Entries are written
// atomically, so a crash leaves the old entry or the new one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <thaw/data/preprocess.hpp>
#include <thaw/io/atomic_file.hpp>

namespace thaw::data {

namespace detail {

inline std::uint64_t fnv1a(std::string_view bytes, std::uint64_t hash = 0xcbf29ce484222325ull) {
  for (unsigned char c : bytes) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

inline void put_u32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }

// Reads fields off the front of a byte string; `ok` turns false at the first read past its end.
struct Cursor {
  std::string_view rest;
  bool ok = true;

  std::string_view take(std::size_t n) {
    if (!ok || rest.size() < n) {
      ok = false;
      return {};
    }
    const std::string_view part = rest.substr(0, n);
    rest.remove_prefix(n);
    return part;
  }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    const std::string_view part = take(4);
    if (ok) std::memcpy(&v, part.data(), 4);
    return v;
  }
};

}  // namespace detail

class ImageCache {
 public:
  struct Counts {
    std::atomic<std::size_t> hits{0}, built{0}, stale{0}, corrupt{0};
  };

  explicit ImageCache(std::filesystem::path folder, std::ostream* log = &std::clog)
      : folder_(std::move(folder)), log_(log) {
    std::filesystem::create_directories(folder_);
  }

  const std::filesystem::path& folder() const { return folder_; }
  const Counts& counts() const { return counts_; }

  // The image `pre` makes of `source` before normalisation (Preprocess::resize of the decoded
  // file), from the cache when a valid, current entry exists.
  Image get(const std::filesystem::path& source, const Preprocess& pre) {
    const std::string key = describe(source, pre);
    const std::filesystem::path entry = entry_path(source, pre);
    if (std::optional<Image> cached = read(entry, key, pre)) {
      ++counts_.hits;
      return std::move(*cached);
    }
    Image image = pre.resize(read_image(source));
    write(entry, key, image);
    ++counts_.built;
    return image;
  }

  std::filesystem::path entry_path(const std::filesystem::path& source, const Preprocess& pre) const {
    const std::string id = std::filesystem::absolute(source).lexically_normal().string() + "\n" + pre.cache_key();
    char name[32];
    std::snprintf(name, sizeof name, "%016llx.thawimg", static_cast<unsigned long long>(detail::fnv1a(id)));
    return folder_ / name;
  }

 private:
  static constexpr std::string_view magic = "THAWIMG1";

  // What must match for an entry to stand for the source as it is now.
  static std::string describe(const std::filesystem::path& source, const Preprocess& pre) {
    namespace fs = std::filesystem;
    std::error_code error;
    const auto size = fs::file_size(source, error);
    if (error) throw ImageError(source.string() + ": cannot read (" + error.message() + ")");
    const auto modified = fs::last_write_time(source).time_since_epoch();
    return fs::absolute(source).lexically_normal().string() + "\n" + std::to_string(size) + "\n" +
           std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(modified).count()) + "\n" +
           pre.cache_key();
  }

  std::optional<Image> read(const std::filesystem::path& entry, const std::string& key, const Preprocess& pre) {
    std::ifstream in(entry, std::ios::binary);
    if (!in) return std::nullopt;  // not built yet
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    detail::Cursor at{bytes};
    std::uint64_t sum = 0;
    if (bytes.size() >= magic.size() + 8) std::memcpy(&sum, bytes.data() + bytes.size() - 8, 8);
    const bool intact = bytes.size() >= magic.size() + 8 && at.take(magic.size()) == magic &&
                        sum == detail::fnv1a(std::string_view(bytes).substr(0, bytes.size() - 8));
    const std::string_view recorded = intact ? at.take(at.u32()) : std::string_view();
    Image image;
    image.width = at.u32();
    image.height = at.u32();
    image.channels = at.u32();
    const std::size_t count = image.width * image.height * image.channels;
    if (!intact || !at.ok || at.rest.size() != count + 8 || image.width != pre.width || image.height != pre.height ||
        (image.channels != 1 && image.channels != 3)) {
      ++counts_.corrupt;
      warn("thaw::data::ImageCache: warning: '" + entry.string() + "' is damaged; rebuilding it");
      return std::nullopt;
    }
    if (recorded != key) {
      ++counts_.stale;  // the source or the preprocessing changed since it was built
      return std::nullopt;
    }
    const std::string_view pixels = at.take(count);
    image.pixels.assign(pixels.begin(), pixels.end());
    return image;
  }

  void write(const std::filesystem::path& entry, const std::string& key, const Image& image) const {
    std::string bytes(magic);
    detail::put_u32(bytes, std::uint32_t(key.size()));
    bytes += key;
    detail::put_u32(bytes, std::uint32_t(image.width));
    detail::put_u32(bytes, std::uint32_t(image.height));
    detail::put_u32(bytes, std::uint32_t(image.channels));
    bytes.append(image.pixels.begin(), image.pixels.end());
    const std::uint64_t sum = detail::fnv1a(bytes);
    bytes.append(reinterpret_cast<const char*>(&sum), 8);
    io::write_atomically(entry, [&](std::ostream& out) { out.write(bytes.data(), std::streamsize(bytes.size())); });
  }

  void warn(const std::string& message) {
    if (log_ == nullptr) return;
    const std::lock_guard lock(log_mutex_);
    *log_ << message << "\n";
  }

  std::filesystem::path folder_;
  std::ostream* log_;
  std::mutex log_mutex_;
  Counts counts_;
};

}  // namespace thaw::data
