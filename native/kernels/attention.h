// Causal self-attention of new rows against a KV cache (prefill and decode are the same call).
#pragma once

namespace rlcd {

// One layer's cache: key and value rows for every (slot, position).
struct LayerCache {
  float* k;       // (slots, T_max, KVD)
  float* v;       // (slots, T_max, KVD)
  int t_max;
  int kvd;
};

// out:  (N, NH * HS)  attention output per row, before the output projection
// q:    (N, NH * HS)  queries of the new rows (RoPE applied), rows `q_stride` floats apart
// slot: (N)           cache slot (sequence) of each row
// pos:  (N)           position of each row; it attends to positions 0..pos of its slot, whose
//                     keys/values must already be in the cache (the row's own included)
// scratch: (threads, T_max) score buffer per OpenMP thread
// Heads of a GQA group share one key/value head: query head h reads kv head h / (NH / NKV).
void attention_forward(float* out, const float* q, long q_stride, const int* slot, const int* pos,
                       const LayerCache& cache, int N, int NH, int NKV, int HS, float* scratch);

}  // namespace rlcd
