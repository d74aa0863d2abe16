// tests/unit/resume_test.cpp — kill a training process (SIGKILL) in the middle of an epoch,
// start it again, and it must end with the same parameters as a run that was never stopped.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "thaw/io/safetensors.hpp"

namespace fs = std::filesystem;

namespace {

pid_t start(const fs::path& checkpoint, const fs::path& final_path, int epochs) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string e = std::to_string(epochs), c = checkpoint.string(), f = final_path.string();
    execl(THAW_RESUME_CHILD, THAW_RESUME_CHILD, c.c_str(), f.c_str(), e.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

std::size_t checkpoint_epoch(const fs::path& path) {
  if (!fs::exists(path)) return 0;
  return std::stoul(thaw::io::read_safetensors(path).metadata.at("thaw.epoch"));
}

}  // namespace

TEST_CASE("a training run killed mid-epoch resumes to the uninterrupted result", "[trainer][checkpoint][kill]") {
  const fs::path dir = fs::temp_directory_path() / "thaw_resume_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const int epochs = 4;

  REQUIRE(WEXITSTATUS(wait_for(start(dir / "straight.ckpt", dir / "straight.safetensors", epochs))) == 0);

  const pid_t victim = start(dir / "killed.ckpt", dir / "unused.safetensors", epochs);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (checkpoint_epoch(dir / "killed.ckpt") < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // into epoch 3
  kill(victim, SIGKILL);
  const int status = wait_for(victim);
  REQUIRE(WIFSIGNALED(status));
  const std::size_t saved = checkpoint_epoch(dir / "killed.ckpt");
  INFO("the killed run had checkpointed " << saved << " epochs");
  CHECK((saved >= 2 && saved < std::size_t(epochs)));
  CHECK_FALSE(fs::exists(dir / "unused.safetensors"));

  REQUIRE(WEXITSTATUS(wait_for(start(dir / "killed.ckpt", dir / "resumed.safetensors", epochs))) == 0);
  const auto straight = thaw::io::load_safetensors(dir / "straight.safetensors");
  const auto resumed = thaw::io::load_safetensors(dir / "resumed.safetensors");
  const bool identical = straight == resumed;
  CHECK(identical);
}
