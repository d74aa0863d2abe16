// tests/parity/forward_parity_test.cpp — thaw's AlexNet forward against torchvision's on the
// same seeded weights and inputs (written by make_alexnet_reference.py): logits and every
// stored feature map within 1e-4 * max(1, max|ref|).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <xtensor/xnpy.hpp>

#include "thaw/thaw.hpp"

#include "../oracle_files.hpp"

namespace fs = std::filesystem;

namespace {

template <class A, class B>
void check_close(const A& thaw_value, const B& reference, const std::string& what) {
  REQUIRE(std::vector<std::size_t>(thaw_value.shape().begin(), thaw_value.shape().end()) ==
          std::vector<std::size_t>(reference.shape().begin(), reference.shape().end()));
  const double scale = std::max(1.0, double(xt::amax(xt::abs(reference))()));
  const double diff = double(xt::amax(xt::abs(thaw_value - reference))());
  INFO(what << ": max|diff| = " << diff << ", max|ref| = " << scale);
  CHECK(diff <= 1e-4 * scale);
}

template <class Net>
void check_head(const fs::path& dir) {
  thaw::Model<Net, thaw::Cpu> model;
  model.load_state_dict(thaw::io::load_npy_dir(dir / "weights"));
  model.eval();
  for (const char* batch : {"batch1", "batch8"}) {
    const fs::path b = dir / batch;
    const xt::xtensor<float, 4> x = xt::load_npy<float>((b / "input.npy").string());
    const auto logits = model.forward(x);
    check_close(logits, xt::load_npy<float>((b / "logits.npy").string()), b.string() + " logits");
    std::size_t compared = 0;
    for (std::size_t i = 0; i < Net::size; ++i) {
      const fs::path ref = b / ("act." + Net::key(i) + ".npy");
      if (!fs::exists(ref)) continue;
      check_close(model.activation(i), xt::load_npy<float>(ref.string()), ref.filename().string());
      ++compared;
    }
    // 8 feature-extractor outputs, the average pool, and 5 classifier outputs.
    CHECK(compared == 14);
  }
}

}  // namespace

TEST_CASE("AlexNet with the paper's 1-logit head matches torchvision", "[parity]") {
  check_head<thaw::paper::MidLevelFE>(oracle_dir() / "head1");
}

TEST_CASE("AlexNet with torchvision's 1000-class head matches torchvision", "[parity]") {
  using Net = thaw::AlexNet<thaw::Freeze, thaw::Freeze, thaw::Freeze, thaw::Freeze, thaw::Freeze, thaw::Freeze,
                            thaw::Freeze, thaw::Train, 1000>;
  check_head<Net>(oracle_dir() / "head1000");
}

TEST_CASE("AlexNet weights saved by torch.save (zip and legacy) give torchvision's logits", "[parity][torch]") {
  using Net = thaw::AlexNet<thaw::Freeze, thaw::Freeze, thaw::Freeze, thaw::Freeze, thaw::Freeze, thaw::Freeze,
                            thaw::Freeze, thaw::Train, 1000>;
  const fs::path dir = oracle_dir() / "head1000";
  const auto npy = thaw::io::load_npy_dir(dir / "weights");
  const xt::xtensor<float, 4> x = xt::load_npy<float>((dir / "batch8" / "input.npy").string());
  for (const char* file : {"alexnet_zip.pth", "alexnet_legacy.pth"}) {
    INFO(file);
    const auto sd = thaw::io::load_torch(dir / file);
    const bool same_as_npy = sd == npy;
    CHECK(same_as_npy);
    thaw::Model<Net, thaw::Cpu> model;
    model.load_state_dict(sd);
    model.eval();
    check_close(model.forward(x), xt::load_npy<float>((dir / "batch8" / "logits.npy").string()), file);
  }
}

TEST_CASE("load_pretrained: ImageNet body from a torch.save file, a fresh 1-logit head", "[parity][torch]") {
  const fs::path dir = oracle_dir() / "head1000";
  const auto sd = thaw::io::load_torch(dir / "alexnet_zip.pth");
  thaw::Model<thaw::paper::MidLevelFE, thaw::Cpu> model;
  const auto report = model.load_pretrained(sd, /*head_seed=*/7);
  CHECK(report.loaded.size() == 14);
  CHECK(report.initialized == std::vector<std::string>{"classifier.6.weight", "classifier.6.bias"});
  CHECK(report.ignored.empty());
  const auto mine = model.state_dict();
  for (const auto& key : report.loaded) {
    const bool same = mine.at(key) == sd.at(key);
    CHECK(same);
  }
  CHECK(mine.at("classifier.6.weight").shape() == std::vector<std::size_t>{1, 4096});
}
