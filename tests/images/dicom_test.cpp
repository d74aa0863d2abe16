// DICOM decoding against the standard's formulas, computed by make_dicom_reference.py with
// pydicom and numpy (window LINEAR/LINEAR_EXACT/SIGMOID, VOI LUT, min-max, rescale, signed
// and shifted bits, MONOCHROME1, JPEG lossless, JPEG-LS lossless and RLE compressed by DCMTK's
// tools); broken and unsupported files must be refused with a message naming them.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "thaw/data/image_file.hpp"

#include "../oracle_files.hpp"

namespace fs = std::filesystem;

TEST_CASE("DICOM radiographs decode to the 8-bit grey the standard prescribes", "[dicom]") {
  const fs::path dir = oracle_dir();
  std::ifstream in(dir / "manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  REQUIRE(manifest.size() >= 15);
  for (const auto& entry : manifest) {
    const std::string name = entry["name"];
    INFO("case " << name);
    const thaw::data::Image image = thaw::data::read_image(dir / entry["file"].get<std::string>());
    CHECK(image.width == entry["width"].get<std::size_t>());
    CHECK(image.height == entry["height"].get<std::size_t>());
    CHECK(image.channels == 1);
    const auto expected = read_raw<std::uint8_t>(dir / (name + ".expected.u8"));
    REQUIRE(image.pixels.size() == expected.size());
    std::size_t differing = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) differing += image.pixels[i] != expected[i];
    CHECK(differing == 0);
  }
}

TEST_CASE("Broken and unsupported DICOM files are refused with the file's name", "[dicom]") {
  const fs::path dir = oracle_dir();
  const auto refused = [&](const std::string& file, const std::string& reason) {
    INFO(file);
    try {
      (void)thaw::data::read_image(dir / file);
      FAIL("read " << file);
    } catch (const thaw::data::ImageError& e) {
      const std::string message = e.what();
      CHECK(message.find(file) != std::string::npos);
      CHECK(message.find(reason) != std::string::npos);
    }
  };
  refused("truncated.dcm", "truncated");
  refused("colour.dcm", "MONOCHROME1/2");
  refused("tem_marker.dcm", "FF 01");
  refused("modality_lut.dcm", "Modality LUT Sequence");
}
