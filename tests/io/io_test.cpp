// tests/io/io_test.cpp — PyTorch and safetensors files against their writers: the PyTorch 2.11
// fixtures (fixture_expected.json), files Debian's PyTorch 1.13 and numpy write at test time
// (make_io_files.py), malicious and broken files (each a clear error), and round trips.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "thaw/io/safetensors.hpp"
#include "thaw/io/torch.hpp"

namespace fs = std::filesystem;
using thaw::io::DType;
using thaw::io::FormatError;

namespace {

fs::path env_dir(const char* name) {
  const char* dir = std::getenv(name);
  if (dir == nullptr) FAIL(name << " is not set (run through ctest)");
  return dir;
}
fs::path io_dir() { return env_dir("THAW_IO_DIR"); }

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

DType dtype_of(const std::string& torch_name) {
  if (torch_name == "torch.float32") return DType::F32;
  if (torch_name == "torch.float16") return DType::F16;
  if (torch_name == "torch.bfloat16") return DType::BF16;
  if (torch_name == "torch.int64") return DType::I64;
  FAIL("unexpected dtype " << torch_name);
  return DType::F32;
}

// Every tensor PyTorch described is there with its dtype, shape and exact values (in C order,
// so views come out as PyTorch shows them), and nothing else is.
void check_against(const thaw::io::Tensors& tensors, const nlohmann::json& expected) {
  CHECK(tensors.size() == expected.size());
  for (const auto& [key, e] : expected.items()) {
    INFO("tensor " << key);
    REQUIRE(tensors.count(key) == 1);
    const auto& t = tensors.at(key);
    CHECK(t.dtype == dtype_of(e["dtype"]));
    CHECK(t.shape == e["shape"].get<std::vector<std::size_t>>());
    if (t.dtype == DType::I64) {
      CHECK(t.integers == e["values"].get<std::vector<std::int64_t>>());
    } else {
      const auto values = e["values"].get<std::vector<double>>();
      REQUIRE(t.values.size() == values.size());
      for (std::size_t i = 0; i < values.size(); ++i) CHECK(t.values.data()[i] == float(values[i]));
    }
  }
}

}  // namespace

TEST_CASE("PyTorch 2.11 fixtures: zip and legacy files match fixture_expected.json", "[io][torch]") {
  const fs::path dir = THAW_FIXTURE_DIR;  // tests/data/torch-2.11, copied from shared/fixtures
  const auto expected = read_json(dir / "fixture_expected.json");
  for (const char* file : {"fixture_zip.pth", "fixture_legacy.pth"}) {
    INFO(file);
    check_against(thaw::io::read_torch(dir / file), expected);
  }
}

TEST_CASE("PyTorch 1.13 files: zip, legacy and a nested checkpoint match what torch wrote", "[io][torch]") {
  const auto expected = read_json(io_dir() / "expected.json");
  nlohmann::json plain, nested;
  for (const auto& [key, e] : expected.items()) (key.starts_with("model.") ? nested : plain)[key] = e;
  check_against(thaw::io::read_torch(io_dir() / "good_zip.pth"), plain);
  check_against(thaw::io::read_torch(io_dir() / "good_legacy.pth"), plain);
  check_against(thaw::io::read_torch(io_dir() / "checkpoint.pth"), nested);
  // The records' folder is whatever the archive says, not "archive/".
  const auto w = thaw::io::read_torch(io_dir() / "top_folder_not_archive.pth").at("w").values;
  CHECK(std::vector<float>(w.begin(), w.end()) == std::vector<float>{0, 1, 2, 3});
  // Entries with Zip64 extra fields (as in archives over 4 GiB).
  const auto w64 = thaw::io::read_torch(io_dir() / "zip64.pth").at("w").values;
  CHECK(std::vector<float>(w64.begin(), w64.end()) == std::vector<float>{0, 1, 2, 3});
}

