// tests/oracle_dir.hpp — the folder a Python oracle filled just before this test ran (CTest
// passes it in an environment variable; the fixtures order the two).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

inline std::filesystem::path oracle_dir(const char* variable = "THAW_ORACLE_DIR") {
  const char* dir = std::getenv(variable);
  if (dir == nullptr) FAIL(std::string(variable) + " is not set (run this test through ctest)");
  return dir;
}
