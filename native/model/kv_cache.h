// Keys and values of every layer for a set of sequence slots.
#pragma once

#include "../backend/backend.h"
#include "config.h"

namespace rlcd {

struct KVCache {
  int layers = 0, slots = 0, t_max = 0, kvd = 0;
  Buffer k;  // (L, slots, t_max, KVD), in the backend's memory
  Buffer v;  // (L, slots, t_max, KVD)

  // Shapes the cache for num_slots sequences of up to `positions` tokens, keeping its memory when
  // it is large enough (a step reads only the positions it has written, so old values never leak).
  void init(Backend& backend, const ModelConfig& cfg, int num_slots, int positions) {
    layers = cfg.n_layers;
    slots = num_slots;
    t_max = positions;
    kvd = cfg.kv_dim();
    const size_t bytes = (size_t)layers * slots * t_max * kvd * sizeof(float);
    if (k.bytes() < bytes) {
      k = Buffer();  // free the old before taking the new
      v = Buffer();
      k = Buffer(&backend, bytes);
      v = Buffer(&backend, bytes);
    }
  }
  KVView layer(int l) const {
    size_t off = (size_t)l * slots * t_max * kvd;
    return KVView{k.f32() + off, v.f32() + off, t_max, kvd};
  }
};

}  // namespace rlcd
