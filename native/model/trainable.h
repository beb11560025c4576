// A transformer that trains: the forward pass over right-padded sequences keeps its activations,
// the backward pass accumulates gradients for the trainable parameters (all weights, or LoRA
// adapters over frozen weights), plus an optional scalar head on the final hidden states.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "../common/aligned_buffer.h"
#include "../kernels/rope.h"
#include "../optim/adamw.h"
#include "config.h"
#include "lora.h"
#include "transformer.h"
#include "weights.h"

namespace rlcd {

// Scalar head r = w . h + b on the final (normed) hidden state: the preference model reads it at
// the last non-pad token, the value model at every position. b starts at zero.
enum class HeadKind { None, Scalar };

struct TrainBatch {
  int B = 0, T = 0;
  std::vector<int> tokens;   // (B, T), right-padded
  std::vector<int> lengths;  // (B) valid tokens per row, 1..T
  // Positions (b * T + t, ascending) whose next-token logits are wanted; empty: all of them. A loss
  // that reads a few positions (PPO and DPO read the response) skips the LM head elsewhere.
  std::vector<int> logit_rows;
  int rows() const { return B * T; }
  int logit_count() const { return logit_rows.empty() ? rows() : (int)logit_rows.size(); }
};

class TrainableModel {
 public:
  // weights: ParameterTensors layout (see weights.h). head_init: (C + 1) = [w, b] or nullptr
  // (w ~ N(0, 1/(C+1)), b = 0). LoRA A matrices draw from `seed`.
  // Runs on the CPU backend: its buffers are host memory that the trainer's state calls, the losses
  // and the tests read directly (a GPU backend's trainer needs them in its memory: not done yet).
  TrainableModel(const ModelConfig& cfg, const float* weights, size_t count, const LoraConfig& lora,
                 HeadKind head, const float* head_init, uint64_t seed, int threads);

  const ModelConfig& config() const { return cfg_; }
  Backend& backend() const { return *backend_; }
  int threads() const { return threads_; }
  void set_threads(int t) { threads_ = t; }

  // Forward pass. `adapters` = false runs the frozen base model (PPO's reference policy).
  // Outputs: logits() (batch.logit_count(), V) when want_logits; head() (N) when the model has a head.
  void forward(const TrainBatch& batch, bool want_logits, bool adapters = true);
  const float* logits() const { return logits_.data(); }
  const float* head() const { return head_out_.data(); }

  // Backward pass from d(loss)/d(logits) (logit_count, V) and/or d(loss)/d(head) (N); either may be null.
  // Gradients accumulate (+=) until step() or zero_grad().
  void backward(const float* dlogits, const float* dhead);

  // Clips the global gradient norm (max_norm <= 0: no clipping), applies AdamW, zeroes the
  // gradients; returns the norm before clipping. `clip_norm` >= 0 replaces this model's own norm
  // in the clipping decision: one clip over several models (PPO's policy and value) passes the
  // norm of all their gradients together.
  double step(const AdamWConfig& opt, double max_norm, double clip_norm = -1.0);
  void zero_grad();
  double grad_norm() const;
  long steps_taken() const { return step_; }

  // Trainable parameters as one list of spans (weights or adapters, then the head).
  struct Span { float* param; float* grad; size_t n; };
  const std::vector<Span>& trainable() const { return spans_; }
  size_t trainable_count() const;

  ParameterTensors& params() { return params_; }
  const ParameterTensors& params() const { return params_; }
  const AlignedBuffer& grads() const { return grads_; }
  LoraTensors& lora_layout() { return lora_; }
  AlignedBuffer& lora_params() { return lora_params_; }
  const AlignedBuffer& lora_grads() const { return lora_grads_; }
  AlignedBuffer& head_params() { return head_params_; }
  const AlignedBuffer& head_grads() const { return head_grads_; }
  AlignedBuffer& adam_m() { return m_; }
  AlignedBuffer& adam_v() { return v_; }
  void set_steps_taken(long s) { step_ = s; }

  // Base weights with the adapters merged in (W + scale B A), in the ParameterTensors layout.
  void merged_weights(float* out) const;

  // An inference engine (KV-cache decoding) over the current weights: merged with the adapters, or
  // the frozen base with `adapters` = false (PPO's reference under LoRA). Copies and packs the
  // weights: O(parameters), small next to a rollout (measured in bench/ppo.bench.ts).
  std::unique_ptr<Transformer> snapshot(bool adapters) const;

 private:
  struct LayerActs {
    AlignedBuffer in, ln1, rstd1, qkv, probs, att, mid, ln2, rstd2, gate_up, hidden;
    std::vector<AlignedBuffer> lora_xa;  // (kNumLoraTargets) x A^T per adapted projection: (N, r)
  };
  void ensure(int B, int T, bool want_logits);
  // y (N, out) (+)= x W^T [+ scale (x A^T) B^T]; saves x A^T.
  void linear(float* y, long ldy, const float* x, long ldx, const float* W, const float* bias, int l, int target,
              int in, int out, bool adapters, bool accumulate);
  // dx (N, in) (+)= dy W [+ adapter path]; dW, dbias, dA, dB accumulate when trainable.
  void linear_back(float* dx, long lddx, const float* dy, long lddy, const float* x, long ldx, const float* W,
                   float* dW, float* dbias, int l, int target, int in, int out, bool accumulate_dx);

  ModelConfig cfg_;
  Backend* backend_ = &cpu_backend();
  ParameterTensors params_;
  AlignedBuffer grads_;  // ParameterTensors layout; empty when the base is frozen (LoRA)
  LoraTensors lora_;
  AlignedBuffer lora_params_, lora_grads_;
  HeadKind head_kind_;
  AlignedBuffer head_params_, head_grads_;  // (C + 1)
  AlignedBuffer m_, v_;                     // AdamW moments over the spans, in order
  std::vector<Span> spans_;
  long step_ = 0;
  int threads_ = 1;
  RopeTable rope_;

  // activations of the last forward pass
  int B_ = 0, T_ = 0, cap_T_ = 0, cap_B_ = 0;
  bool have_logits_ = false, used_adapters_ = true;
  std::vector<int> tokens_, pos_, lengths_, logit_rows_;
  std::vector<LayerActs> layers_;
  AlignedBuffer resid_out_, lnf_, rstdf_, logits_, head_out_, lnf_rows_, dlnf_rows_;
  // backward scratch
  AlignedBuffer dres_, dmid_, dtmp_, dln_, dhidden_, dgate_up_, datt_, dqkv_, dlnf_, dxa_, xa_scaled_, dscratch_;
};

}  // namespace rlcd
