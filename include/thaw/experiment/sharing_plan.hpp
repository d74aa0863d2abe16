// thaw/experiment/sharing_plan.hpp — which cases of an experiment compute the same frozen
// prefix, derived from their types: two cases share one when Model<Net, Backend>::frozen_prefix
// covers the same layer types (same layers, both frozen, same shapes). Started from the same
// weights, such cases feed their trainable parts identical prefix outputs, so one cache of those
// outputs can serve the whole group instead of each case recomputing it.
//
//   using Plan = thaw::experiment::SharingPlan<thaw::Cpu, decltype(thaw::paper::cases)>;
//   Plan::group[i]   // the first case with case i's prefix (i itself when it leads a group)
//   Plan::prefix[i]  // how many layers that prefix holds
//   Plan::computes[i]  // whether it holds a layer with parameters (else caching it saves nothing)
#pragma once

#include <array>
#include <cstddef>
#include <tuple>

#include <boost/hana.hpp>

#include "thaw/model/model.hpp"

namespace thaw::experiment {

namespace hana = boost::hana;

// The layer types below Model<N, Backend>::frozen_prefix, as a hana tuple of types.
template <class N, class Backend>
constexpr auto frozen_prefix_layers() {
  constexpr std::size_t p = Model<N, Backend>::frozen_prefix;
  return hana::unpack(hana::make_range(hana::size_c<0>, hana::size_c<p>), [](auto... i) {
    return hana::tuple_t<typename N::template layer<decltype(i)::value>...>;
  });
}

template <class Backend, class Cases>
struct SharingPlan;

// Cases: a std::tuple of entries with a `net` type (thaw::paper::Named, say).
template <class Backend, class... Case>
struct SharingPlan<Backend, std::tuple<Case...>> {
  static constexpr std::size_t count = sizeof...(Case);
  static constexpr std::array<std::size_t, count> prefix{Model<typename Case::net, Backend>::frozen_prefix...};

  static constexpr std::array<std::size_t, count> group = [] {
    constexpr auto prefixes = hana::make_tuple(frozen_prefix_layers<typename Case::net, Backend>()...);
    std::array<std::size_t, count> first{};
    hana::for_each(hana::to_tuple(hana::make_range(hana::size_c<0>, hana::size_c<count>)), [&](auto i) {
      first[i] = hana::index_if(prefixes, hana::equal.to(hana::at(prefixes, i))).value();
    });
    return first;
  }();

  // A prefix of markers alone (fine-tuning's, whose first real layer trains) costs nothing, and
  // the Trainer does not cache it.
  static constexpr std::array<bool, count> computes{Model<typename Case::net, Backend>::frozen_prefix_computes...};

  // How many cases use case i's prefix (itself included).
  static constexpr std::size_t group_size(std::size_t i) {
    std::size_t n = 0;
    for (std::size_t g : group) n += g == group[i];
    return n;
  }
};

}  // namespace thaw::experiment
