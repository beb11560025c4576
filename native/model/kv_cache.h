// Keys and values of every layer for a set of sequence slots.
#pragma once

#include "../common/aligned_buffer.h"
#include "../kernels/attention.h"
#include "config.h"

namespace rlcd {

struct KVCache {
  int layers = 0, slots = 0, t_max = 0, kvd = 0;
  AlignedBuffer k;  // (L, slots, t_max, KVD)
  AlignedBuffer v;  // (L, slots, t_max, KVD)

  void init(const ModelConfig& cfg, int num_slots, int positions) {
    layers = cfg.n_layers;
    slots = num_slots;
    t_max = positions;
    kvd = cfg.kv_dim();
    size_t count = (size_t)layers * slots * t_max * kvd;
    k.resize(count);
    v.resize(count);
  }
  LayerCache layer(int l) {
    size_t off = (size_t)l * slots * t_max * kvd;
    return LayerCache{k.data() + off, v.data() + off, t_max, kvd};
  }
};

}  // namespace rlcd
