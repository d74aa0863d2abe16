// tests/oracle_files.hpp — the folder a Python oracle filled just before this test ran (CTest
// passes it in an environment variable; the fixtures order the two), and the raw arrays and
// files the tests read back whole.
#pragma once

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

inline std::filesystem::path oracle_dir(const char* variable = "THAW_ORACLE_DIR") {
  const char* dir = std::getenv(variable);
  if (dir == nullptr) FAIL(std::string(variable) + " is not set (run this test through ctest)");
  return dir;
}

// A whole file as T values (raw, host byte order: what numpy's tofile wrote).
template <class T>
std::vector<T> read_raw(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<T> values(bytes.size() / sizeof(T));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}
