// Hyperparameters of a LLaMA-family model, already normalised by the loader (src/model/config.ts).
#pragma once

#include "../kernels/rope.h"

namespace rlcd {

struct ModelConfig {
  int dim = 0;             // C
  int hidden_dim = 0;      // H
  int n_layers = 0;        // L
  int n_heads = 0;         // NH
  int n_kv_heads = 0;      // NKV
  int head_dim = 0;        // HS (usually C / NH)
  int vocab_size = 0;      // V
  int max_seq_len = 0;     // longest context (RoPE table size)
  float rms_eps = 1e-5f;
  double rope_theta = 10000.0;
  RopeStyle rope_style = RopeStyle::RotateHalf;
  bool tied_embeddings = true;  // lm_head shares the token embedding
  bool qkv_bias = false;        // Qwen2-style biases on q, k, v projections
  int bos_id = 1;
  int eos_id = 2;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
  // Throws RangeError naming the first field that is out of range.
  void validate() const;
};

}  // namespace rlcd
