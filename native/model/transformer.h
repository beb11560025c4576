// The LLaMA-family transformer: weights, RoPE table, and the forward pass over a token batch.
#pragma once

#include <vector>

#include "../common/aligned_buffer.h"
#include "../common/thread_tuner.h"
#include "../kernels/matmul_packed.h"
#include "config.h"
#include "kv_cache.h"
#include "weights.h"

namespace rlcd {

// A token batch: N rows, each one token of some sequence at some position. Prefill (many rows of
// one sequence), decode (one row of many sequences) and scoring are all token batches, so one
// code path serves them and KV-cache decoding equals a full re-forward bit for bit.
struct TokenBatch {
  std::vector<int> tokens;  // (N)
  std::vector<int> slots;   // (N) cache slot of the row's sequence
  std::vector<int> pos;     // (N) position in its sequence
  std::vector<int> logit_rows;  // rows whose next-token logits are wanted, in output order
  int size() const { return (int)tokens.size(); }
  void clear() { tokens.clear(); slots.clear(); pos.clear(); logit_rows.clear(); }
  void add(int token, int slot, int position, bool want_logits) {
    if (want_logits) logit_rows.push_back((int)tokens.size());
    tokens.push_back(token);
    slots.push_back(slot);
    pos.push_back(position);
  }
};

// Activation buffers for up to `rows` rows, reused across forward calls.
struct Activations {
  int rows = 0, logit_rows = 0;
  AlignedBuffer x, xb, qkv, att, gate_up, hidden, logits_in, logits, scratch;
  void ensure(const ModelConfig& cfg, int rows, int logit_rows, int t_max, int threads);
};

class Transformer {
 public:
  // Copies `count` weights laid out as ParameterTensors (see weights.h), f32 or the bits of a bf16 /
  // f16 checkpoint. With a weight type other than F32, the linear weights are kept only in that type.
  Transformer(const ModelConfig& cfg, SourceWeights weights, size_t count, WeightType weight_type = WeightType::F32);
  Transformer(const ModelConfig& cfg, const float* weights, size_t count, WeightType weight_type = WeightType::F32)
      : Transformer(cfg, SourceWeights{weights, WeightType::F32}, count, weight_type) {}
  const ModelConfig& config() const { return cfg_; }
  const ParameterTensors& params() const { return params_; }
  WeightType weight_type() const { return weight_type_; }
  // Bytes of weights held: the packed matrices plus the f32 tensors kept (embedding, norms, biases).
  size_t weight_bytes() const;

  // Runs the rows of `batch` through every layer, writing their keys/values into `cache` first,
  // and returns the logits of batch.logit_rows in acts.logits: (logit_rows, V).
  // Tokens and positions must already be checked (token in [0, V), pos < cache.t_max).
  void forward(const TokenBatch& batch, KVCache& cache, Activations& acts, int threads) const;

  // What generate() learned about thread counts on this machine's current load (thread_tuner.h).
  TunerTable& decode_tuners() const { return decode_tuners_; }

 private:
  // Inference copies of every linear weight in the panel layout of matmul_packed.h, per layer.
  // q, k, v are one matrix (rows of Wq, then Wk, then Wv) and gate, up another, so each block
  // is one matmul: fewer barriers per step and better balance across threads.
  struct PackedLayer {
    PackedMatrix wqkv, wo, w_gate_up, w_down;
    std::vector<float> bqkv;  // (QD + 2 KVD) with qkv_bias, else empty
  };
  void pack(SourceWeights weights, const ParameterTensors& source);

  ModelConfig cfg_;
  WeightType weight_type_;
  ParameterTensors params_;
  RopeTable rope_;
  std::vector<PackedLayer> packed_;
  PackedMatrix packed_lm_head_;
  mutable TunerTable decode_tuners_;
};

}  // namespace rlcd
