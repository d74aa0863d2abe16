// tests/parity/winograd_parity_test.cpp — the CPU backend's Winograd F(2x2, 3x3) and
// F(2x2, 5x5) convolutions (3x3 and 5x5 kernels, stride 1, padding 1 and 2) against
// torch.nn.functional.conv2d and autograd, written at test time by make_winograd_reference.py:
// odd, even and non-square maps, batches > 1, AlexNet's conv4 and conv2, forward within 1e-4 of
// max|reference|, and every gradient within 1e-4 relative, in each mix of Winograd and im2col
// gradients the layer types can select.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xtensor/xnpy.hpp>

#include "thaw/backend/cpu/winograd.hpp"

#include "../oracle_files.hpp"

namespace fs = std::filesystem;

namespace {

std::vector<float> load(const fs::path& path) {
  const xt::xarray<float> a = xt::load_npy<float>(path.string());
  return {a.begin(), a.end()};
}

// max|a - b| / max|b|
double relative(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, double(std::abs(a[i] - b[i])));
    scale = std::max(scale, double(std::abs(b[i])));
  }
  REQUIRE(scale > 0);  // an all-zero reference would make the check vacuous
  return diff / scale;
}

struct Case {
  std::string name;
  thaw::cpu::ConvGeometry g;
  std::size_t batch;
  std::vector<float> x, weight, bias, dy, z, dx, dweight, dbias;
};

std::vector<Case> cases() {
  const fs::path dir = oracle_dir();
  std::ifstream in(dir / "cases.json");
  REQUIRE(in);
  std::vector<Case> all;
  for (const auto& c : nlohmann::json::parse(in)) {
    const fs::path f = dir / c["name"].get<std::string>();
    const thaw::Shape input{c["in"], c["h"], c["w"]}, output{c["out"], c["h"], c["w"]};
    const std::size_t k = c["kernel"];
    all.push_back({c["name"], {input, output, k, 1, k / 2}, c["batch"], load(f / "x.npy"), load(f / "weight.npy"),
                   load(f / "bias.npy"), load(f / "dy.npy"), load(f / "z.npy"), load(f / "dx.npy"),
                   load(f / "dweight.npy"), load(f / "dbias.npy")});
  }
  REQUIRE(all.size() == 8);
  return all;
}

// f(transform) with the transform of the case's kernel size.
template <class F>
void with_transform(const Case& c, F&& f) {
  REQUIRE((c.g.kernel == 3 || c.g.kernel == 5));
  if (c.g.kernel == 3) f(thaw::cpu::winograd::F2x2_3x3{});
  else f(thaw::cpu::winograd::F2x2_5x5{});
}

template <bool Data, bool Weight, class T>
void check_backward(const Case& c, T, thaw::cpu::WinogradScratch& scratch) {
  // The mask comes from PyTorch's output, so a z within rounding of zero cannot flip it.
  std::vector<float> y(c.z.size());
  std::transform(c.z.begin(), c.z.end(), y.begin(), [](float v) { return std::max(v, 0.0f); });
  std::vector<float> dx(c.x.size(), -1.0f), dweight(c.weight.size(), -1.0f), dbias(c.bias.size(), -1.0f);
  thaw::cpu::ConvScratch columns;
  // The gradient through the ReLU over dy, as a Model's pass writes it.
  std::vector<float> dy = c.dy;
  thaw::cpu::winograd_conv2d_backward<T, Data, Weight>(c.g, c.x.data(), y.data(), dy.data(), c.batch, c.weight.data(),
                                                    true, dy.data(), dweight.data(), dbias.data(), dx.data(), columns,
                                                    scratch);
  CHECK(relative(dx, c.dx) <= 1e-4);
  CHECK(relative(dweight, c.dweight) <= 1e-4);
  CHECK(relative(dbias, c.dbias) <= 1e-4);
}

}  // namespace

TEST_CASE("Winograd 3x3 and 5x5 convolution forward matches PyTorch", "[winograd][parity]") {
  thaw::cpu::WinogradScratch scratch;  // shared across cases: reused buffers must not leak state
  for (const Case& c : cases()) {
    INFO(c.name);
    for (bool relu : {false, true}) {
      INFO("relu " << relu);
      std::vector<float> y(c.z.size(), -1.0f), expected = c.z;
      if (relu) std::transform(expected.begin(), expected.end(), expected.begin(), [](float v) { return std::max(v, 0.0f); });
      with_transform(c, [&]<class T>(T) {
        thaw::cpu::winograd_conv2d_forward<T>(c.g, c.x.data(), c.batch, c.weight.data(), c.bias.data(), relu,
                                              y.data(), scratch);
      });
      CHECK(relative(y, expected) <= 1e-4);
    }
  }
}

TEST_CASE("Winograd 3x3 and 5x5 convolution gradients match PyTorch", "[winograd][parity]") {
  thaw::cpu::WinogradScratch scratch;
  for (const Case& c : cases()) {
    INFO(c.name);
    with_transform(c, [&](auto transform) {
      {
        INFO("both gradients by Winograd");
        check_backward<true, true>(c, transform, scratch);
      }
      {
        INFO("data gradient by Winograd, weight gradient by im2col");
        check_backward<true, false>(c, transform, scratch);
      }
      {
        INFO("weight gradient by Winograd, data gradient by im2col");
        check_backward<false, true>(c, transform, scratch);
      }
    });
  }
}
