// All parameters in one allocation, with named views (llm.c's ParameterTensors). The order below
// is the wire format: src/model/weights.ts packs checkpoints into exactly this order.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include "../common/aligned_buffer.h"
#include "config.h"

namespace rlcd {

enum ParamIndex {
  kTokEmb,     // (V, C)
  kAttnNorm,   // (L, C)
  kWq,         // (L, QD, C)
  kWk,         // (L, KVD, C)
  kWv,         // (L, KVD, C)
  kBq,         // (L, QD)    empty without qkv_bias
  kBk,         // (L, KVD)   empty without qkv_bias
  kBv,         // (L, KVD)   empty without qkv_bias
  kWo,         // (L, C, QD)
  kMlpNorm,    // (L, C)
  kWGate,      // (L, H, C)
  kWUp,        // (L, H, C)
  kWDown,      // (L, C, H)
  kFinalNorm,  // (C)
  kLmHead,     // (V, C)     empty with tied embeddings
  kNumParams
};

const char* param_name(int index);

struct ParameterTensors {
  std::array<size_t, kNumParams> sizes{};    // element counts
  std::array<size_t, kNumParams> offsets{};  // into memory
  size_t total = 0;
  AlignedBuffer memory;

  void layout(const ModelConfig& cfg);
  // The layout of `whole` less the tensors `dropped` names (given size 0), packed together.
  void layout_subset(const ParameterTensors& whole, bool (*dropped)(int index));
  float* get(int index) { return memory.data() + offsets[index]; }
  const float* get(int index) const { return memory.data() + offsets[index]; }
  // Per-layer slice of a stacked (L, ...) tensor.
  const float* layer(int index, int l) const {
    return get(index) + sizes[index] / (size_t)num_layers * (size_t)l;
  }
  const float* lm_head() const { return sizes[kLmHead] ? get(kLmHead) : get(kTokEmb); }
  int num_layers = 0;
};

}  // namespace rlcd
