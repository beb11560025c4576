// The LLaMA-family transformer: weights, RoPE table, and the forward pass over a token batch.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "../backend/backend.h"
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

// Activation buffers for up to `rows` rows, in the backend's memory, reused across forward calls.
struct Activations {
  int rows = 0, logit_rows = 0;
  Buffer x, xb, qkv, att, gate_up, hidden, logits_in, logits;
  Buffer tokens, pos, slots, wanted;  // the batch's ints (int32), uploaded each step
  void ensure(Backend& backend, const ModelConfig& cfg, int rows, int logit_rows);
  size_t bytes() const;
  // The logits of the last forward (logit_rows, V) in host memory: the backend's own buffer on the
  // CPU, a copy downloaded after the step elsewhere.
  const float* host_logits() const { return host_logits_ ? host_logits_ : logits.f32(); }
  std::vector<float> host_copy;
  const float* host_logits_ = nullptr;
};

class Transformer {
 public:
  // Copies `count` weights laid out as ParameterTensors (see weights.h), f32 or the bits of a bf16 /
  // f16 checkpoint, into `backend`'s memory: the linear weights as the backend's matrices in
  // `weight_type`, the embedding, norms and biases as f32.
  Transformer(const ModelConfig& cfg, SourceWeights weights, size_t count, WeightType weight_type = WeightType::F32,
              Backend& backend = cpu_backend());
  Transformer(const ModelConfig& cfg, const float* weights, size_t count, WeightType weight_type = WeightType::F32,
              Backend& backend = cpu_backend())
      : Transformer(cfg, SourceWeights{weights, WeightType::F32}, count, weight_type, backend) {}
  // The layers' matrices from `make_block(layer, block)` (block 0 q|k|v, 1 o, 2 gate|up, 3 down,
  // parts stacked as rows, as pack() stacks them), already on `backend` in `weight_type`; the
  // embedding, norms, biases and LM head from the f32 tensors of `kept` (a ParameterTensors layout
  // whose block matrices may be absent). A trainer snapshots its weights this way one block at a
  // time, with no f32 copy of the whole model.
  using BlockMaker = std::function<std::unique_ptr<Matrix>(int layer, int block)>;
  Transformer(const ModelConfig& cfg, const ParameterTensors& kept, const BlockMaker& make_block, WeightType weight_type,
              Backend& backend = cpu_backend());
  const ModelConfig& config() const { return cfg_; }
  Backend& backend() const { return *backend_; }
  WeightType weight_type() const { return weight_type_; }
  // Bytes of weights held: the matrices plus the f32 tensors kept (embedding, norms, biases).
  size_t weight_bytes() const;

  // Runs the rows of `batch` through every layer, writing their keys/values into `cache` first,
  // and returns the logits of batch.logit_rows in acts.host_logits(): (logit_rows, V).
  // Tokens and positions must already be checked (token in [0, V), pos < cache.t_max).
  void forward(const TokenBatch& batch, KVCache& cache, Activations& acts, int threads) const;

  // What generate() learned about thread counts on this machine's current load (thread_tuner.h).
  TunerTable& decode_tuners() const { return decode_tuners_; }

  // A KV cache and activations for one call (generate, score), kept by the model between calls:
  // allocating them afresh faulted in and zeroed megabytes each time, half the scoring time on
  // tinystories-656k. A call that finds the model's workspace taken (calls on one model at once)
  // gets a new one; the larger is kept when both come back, unless it holds more than
  // kKeptWorkspaceBytes (a big generation's cache is freed, as before, not held by an idle model).
  struct Workspace {
    KVCache cache;
    Activations acts;
  };
  class WorkspaceLease {
   public:
    WorkspaceLease(const Transformer& model, std::unique_ptr<Workspace> ws) : model_(model), ws_(std::move(ws)) {}
    ~WorkspaceLease() { model_.give_back(std::move(ws_)); }
    WorkspaceLease(const WorkspaceLease&) = delete;
    WorkspaceLease& operator=(const WorkspaceLease&) = delete;
    KVCache& cache() { return ws_->cache; }
    Activations& acts() { return ws_->acts; }

   private:
    const Transformer& model_;
    std::unique_ptr<Workspace> ws_;
  };
  WorkspaceLease workspace() const;
  static constexpr size_t kKeptWorkspaceBytes = (size_t)256 << 20;

 private:
  // Every linear weight as the backend's matrix, per layer. q, k, v are one matrix (rows of Wq,
  // then Wk, then Wv) and gate, up another, so each block is one matmul: fewer barriers per step
  // and better balance across threads.
  struct Layer {
    std::unique_ptr<Matrix> wqkv, wo, w_gate_up, w_down;
    Buffer bqkv;  // (QD + 2 KVD) with qkv_bias
  };
  // The f32 tensors forward() reads (all but the linear weights) from `weights` laid out as `source`.
  void keep_tensors(SourceWeights weights, const ParameterTensors& source);
  // The layers' matrices (from `weights`, or from make_block when given), biases and LM head.
  void pack(SourceWeights weights, const ParameterTensors& source, const BlockMaker* make_block = nullptr);
  void give_back(std::unique_ptr<Workspace> ws) const;
  const float* tensor(int index) const { return params_mem_.f32() + params_.offsets[index]; }
  const float* layer_tensor(int index, int l) const { return tensor(index) + params_.sizes[index] / (size_t)cfg_.n_layers * l; }

  ModelConfig cfg_;
  WeightType weight_type_;
  Backend* backend_;
  ParameterTensors params_;  // the layout of the f32 tensors forward() reads (memory unused)
  Buffer params_mem_;        // their values, in the backend's memory
  RopeTable rope_;
  std::vector<Layer> layers_;
  mutable std::mutex workspace_mutex_;
  mutable std::unique_ptr<Workspace> workspace_;  // null while a call holds it
  std::unique_ptr<Matrix> lm_head_;
  mutable TunerTable decode_tuners_;
};

}  // namespace rlcd
