// What a JS model object owns: the transformer and its vocabulary bytes, immutable after creation.
// Workers hold a shared_ptr, so dispose() while a call runs frees the memory when that call ends.
#pragma once

#include <memory>

#include "../model/transformer.h"
#include "../model/vocabulary.h"

namespace rlcd::binding {

struct Engine {
  // `backend`: the GPU backend the model lives on, owned here; null: the CPU backend.
  Engine(const ModelConfig& cfg, SourceWeights weights, size_t count, WeightType weight_type,
         std::unique_ptr<Backend> backend = nullptr)
      : owned_backend(std::move(backend)),
        model(cfg, weights, count, weight_type, owned_backend ? *owned_backend : cpu_backend()) {}
  std::unique_ptr<Backend> owned_backend;  // declared first: it outlives the model's memory
  Transformer model;
  Vocabulary vocab;
};

using EnginePtr = std::shared_ptr<const Engine>;

}  // namespace rlcd::binding
