// thaw/io/weights.hpp — load_weights(path): a state dict from whatever a user points thaw at,
// told apart by what the path is: a folder of torchvision-named <key>.npy files, a .safetensors
// file, or anything torch.save wrote (zip or legacy format, detected from the bytes).
#pragma once

#include <filesystem>

#include <thaw/core/state_dict.hpp>
#include <thaw/io/npy.hpp>
#include <thaw/io/safetensors.hpp>
#include <thaw/io/torch.hpp>

namespace thaw::io {

inline StateDict load_weights(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path)) return load_npy_dir(path);
  if (path.extension() == ".safetensors") return load_safetensors(path);
  return load_torch(path);
}

}  // namespace thaw::io
