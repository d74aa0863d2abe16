// tests/report/report_test.cpp — thaw::report: the report of an experiment's output folder
// ("[for-python]" writes it for the Python and Chromium checks), and the errors that name the
// broken file and what is wrong with it.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <catch2/catch.hpp>

#include "oracle_files.hpp"
#include "thaw/report/report.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

TEST_CASE("write the report of the drawn experiment", "[.][for-python]") {
  const std::string table = thaw::report::write_report(oracle_dir("THAW_REPORT_DIR"), "mid");
  std::cout << table;
  CHECK_THAT(table, Contains("mid-level FE"));
}

namespace {

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

std::string run_json(const std::string& slug, int seed, const std::string& labels = "[0, 1, 0, 1]") {
  return R"({"case": ")" + slug + R"(", "slug": ")" + slug + R"(", "type": "AlexNet<Train, Train, Train, Train, Train>",
    "seed": )" + std::to_string(seed) + R"(, "trainable_parameters": 10, "training_seconds": 1.5, "prefix_seconds": 0,
    "history": [{"epoch": 1, "train_loss": 0.7, "validation_loss": 0.6, "lr": 0.001, "seconds": 1}],
    "validation": {"scores": [0.1, 0.9, 0.3, 0.4], "labels": )" + labels + R"(, "files": ["a", "b", "c", "d"]},
    "external": {"scores": [0.2, 0.8, 0.1, 0.7], "labels": [0, 1, 0, 1], "files": ["e", "f", "g", "h"]}})";
}

// A minimal valid output folder: settings and one run of the reference case.
fs::path minimal_folder(const std::string& name) {
  const fs::path out = fs::temp_directory_path() / ("thaw_report_test_" + name);
  fs::remove_all(out);
  write(out / "settings.json", R"({"epochs": 1})");
  write(out / "runs/mid/seed-1/run.json", run_json("mid", 1));
  return out;
}

std::string error_of(const fs::path& out) {
  try {
    thaw::report::write_report(out);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("write_report accepted a broken folder: " + out.string());
  return {};
}

}  // namespace

TEST_CASE("a minimal folder gives a report that says figures and timing are absent", "[report]") {
  const auto out = minimal_folder("minimal");
  const std::string table = thaw::report::write_report(out);
  CHECK_THAT(table, Contains("mid"));
  for (const char* file : {"history.csv", "results.json", "results.csv", "index.html", "roc_external.svg"})
    CHECK(fs::is_regular_file(out / file));
  std::ifstream in(out / "index.html");
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(page, Contains("figures.json is absent"));
  CHECK_THAT(page, Contains("timing.json is absent"));
  fs::remove_all(out);
}

TEST_CASE("broken output folders are refused with the file and the fault named", "[report]") {
  SECTION("no settings") {
    const auto out = minimal_folder("no_settings");
    fs::remove(out / "settings.json");
    CHECK_THAT(error_of(out), Contains("settings.json' is missing"));
  }
  SECTION("no runs") {
    const auto out = minimal_folder("no_runs");
    fs::remove_all(out / "runs");
    CHECK_THAT(error_of(out), Contains("runs' does not exist"));
  }
  SECTION("a run that is not JSON") {
    const auto out = minimal_folder("bad_json");
    write(out / "runs/cl1/seed-1/run.json", "{\"case\": ");
    const auto message = error_of(out);
    CHECK_THAT(message, Contains("cl1/seed-1/run.json' is not valid JSON"));
  }
  SECTION("a label that is not 0 or 1") {
    const auto out = minimal_folder("bad_label");
    write(out / "runs/cl1/seed-1/run.json", run_json("cl1", 1, "[0, 2, 0, 1]"));
    const auto message = error_of(out);
    CHECK_THAT(message, Contains("cl1/seed-1/run.json'") && Contains("\"validation\" has a label that is not 0 or 1: 2"));
  }
  SECTION("a missing field") {
    const auto out = minimal_folder("no_history");
    std::string text = run_json("cl1", 1);
    text.replace(text.find("\"history\""), 9, "\"hist\"");
    write(out / "runs/cl1/seed-1/run.json", text);
    CHECK_THAT(error_of(out), Contains("cl1/seed-1/run.json': has no \"history\""));
  }
  SECTION("one class only") {
    const auto out = minimal_folder("one_class");
    write(out / "runs/cl1/seed-1/run.json", run_json("cl1", 1, "[1, 1, 1, 1]"));
    CHECK_THAT(error_of(out), Contains("needs both classes"));
  }
  SECTION("a run in the wrong folder") {
    const auto out = minimal_folder("moved");
    write(out / "runs/cl1/seed-2/run.json", run_json("cl1", 1));
    CHECK_THAT(error_of(out), Contains("says slug \"cl1\", seed 1 but lies in cl1/seed-2"));
  }
  SECTION("no run of the reference case") {
    const auto out = minimal_folder("no_reference");
    fs::rename(out / "runs/mid", out / "runs/cl1");
    write(out / "runs/cl1/seed-1/run.json", run_json("cl1", 1));
    CHECK_THAT(error_of(out), Contains("no run of the reference case \"mid\""));
  }
  SECTION("a figure whose file is missing") {
    const auto out = minimal_folder("missing_figure");
    write(out / "figures/figures.json", R"([{"title": "CL1", "file": "figures/cl1.png", "case": "mid"}])");
    CHECK_THAT(error_of(out), Contains("figures.json': figure 1 names 'figures/cl1.png', which is not in"));
  }
  SECTION("a timing file without its prefix times") {
    const auto out = minimal_folder("bad_timing");
    write(out / "timing.json", R"({"total_seconds": 3})");
    CHECK_THAT(error_of(out), Contains("timing.json': has no \"prefix\""));
  }
}

TEST_CASE("epochs to converge: the first epoch within 5% of the lowest validation loss", "[report]") {
  using thaw::report::EpochRecord;
  const auto nan = std::numeric_limits<double>::quiet_NaN();
  // lowest 1.0 at epoch 4; epoch 3 (1.04) is within 5%, epoch 2 (1.06) is not
  CHECK(thaw::report::epochs_to_converge({{1, 0, 2.0, 0, 0}, {2, 0, 1.06, 0, 0}, {3, 0, 1.04, 0, 0},
                                          {4, 0, 1.0, 0, 0}, {5, 0, 1.2, 0, 0}}) == 3);
  // no validation loss: the training loss decides
  CHECK(thaw::report::epochs_to_converge({{1, 3.0, nan, 0, 0}, {2, 1.0, nan, 0, 0}, {3, 1.01, nan, 0, 0}}) == 2);
}
