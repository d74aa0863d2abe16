// tests/unit/net_test.cpp — run-time facts about Net: torchvision's state-dict keys and the
// printable names of the paper's cases.
#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <vector>

#include "thaw/models/paper_cases.hpp"

TEST_CASE("AlexNet's parameterised layers carry torchvision's keys", "[net]") {
  using N = thaw::paper::MidLevelFE;
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < N::size; ++i)
    if (N::has_parameters[i]) keys.push_back(N::key(i));
  CHECK(keys == std::vector<std::string>{"features.0", "features.3", "features.6", "features.8",
                                         "features.10", "classifier.1", "classifier.4", "classifier.6"});
}

TEST_CASE("a Net without Scope markers is keyed like an nn.Sequential", "[net]") {
  using N = thaw::Net<thaw::Input<1, 4, 4>, thaw::Conv2d<1, 2, 3, 1, 0, thaw::Frozen>, thaw::ReLU, thaw::Flatten,
                      thaw::Linear<8, 1, thaw::Trainable>>;
  CHECK(N::key(0) == "0");
  CHECK(N::key(3) == "3");
}

TEST_CASE("the nine paper cases are listed in the paper's order with their names", "[net]") {
  std::vector<std::string> names;
  std::apply([&](auto... c) { (names.emplace_back(c.name), ...); }, thaw::paper::cases);
  CHECK(names == std::vector<std::string>{"mid-level FE", "CL3-FE", "CL4-FE", "fine-tuning", "low-level FE",
                                          "CL1-FE", "CL2-FE", "high-level FE", "H-M level FE"});
  using First = std::tuple_element_t<0, std::remove_const_t<decltype(thaw::paper::cases)>>::net;
  STATIC_REQUIRE(std::is_same_v<First, thaw::paper::MidLevelFE>);
}
