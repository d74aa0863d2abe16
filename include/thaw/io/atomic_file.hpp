// thaw/io/atomic_file.hpp — write a file so that readers see the old version or the complete
// new one, never a part: write a temporary file beside it, flush it to disk, rename it over.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <functional>
#include <string>
#include <thread>

namespace thaw::io {

template <class Write>  // Write: void(std::ostream&)
void write_atomically(const std::filesystem::path& path, Write&& write) {
  namespace fs = std::filesystem;
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  // Unique per process and thread, so concurrent writers never share a temporary file.
  const fs::path temp = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                        std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  try {
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      if (!out) throw std::runtime_error("cannot create '" + temp.string() + "'");
      write(out);
      out.flush();
      if (!out) throw std::runtime_error("cannot write '" + temp.string() + "' (disk full?)");
    }
    // The data must be on disk before the rename makes it visible under the real name.
    const int fd = ::open(temp.c_str(), O_RDONLY);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!synced) throw std::runtime_error("cannot flush '" + temp.string() + "' to disk");
    fs::rename(temp, path);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw;
  }
}

}  // namespace thaw::io
