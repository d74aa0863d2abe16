// thaw/thaw.hpp — the umbrella header: the compile-time core, AlexNet and the paper's cases,
// the CPU backend, Model with its training members, and the weight-file readers.
#pragma once

#include "thaw/config.hpp"
#include "thaw/core/cost.hpp"
#include "thaw/core/net.hpp"
#include "thaw/core/shape.hpp"
#include "thaw/core/state_dict.hpp"
#include "thaw/core/tags.hpp"
#include "thaw/backend/cpu/cpu.hpp"
#include "thaw/io/npy.hpp"
#include "thaw/io/safetensors.hpp"
#include "thaw/io/torch.hpp"
#include "thaw/metrics/delong.hpp"
#include "thaw/metrics/roc.hpp"
#include "thaw/models/alexnet.hpp"
#include "thaw/models/paper_cases.hpp"
#include "thaw/model/model.hpp"
#include "thaw/train/model_training.hpp"
