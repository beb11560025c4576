// What a JS model object owns: the transformer and its vocabulary bytes, immutable after creation.
// Workers hold a shared_ptr, so dispose() while a call runs frees the memory when that call ends.
#pragma once

#include <memory>

#include "../model/transformer.h"
#include "../model/vocabulary.h"

namespace rlcd::binding {

struct Engine {
  Engine(const ModelConfig& cfg, SourceWeights weights, size_t count, WeightType weight_type)
      : model(cfg, weights, count, weight_type) {}
  Transformer model;
  Vocabulary vocab;
};

using EnginePtr = std::shared_ptr<const Engine>;

}  // namespace rlcd::binding
