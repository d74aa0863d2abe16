// thaw/data/image_file.hpp — read_image(path): a PNG or a DICOM file, told apart by content
// (PNG's signature, DICOM's "DICM" at byte 128), never by the name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

#include <thaw/data/image.hpp>
#include <thaw/data/png.hpp>
#include <thaw/io/tensor.hpp>
#if THAW_WITH_DICOM
#include <thaw/data/dicom.hpp>
#endif

namespace thaw::data {

// Names the decoding rules (PNG's 16-to-8-bit, DICOM's windowing); a change to them changes
// every cache key, so cached images made under the old rules are rebuilt.
inline const std::string decoder_version = "png16-highbyte dicom-window-v1";

inline bool is_dicom(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 132 && bytes[128] == 'D' && bytes[129] == 'I' && bytes[130] == 'C' && bytes[131] == 'M';
}

// Whether the file at `path` starts like a DICOM Part 10 file (false when it cannot be read).
inline bool file_is_dicom(const std::filesystem::path& path) {
  std::uint8_t head[132] = {};
  std::ifstream in(path, std::ios::binary);
  return in.read(reinterpret_cast<char*>(head), sizeof head) && is_dicom(head);
}

inline Image decode_image(std::span<const std::uint8_t> bytes, const std::string& source) {
  if (is_png(bytes)) return decode_png(bytes, source);
  if (is_dicom(bytes)) {
#if THAW_WITH_DICOM
    return decode_dicom(bytes, source);
#else
    throw ImageError(source + ": a DICOM file, but thaw was built without DICOM support (install Debian's "
                     "libdcmtk-dev and configure with -DTHAW_WITH_DICOM=ON)");
#endif
  }
  throw ImageError(source + ": neither a PNG nor a DICOM file (" + std::to_string(bytes.size()) +
                   " bytes); thaw reads PNG (8/16-bit grey, RGB, palette) and DICOM (Part 10)");
}

inline Image read_image(const std::filesystem::path& path) {
#if THAW_WITH_DICOM
  if (file_is_dicom(path)) return read_dicom(path);
#endif
  const io::Bytes bytes = io::read_file(path, "thaw::data::read_image");
  return decode_image({reinterpret_cast<const std::uint8_t*>(bytes.data.get()), bytes.size}, path.string());
}

}  // namespace thaw::data
