// tests/unit/npy_test.cpp — weight folders of .npy files: round trip and clear errors for a
// missing folder, an empty folder, a truncated file and a float64 file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <xtensor/xnpy.hpp>

#include "small_net.hpp"

namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("thaw_npy_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}
}  // namespace

TEST_CASE("save_npy_dir then load_npy_dir gives the same state dict", "[npy]") {
  const auto dir = fresh_dir("roundtrip");
  const auto sd = thaw::Model<thaw_test::SmallNet, thaw::Cpu>(5).state_dict();
  thaw::io::save_npy_dir(dir, sd);
  CHECK(fs::exists(dir / "features.0.weight.npy"));
  const bool same = thaw::io::load_npy_dir(dir) == sd;
  CHECK(same);
}

TEST_CASE("load_npy_dir errors name the folder or file", "[npy][errors]") {
  CHECK_THROWS_WITH(thaw::io::load_npy_dir("/nonexistent/thaw"), Catch::Contains("is not a directory"));
  const auto empty = fresh_dir("empty");
  CHECK_THROWS_WITH(thaw::io::load_npy_dir(empty), Catch::Contains("no .npy files"));

  const auto trunc = fresh_dir("truncated");
  xt::xarray<float> a = xt::ones<float>({64, 64});
  xt::dump_npy((trunc / "w.npy").string(), a);
  fs::resize_file(trunc / "w.npy", fs::file_size(trunc / "w.npy") - 100);
  CHECK_THROWS_WITH(thaw::io::load_npy_dir(trunc), Catch::Contains("w.npy") && Catch::Contains("truncated"));

  const auto f64 = fresh_dir("float64");
  xt::xarray<double> d = xt::ones<double>({3});
  xt::dump_npy((f64 / "w.npy").string(), d);
  CHECK_THROWS_WITH(thaw::io::load_npy_dir(f64), Catch::Contains("w.npy") && Catch::Contains("float32"));
}