TEST_CASE("older .pth forms: _rebuild_tensor v1, nn.Parameters and legacy storage views match numpy", "[io][torch]") {
  // make_io_files.py chose these arrays with numpy, wrote each file (by hand, or torch.save of
  // nn.Parameters) and had torch.load read it back as exactly these arrays.
  const auto expected = read_json(io_dir() / "old_formats.json");
  CHECK(expected.size() == 4);  // v1 zip, parameters zip and legacy, legacy views
  for (const auto& [file, tensors] : expected.items()) DYNAMIC_SECTION(file) {  // one file's error hides no other
    check_against(thaw::io::read_torch(io_dir() / file), tensors);
    // load_torch widens float16 and int64 to float32; every value here is exact in float32.
    const auto floats = thaw::io::load_torch(io_dir() / file);
    CHECK(floats.size() == tensors.size());
    for (const auto& [key, e] : tensors.items()) {
      INFO("tensor " << key);
      REQUIRE(floats.count(key) == 1);
      const auto& a = floats.at(key);
      CHECK(std::vector<std::size_t>(a.shape().begin(), a.shape().end()) == e["shape"].get<std::vector<std::size_t>>());
      const auto values = e["values"].get<std::vector<double>>();
      REQUIRE(a.size() == values.size());
      for (std::size_t i = 0; i < values.size(); ++i) CHECK(a.data()[i] == float(values[i]));
    }
  }
}

TEST_CASE("load_torch widens to float32 and refuses int64 values float32 cannot hold", "[io][torch]") {
  const auto sd = thaw::io::load_torch(io_dir() / "good_zip.pth");
  CHECK(sd.at("i64")(0) == -3.0f);
  CHECK(sd.at("i64")(5) == 2.0f);
  thaw::io::Tensors big{{"n", {DType::I64, {1}, {}, {(std::int64_t(1) << 60) + 1}}}};
  CHECK_THROWS_WITH(thaw::io::to_state_dict(std::move(big), "f"), Catch::Contains("int64 tensor 'n'") && Catch::Contains("exactly"));
}

TEST_CASE("float16 widening equals numpy's for all 65536 bit patterns", "[io]") {
  std::ifstream in(io_dir() / "float16_all.f32", std::ios::binary);
  std::vector<float> reference(65536);
  in.read(reinterpret_cast<char*>(reference.data()), 4 * 65536);
  REQUIRE(in);
  std::size_t mismatches = 0;
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const float ours = thaw::io::half_to_float(std::uint16_t(h));
    mismatches += std::isnan(reference[h]) ? !std::isnan(ours) : std::memcmp(&ours, &reference[h], 4) != 0;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("malicious and broken PyTorch files give clear errors", "[io][torch][errors]") {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"evil_os_system.pth", {"global 'posix.system' is not allowed"}},
      {"evil_builtins_eval.pth", {"global 'builtins.eval' is not allowed"}},
      {"evil_subprocess_popen.pth", {"global 'subprocess.Popen' is not allowed"}},
      {"evil_os_system_legacy.pth", {"global 'posix.system' is not allowed"}},
      {"evil_builtins_eval_legacy.pth", {"global 'builtins.eval' is not allowed"}},
      {"evil_subprocess_popen_legacy.pth", {"global 'subprocess.Popen' is not allowed"}},
      {"reduce_storage.pth", {"REDUCE on 'torch.FloatStorage'", "not allowed", "byte 30"}},
      {"absurd_length.pth", {"string of 4294967280 bytes"}},
      {"deep_nesting.pth", {"nesting deeper than 32"}},
      {"self_append.pth", {"already inside another (or itself)"}},
      {"memo_bomb.pth", {"memo index 2147483647"}},
      {"short_storage.pth", {"tensor 'w'", "holds 4 float32 elements", "declares 100"}},
      {"view_out_of_bounds.pth", {"tensor 'w'", "reaches element 5 of a storage with 4"}},
      {"huge_stride.pth", {"tensor 'w'", "stride overflow"}},
      {"missing_storage.pth", {"no entry 'archive/data/7'"}},
      {"big_endian.pth", {"byte order 'big'", "little-endian"}},
      {"float64.pth", {"torch.DoubleStorage' is not supported"}},
      {"truncated.pth", {"not a readable zip archive"}},
      {"bad_crc.pth", {"good_zip/data/0", "CRC error"}},
      {"tar_format.pth", {"tar format", "torch.save(state_dict) again"}},
      {"not_torch.pth", {"not a PyTorch file"}},
  };
  for (const auto& [file, needles] : cases) {
    INFO(file);
    const fs::path path = io_dir() / file;
    try {
      thaw::io::read_torch(path);
      FAIL("no error");
    } catch (const FormatError& e) {
      const std::string message = e.what();
      INFO(message);
      CHECK(message.find(path.string()) != std::string::npos);
      for (const auto& needle : needles) CHECK(message.find(needle) != std::string::npos);
    }
  }
  CHECK_THROWS_WITH(thaw::io::read_torch(fs::path("/nonexistent/w.pth")), Catch::Contains("cannot open"));
  // Nothing was run: the os.system payload would have created this file.
  CHECK_FALSE(fs::exists("pwned"));
}

