// tests/parity/deconv_parity_test.cpp — thaw's DeconvNet against a deconvnet built on
// torchvision's AlexNet (make_deconv_reference.py): the same unit is chosen in every layer and
// its projection to pixels matches within 1e-4 relative.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include <xtensor/xnpy.hpp>

#include "thaw/thaw.hpp"
#include "thaw/viz/deconvnet.hpp"

#include "../oracle_files.hpp"

namespace fs = std::filesystem;

TEST_CASE("DeconvNet projections equal a PyTorch deconvnet's for every conv layer", "[parity][deconv]") {
  const fs::path dir = oracle_dir();
  using Net = thaw::AlexNet<thaw::Freeze, thaw::Freeze, thaw::Freeze, thaw::Freeze, thaw::Freeze>;
  thaw::Model<Net, thaw::Cpu> model;
  model.load_state_dict(thaw::io::load_npy_dir(dir / "weights"));
  thaw::viz::DeconvNet<Net> deconv(model);
  const xt::xtensor<float, 4> x = xt::load_npy<float>((dir / "input.npy").string());
  for (std::size_t layer = 1; layer <= 5; ++layer)
    for (const auto& [name, channel] : {std::pair{"strongest", thaw::viz::strongest}, std::pair{"channel7", std::size_t{7}}}) {
      INFO("layer " << layer << ", " << name);
      const auto p = deconv.project(x, {.layer = layer, .channel = channel});
      const auto base = "layer" + std::to_string(layer) + "_" + name;
      const auto units = xt::load_npy<std::int64_t>((dir / (base + "_units.npy")).string());
      const auto ref = xt::load_npy<float>((dir / (base + ".npy")).string());
      // The unit kept: channel * H * W + y * W + x in the reference's flat numbering.
      const auto s = Net::shapes[thaw::viz::DeconvNet<Net>::conv_index(layer) + 1];
      for (std::size_t b = 0; b < 3; ++b)
        CHECK(std::int64_t(p.channel[b] * s.h * s.w + p.y[b] * s.w + p.x[b]) == units(b));
      REQUIRE(p.pixels.size() == ref.size());
      double diff = 0, scale = 0;
      for (std::size_t i = 0; i < ref.size(); ++i) {
        diff = std::max(diff, double(std::abs(p.pixels.data()[i] - ref.data()[i])));
        scale = std::max(scale, double(std::abs(ref.data()[i])));
      }
      INFO("max|diff| = " << diff << ", max|ref| = " << scale);
      CHECK(scale > 0);
      CHECK(diff <= 1e-4 * scale);
    }
}
