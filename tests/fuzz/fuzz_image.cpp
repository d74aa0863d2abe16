// libFuzzer target: an image file from memory (PNG through libspng, DICOM through DCMTK and
// thaw's pixel rules). Only ImageError may come out.
#include <cstddef>
#include <cstdint>
#include <span>

#include <dcmtk/oflog/oflog.h>

#include "thaw/data/image_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);  // DCMTK's warnings about odd files are noise here
    return true;
  }();
  (void)quiet;
  try {
    (void)thaw::data::decode_image(std::span(data, size), "fuzz");
  } catch (const thaw::data::ImageError&) {
  }
  return 0;
}