TEST_CASE("safetensors written by hand in Python read back exactly, with metadata", "[io][safetensors]") {
  const auto file = thaw::io::read_safetensors(io_dir() / "python_written.safetensors");
  CHECK(file.metadata == thaw::io::Metadata{{"format", "pt"}, {"epoch", "3"}});
  const auto expected = read_json(io_dir() / "python_written.json");
  CHECK(file.tensors.size() == expected.size());
  for (const auto& [key, e] : expected.items()) {
    INFO(key);
    REQUIRE(file.tensors.count(key) == 1);
    const auto& t = file.tensors.at(key);
    CHECK(std::vector<std::size_t>(t.shape().begin(), t.shape().end()) == e["shape"].get<std::vector<std::size_t>>());
    const auto values = e["values"].get<std::vector<double>>();
    REQUIRE(t.size() == values.size());
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(t.data()[i] == float(values[i]));
  }
}

TEST_CASE("broken safetensors files give clear errors", "[io][safetensors][errors]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"st_overlap.safetensors", "tensor 'b' starts at byte 8 of the buffer, expected 16 (overlap)"},
      {"st_hole.safetensors", "cover 12 of the buffer's 16 bytes"},
      {"st_wrong_size.safetensors", "shape [5] of float32 needs 20"},
      {"st_bad_dtype.safetensors", "dtype 'F64'"},
      {"st_header_too_long.safetensors", "runs past the end of the file"},
      {"st_header_huge.safetensors", "over the 100 MB limit"},
      {"st_not_json.safetensors", "not valid JSON"},
      {"st_duplicate.safetensors", "names 'a' twice"},
  };
  for (const auto& [file, needle] : cases) {
    INFO(file);
    CHECK_THROWS_WITH(thaw::io::read_safetensors(io_dir() / file),
                      Catch::Contains(file) && Catch::Contains(needle));
  }
}

TEST_CASE("save_safetensors then load gives bit-identical tensors, atomically", "[io][safetensors]") {
  const fs::path dir = fs::temp_directory_path() / "thaw_io_roundtrip";
  fs::remove_all(dir);
  thaw::StateDict sd;
  sd["w"] = xt::xarray<float>({{1.5f, -0.0f, std::nanf("0x123")}, {INFINITY, 1e-45f, -3.25f}});
  sd["scalar"] = xt::xarray<float>(2.0f);
  sd["empty"] = xt::xarray<float>::from_shape({0, 7});
  const fs::path path = dir / "sub" / "model.safetensors";
  thaw::io::save_safetensors(path, sd, {{"epoch", "4"}});
  const auto back = thaw::io::read_safetensors(path);
  CHECK(back.metadata.at("epoch") == "4");
  REQUIRE(back.tensors.size() == sd.size());
  for (const auto& [key, t] : sd) {
    INFO(key);
    const auto& b = back.tensors.at(key);
    CHECK(b.shape() == t.shape());
    CHECK((t.size() == 0 || std::memcmp(b.data(), t.data(), 4 * t.size()) == 0));
  }
  // The header is padded to 8 bytes; no temporary file is left behind.
  std::ifstream in(path, std::ios::binary);
  std::uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  CHECK(n % 8 == 0);
  CHECK(fs::file_size(path) == 8 + n + 4 * 6 + 4);
  CHECK(std::distance(fs::directory_iterator(dir / "sub"), fs::directory_iterator()) == 1);
}

// Writes a file for check_thaw_safetensors.py, which reads it with json + numpy alone.
TEST_CASE("write a safetensors file for the Python reader", "[.][for-python]") {
  thaw::StateDict sd;
  for (std::size_t k = 0; k < 3; ++k) {
    xt::xarray<float> t = xt::xarray<float>::from_shape({k + 1, 5});
    for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = float(k) * 100.0f + float(i) * 0.25f - 1.0f;
    sd["layer" + std::to_string(k) + ".weight"] = t;
  }
  thaw::io::save_safetensors(io_dir() / "thaw_written.safetensors", sd, {{"writer", "thaw"}});
}
