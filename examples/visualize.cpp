// examples/visualize.cpp — the paper's layer pictures (its Figs. 8-10): for each conv layer,
// every image beside the deconvnet projection of its strongest activation in that layer.
//
//   visualize [--weights FILE|DIR] [--compare FILE|DIR] [--images DIR] [--layers 1,2,3,4,5]
//             [--crop] [--out DIR]
//
// FILE: a .pth or .safetensors state dict or a thaw training checkpoint (the 1-logit AlexNet;
// an ImageNet file keeps its body); DIR: <key>.npy files. Without --weights the weights are
// random. --images: up to 9 PNG or DICOM files, preprocessed as torchvision would (RGB,
// Pillow-exact bilinear resize to 224 x 224, ImageNet mean and std); without it, 9 images of
// thaw's synthetic chest X-ray set (written to OUT/synthetic). --compare adds a second model's projections beside the first's (the
// paper's Fig. 10: mid-level FE against fine-tuning); --crop shows only each projected unit's
// receptive field. Writes OUT/cl<k>.png (default OUT: visualize_out).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_options.hpp"

#include "thaw/thaw.hpp"
#include "thaw/data/cxr_dataset.hpp"
#include "thaw/data/preprocess.hpp"
#include "thaw/data/synthetic.hpp"
#include "thaw/io/weights.hpp"
#include "thaw/viz/grid.hpp"

namespace fs = std::filesystem;
using Net = thaw::paper::MidLevelFE;  // any pattern: the deconvnet only reads the weights

namespace {

struct Options {
  std::string weights, compare, images, out = "visualize_out";
  std::vector<std::size_t> layers{1, 2, 3, 4, 5};
  bool crop = false;
};

Options parse(int argc, char** argv) {
  Options o;
  CLI::App app{"Deconvnet pictures of each conv layer (the paper's Figs. 8-10).", "visualize"};
  app.add_option("--weights", o.weights, "trained or pretrained weights (default: random)")->type_name("FILE|DIR");
  app.add_option("--compare", o.compare, "a second model shown beside the first")->type_name("FILE|DIR");
  app.add_option("--images", o.images, "up to 9 PNG/DICOM images (default: 9 synthetic ones)")->type_name("DIR");
  app.add_option("--layers", o.layers, "conv layers to show, comma-separated")
      ->delimiter(',')
      ->check(thaw_examples::whole_number(1, 5))
      ->type_name("1,2,3,4,5");
  app.add_flag("--crop", o.crop, "show only each projected unit's receptive field");
  app.add_option("--out", o.out, "output folder")->type_name("DIR")->capture_default_str();
  thaw_examples::parse_or_exit(app, argc, argv);
  return o;
}

// Up to 9 images of `dir` (PNG or DICOM), or 9 from thaw's synthetic set when dir is empty,
// preprocessed as the paper's pipeline does (Pillow-exact resize, ImageNet normalization).
xt::xtensor<float, 4> load_images(const std::string& dir, const fs::path& out) {
  fs::path folder = dir;
  if (dir.empty()) {
    thaw::data::SyntheticOptions synthetic;
    synthetic.train.images = 9;
    synthetic.train.tb = 5;
    synthetic.test.images = synthetic.test.tb = 0;
    folder = thaw::data::write_synthetic_cxr(out / "synthetic", synthetic).train;
  }
  if (!fs::is_directory(folder)) throw std::runtime_error("'" + folder.string() + "' is not a folder of images");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(folder))
    if (thaw::data::is_image_file(e.path())) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no .png/.dcm images in '" + folder.string() + "'");
  files.resize(std::min<std::size_t>(files.size(), 9));
  const thaw::data::Preprocess pre;
  xt::xtensor<float, 4> images = xt::empty<float>({files.size(), std::size_t{3}, pre.height, pre.width});
  for (std::size_t i = 0; i < files.size(); ++i)
    pre.normalize_into(pre.resize(thaw::data::read_image(files[i])), images.data() + i * 3 * pre.height * pre.width);
  std::printf("loaded %zu images from %s%s\n", files.size(), folder.c_str(), dir.empty() ? " (SYNTHETIC)" : "");
  return images;
}

}  // namespace

// Weights from a .pth/.safetensors file (body kept, a 1000-class head redrawn) or an npy folder.
void load_weights(thaw::Model<Net, thaw::Cpu>& model, const std::string& weights) {
  if (weights.empty()) {
    std::printf("weights: random (seed 2020); pass --weights for a trained or pretrained model\n");
  } else {
    const auto report = model.load_pretrained(thaw::io::load_weights(weights));
    std::printf("%s: loaded %zu tensors\n", weights.c_str(), report.loaded.size());
  }
}

int main(int argc, char** argv) try {
  const Options opt = parse(argc, argv);
  thaw::Model<Net, thaw::Cpu> model(2020), other(2021);
  load_weights(model, opt.weights);
  if (!opt.compare.empty()) load_weights(other, opt.compare);
  const auto images = load_images(opt.images, opt.out);
  thaw::viz::DeconvNet<Net> deconv(model), deconv_other(other);
  fs::create_directories(opt.out);
  for (const std::size_t layer : opt.layers) {
    const auto maps = deconv.project(images, {.layer = layer});
    std::vector<const thaw::viz::Projections*> columns{&maps};
    thaw::viz::Projections maps_other;
    if (!opt.compare.empty()) {
      maps_other = deconv_other.project(images, {.layer = layer});
      columns.push_back(&maps_other);
    }
    const fs::path file = fs::path(opt.out) / ("cl" + std::to_string(layer) + ".png");
    thaw::viz::save_grid(file, images, columns, {.crop = opt.crop});
    std::printf("CL%zu: %s (image: channel, activation)", layer, file.c_str());
    for (std::size_t i = 0; i < maps.channel.size(); ++i) std::printf("  %zu: %zu, %.2f", i, maps.channel[i], maps.activation[i]);
    std::printf("\n");
  }
} catch (const std::exception& e) {
  std::fprintf(stderr, "visualize: %s\n", e.what());
  return 1;
}
