// tests/unit/dataset_test.cpp — train::Dataset takes its labels from any range of 0/1 numbers
// (as train_step does) and refuses other values before they are rounded into floats.
#include <catch2/catch.hpp>

#include <vector>

#include <xtensor/xtensor.hpp>

#include "thaw/train/dataset.hpp"

namespace {
xt::xtensor<float, 4> images(std::size_t n) { return xt::zeros<float>({n, std::size_t{1}, std::size_t{2}, std::size_t{2}}); }
}  // namespace

TEST_CASE("Dataset takes labels from any range of 0/1 values", "[dataset]") {
  const std::vector<float> expected{0, 1, 1, 0};
  const std::vector<float> floats = expected;
  CHECK(thaw::train::Dataset{images(4), floats}.labels == expected);
  CHECK(thaw::train::Dataset{images(4), std::vector<int>{0, 1, 1, 0}}.labels == expected);
  CHECK(thaw::train::Dataset{images(4), std::vector<double>{0.0, 1.0, 1.0, 0.0}}.labels == expected);
  CHECK(thaw::train::Dataset{images(4), std::vector<bool>{false, true, true, false}}.labels == expected);
  const xt::xtensor<float, 1> tensor = {0.0f, 1.0f, 1.0f, 0.0f};
  thaw::train::Dataset from_tensor{images(4), tensor};
  CHECK(from_tensor.labels == expected);
  CHECK_NOTHROW(from_tensor.check("tensor labels"));
  thaw::train::Dataset empty_labels{images(0), {}};
  CHECK(empty_labels.size() == 0);
}

TEST_CASE("Dataset refuses labels other than 0 and 1 and names the first", "[dataset][errors]") {
  CHECK_THROWS_WITH((thaw::train::Dataset{images(3), std::vector<int>{0, 1, 2}}),
                    Catch::Contains("label 2 is 2;") && Catch::Contains("must be 0 or 1"));
  // 1 + 1e-12 becomes exactly 1.0f as a float; it is refused before that.
  CHECK_THROWS_WITH((thaw::train::Dataset{images(2), std::vector<double>{1.0 + 1e-12, 0.0}}),
                    Catch::Contains("label 0 is 1.0"));
  // A std::vector<float> is taken as it is; check() refuses its bad label, naming the set.
  const thaw::train::Dataset loose{images(2), std::vector<float>{0.5f, 1.0f}};
  CHECK_THROWS_WITH(loose.check("validation"), Catch::Contains("'validation': label 0 is 0.5"));
}
