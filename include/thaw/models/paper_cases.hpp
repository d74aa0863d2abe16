// thaw/models/paper_cases.hpp — the nine freeze patterns compared in the JIPS 2020 paper,
// as aliases and as one compile-time list with printable names for ablation loops.
#pragma once

#include <cstddef>
#include <string_view>
#include <tuple>

#include "thaw/models/alexnet.hpp"

namespace thaw::paper {

using MidLevelFE = AlexNet<Freeze, Freeze, Train, Train, Freeze>;   // the paper's proposal
using CL3FE = AlexNet<Freeze, Freeze, Train, Freeze, Freeze>;
using CL4FE = AlexNet<Freeze, Freeze, Freeze, Train, Freeze>;
using FineTuning = AlexNet<Train, Train, Train, Train, Train>;
using LowLevelFE = AlexNet<Train, Train, Freeze, Freeze, Freeze>;
using CL1FE = AlexNet<Train, Freeze, Freeze, Freeze, Freeze>;
using CL2FE = AlexNet<Freeze, Train, Freeze, Freeze, Freeze>;
using HighLevelFE = AlexNet<Freeze, Freeze, Freeze, Freeze, Train>;
using HMLevelFE = AlexNet<Freeze, Freeze, Train, Train, Train>;

// One entry per case, in the paper's order: for (auto c : cases) ... or std::apply over it.
// `slug` is the case's short name on command lines and in file paths (tb_transfer --cases).
template <class N>
struct Named {
  using net = N;
  std::string_view name;
  std::string_view slug{};
};

inline constexpr std::tuple cases{
    Named<MidLevelFE>{"mid-level FE", "mid"},  Named<CL3FE>{"CL3-FE", "cl3"},
    Named<CL4FE>{"CL4-FE", "cl4"},             Named<FineTuning>{"fine-tuning", "finetune"},
    Named<LowLevelFE>{"low-level FE", "low"},  Named<CL1FE>{"CL1-FE", "cl1"},
    Named<CL2FE>{"CL2-FE", "cl2"},             Named<HighLevelFE>{"high-level FE", "high"},
    Named<HMLevelFE>{"H-M level FE", "hm"},
};

inline constexpr std::size_t case_count = std::tuple_size_v<decltype(cases)>;

}  // namespace thaw::paper
