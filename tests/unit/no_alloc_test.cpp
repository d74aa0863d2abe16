// tests/unit/no_alloc_test.cpp — after the first forward call for a batch size, forward
// allocates nothing. Counts every global operator new in this program (std::vector, xtensor);
// OpenBLAS keeps its own buffer pool outside the C++ heap.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

#include <xtensor/xrandom.hpp>

#include "small_net.hpp"

namespace {
std::atomic<std::size_t> allocations{0};
}

void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  ++allocations;
  return std::malloc(size ? size : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

TEST_CASE("forward allocates nothing after the first call for a batch size", "[model][memory]") {
  thaw::Model<thaw_test::SmallNet, thaw::Cpu> model;
  const xt::xtensor<float, 4> batch = xt::random::randn<float>({8, 3, 16, 16});
  xt::xtensor<float, 2> out;
  for (bool training : {false, true}) {
    model.train(training);
    model.forward(batch, out);  // sizes buffers
    const std::size_t before = allocations.load();
    for (int i = 0; i < 3; ++i) model.forward(batch, out);
    CHECK(allocations.load() == before);
  }
  // A smaller batch reuses the larger buffers.
  const xt::xtensor<float, 4> small = xt::random::randn<float>({2, 3, 16, 16});
  xt::xtensor<float, 2> small_out = xt::zeros<float>({2, 3});
  const std::size_t before = allocations.load();
  model.forward(small, small_out);
  CHECK(allocations.load() == before);
}
