// thaw/io/zip_archive.hpp — read-only access to a zip archive through libzip (Debian's
// libzip-dev): entry names and whole entries, with the CRC of every entry checked and
// Zip64 handled by libzip. PyTorch's files (torch.save since 1.6) are such archives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <zip.h>

#include "thaw/io/tensor.hpp"

namespace thaw::io {

class ZipArchive {
 public:
  static ZipArchive open(const std::filesystem::path& path) {
    int code = 0;
    zip_t* z = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!z) throw FormatError("not a readable zip archive: " + error_text(code));
    return ZipArchive(z);
  }

  // `bytes` must outlive the archive.
  static ZipArchive open(std::span<const std::byte> bytes) {
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
    zip_t* z = source ? zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error) : nullptr;
    if (!z) {
      const std::string text = zip_error_strerror(&error);
      if (source) zip_source_free(source);
      zip_error_fini(&error);
      throw FormatError("not a readable zip archive: " + text);
    }
    zip_error_fini(&error);
    return ZipArchive(z);
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    const zip_int64_t n = zip_get_num_entries(zip_.get(), 0);
    for (zip_int64_t i = 0; i < n; ++i)
      if (const char* name = zip_get_name(zip_.get(), zip_uint64_t(i), ZIP_FL_ENC_RAW)) out.emplace_back(name);
    return out;
  }

  // The uncompressed size of entry `name`, or nothing if there is no such entry.
  std::optional<std::uint64_t> size_of(const std::string& name) const {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(zip_.get(), name.c_str(), ZIP_FL_ENC_RAW, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) return {};
    return st.size;
  }

  // The whole of entry `name`, refused beyond `max_size` bytes.
  Bytes read(const std::string& name, std::uint64_t max_size) const {
    const auto size = size_of(name);
    if (!size) throw FormatError("the archive has no entry '" + name + "'");
    if (*size > max_size)
      throw FormatError("entry '" + name + "' is " + std::to_string(*size) + " bytes, more than the " +
                        std::to_string(max_size) + " allowed");
    Bytes out = Bytes::allocate(std::size_t(*size));
    read_into(name, out.data.get(), out.size);
    return out;
  }

  // Reads entry `name`, which must be exactly `size` bytes, into `dst`; libzip checks the CRC
  // as it reaches the end of the entry.
  void read_into(const std::string& name, std::byte* dst, std::uint64_t size) const {
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> file(zip_fopen(zip_.get(), name.c_str(), ZIP_FL_ENC_RAW),
                                                           zip_fclose);
    if (!file) throw FormatError("cannot open entry '" + name + "': " + zip_strerror(zip_.get()));
    std::uint64_t done = 0;
    while (done < size) {
      const zip_int64_t got = zip_fread(file.get(), dst + done, size - done);
      if (got < 0) throw FormatError("cannot read entry '" + name + "': " + zip_file_strerror(file.get()));
      if (got == 0) throw FormatError("entry '" + name + "' ends early");
      done += std::uint64_t(got);
    }
    std::byte extra;
    const zip_int64_t more = zip_fread(file.get(), &extra, 1);
    if (more < 0) throw FormatError("entry '" + name + "' is damaged: " + zip_file_strerror(file.get()));
    if (more > 0) throw FormatError("entry '" + name + "' is longer than its recorded size");
  }

 private:
  explicit ZipArchive(zip_t* z) : zip_(z, zip_discard) {}
  static std::string error_text(int code) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    std::string text = zip_error_strerror(&error);
    zip_error_fini(&error);
    return text;
  }
  // zip_discard: read-only, nothing to write back.
  std::unique_ptr<zip_t, void (*)(zip_t*)> zip_;
};

}  // namespace thaw::io
