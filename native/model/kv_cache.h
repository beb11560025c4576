// Keys and values of every layer for a set of sequence slots.
#pragma once

#include "../backend/backend.h"
#include "config.h"

namespace rlcd {

struct KVCache {
  int layers = 0, slots = 0, t_max = 0, kvd = 0;
  Buffer k;  // (L, slots, t_max, KVD), in the backend's memory
  Buffer v;  // (L, slots, t_max, KVD)

  void init(Backend& backend, const ModelConfig& cfg, int num_slots, int positions) {
    layers = cfg.n_layers;
    slots = num_slots;
    t_max = positions;
    kvd = cfg.kv_dim();
    size_t count = (size_t)layers * slots * t_max * kvd;
    k = Buffer(&backend, count * sizeof(float));
    v = Buffer(&backend, count * sizeof(float));
  }
  KVView layer(int l) const {
    size_t off = (size_t)l * slots * t_max * kvd;
    return KVView{k.f32() + off, v.f32() + off, t_max, kvd};
  }
};

}  // namespace rlcd
