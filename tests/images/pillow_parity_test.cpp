// Decoding and preprocessing against Pillow and torchvision (make_image_reference.py wrote
// the PNGs and what the oracle made of them): decoded pixels and the 224x224 resize must be
// bit-identical, the normalised tensor within 1e-6.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "thaw/data/preprocess.hpp"

#include "../oracle_files.hpp"

namespace fs = std::filesystem;

namespace {

std::size_t differing(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) n += a[i] != b[i];
  return n;
}

}  // namespace

TEST_CASE("PNG decoding, Pillow-exact resize and torchvision's tensor", "[parity][images]") {
  const fs::path dir = oracle_dir();
  std::ifstream in(dir / "manifest.json");
  const auto manifest = nlohmann::json::parse(in);
  REQUIRE(manifest.size() >= 20);
  const thaw::data::Preprocess pre;
  for (const auto& entry : manifest) {
    const std::string name = entry["name"];
    INFO("case " << name);
    const thaw::data::Image image = thaw::data::read_image(dir / entry["png"].get<std::string>());
    CHECK(image.width == entry["width"].get<std::size_t>());
    CHECK(image.height == entry["height"].get<std::size_t>());
    CHECK(image.channels == entry["channels"].get<std::size_t>());
    const auto decoded = read_raw<std::uint8_t>(dir / (name + ".decoded.u8"));
    REQUIRE(image.pixels.size() == decoded.size());
    CHECK(differing(image.pixels, decoded) == 0);

    const thaw::data::Image resized = pre.resize(image);
    const auto expected = read_raw<std::uint8_t>(dir / (name + ".resized.u8"));
    REQUIRE(resized.pixels.size() == expected.size());
    CHECK(differing(resized.pixels, expected) == 0);

    const auto tensor = pre.normalize(resized);
    const auto reference = read_raw<float>(dir / (name + ".tensor.f32"));
    REQUIRE(tensor.size() == reference.size());
    double worst = 0;
    for (std::size_t i = 0; i < reference.size(); ++i)
      worst = std::max(worst, double(std::abs(tensor.data()[i] - reference[i])));
    CHECK(worst <= 1e-6);
  }
}
