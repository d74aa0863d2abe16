// tests/readme/snippet_runner.hpp — what the generated readme_snippets.cpp needs around the
// README's C++ blocks: expect() for the claims checked after a block, the data every block
// may use (written once by a CTest fixture), and a main that runs one block by name in a
// fresh folder, so that a block's files never leak into the next run.
#pragma once

#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>

#include <thaw/data/synthetic.hpp>

namespace readme {

// A README claim that does not hold ends the block's run with the claim's text.
inline void expect(bool holds, const char* claim) {
  if (!holds) throw std::runtime_error(std::string("README claim does not hold: ") + claim);
}
#define README_EXPECT(...) ::readme::expect(bool(__VA_ARGS__), #__VA_ARGS__)

struct Snippet {
  const char* name;  // "L<line>": the line of the block's opening fence in README.md
  void (*run)();
};

// The data the README's blocks name, as they name it: small synthetic chest X-ray folders laid
// out like the NLM sets, and one file named like a Shenzhen image. (The AlexNet .pth comes from
// PyTorch: make_readme_weights.py.)
inline void write_data(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  thaw::data::SyntheticOptions options;
  options.train = {"ChinaSet_AllFiles", "CHNCXR", 10, 5, 320, 320, 1.0, 0.02, 0.98, 3.0, false, 0.92};
  options.test = {"MontgomerySet", "MCUCXR", 6, 3, 288, 352, 0.75, 0.10, 0.90, 2.0, true, 0.85};
  const auto folders = thaw::data::write_synthetic_cxr(dir, options, nullptr);
  fs::copy_file(folders.train / "CHNCXR_0001_0.png", dir / "CHNCXR_0001_0.png", fs::copy_options::overwrite_existing);
}

// readme_snippets --write-data DIR | readme_snippets NAME DATA_DIR WORK_DIR
inline int main(int argc, char** argv, const Snippet* snippets, std::size_t count) {
  namespace fs = std::filesystem;
  try {
    if (argc == 3 && std::strcmp(argv[1], "--write-data") == 0) {
      write_data(argv[2]);
      return 0;
    }
    if (argc != 4) {
      std::cerr << "usage: " << argv[0] << " --write-data DIR | " << argv[0] << " L<line> DATA_DIR WORK_DIR\n";
      return 2;
    }
    for (std::size_t i = 0; i < count; ++i) {
      if (std::strcmp(snippets[i].name, argv[1]) != 0) continue;
      const fs::path data = fs::absolute(argv[2]), work = fs::absolute(argv[3]) / argv[1];
      fs::remove_all(work);
      fs::create_directories(work);
      for (const auto& entry : fs::directory_iterator(data)) fs::create_symlink(entry.path(), work / entry.path().filename());
      fs::current_path(work);
      snippets[i].run();
      std::cout << "README.md block " << argv[1] << ": ran\n";
      return 0;
    }
    std::cerr << "no README block " << argv[1] << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "README.md block " << argv[1] << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace readme
