// A transformer that trains: the forward pass over right-padded sequences keeps its activations,
// the backward pass accumulates gradients for the trainable parameters (all weights, or LoRA
// adapters over frozen weights), plus an optional scalar head on the final hidden states.
//
// Under LoRA the frozen base may be stored bf16, f16 or q8_0 (QLoRA's memory saving): its linear
// weights are then the backend's packed matrices, as in inference. The forward multiplies with them
// directly (q8_0 with its int16-quantised activations, matmul_q8.h); the backward widens one matrix
// at a time into a scratch and sends the gradient through those values. The embedding, norms,
// biases and LM head stay f32.
#pragma once

#include <array>
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
  // weights: f32, or the bits of a bf16 / f16 checkpoint (widened where f32 is kept; a base packed
  // in its own type keeps them, so a bf16 checkpoint under a bf16 base is never widened whole).
  // base_type: how the frozen linear weights are stored; anything but F32 needs LoRA (rank > 0).
  TrainableModel(const ModelConfig& cfg, SourceWeights weights, size_t count, const LoraConfig& lora,
                 HeadKind head, const float* head_init, uint64_t seed, int threads,
                 WeightType base_type = WeightType::F32);
  TrainableModel(const ModelConfig& cfg, const float* weights, size_t count, const LoraConfig& lora,
                 HeadKind head, const float* head_init, uint64_t seed, int threads,
                 WeightType base_type = WeightType::F32)
      : TrainableModel(cfg, SourceWeights{weights, WeightType::F32}, count, lora, head, head_init, seed, threads, base_type) {}

  const ModelConfig& config() const { return cfg_; }
  Backend& backend() const { return *backend_; }
  WeightType base_type() const { return base_type_; }
  // The model's parameter count (the ParameterTensors layout), however the base is stored.
  size_t parameter_count() const { return layout_.total; }
  // Bytes the base model's weights take here: f32 tensors plus packed matrices.
  size_t base_bytes() const;
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

  // The f32 tensors held: every weight, or with a packed base all but its linear matrices.
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

  // Base weights with the adapters merged in (W + scale B A), in the ParameterTensors layout
  // (parameter_count() floats; a packed base as the matmul sees it).
  void merged_weights(float* out) const;
  // The base alone, the same way.
  void base_weights(float* out) const;

  // An inference engine (KV-cache decoding) over the current weights: merged with the adapters, or
  // the frozen base with `adapters` = false (PPO's reference under LoRA), in the base's type. Packs
  // the weights block by block: O(parameters) time, small next to a rollout (measured in
  // bench/ppo.bench.ts), and one block of f32 memory beyond the copy.
  std::unique_ptr<Transformer> snapshot(bool adapters) const;

 private:
  struct LayerActs {
    AlignedBuffer in, ln1, rstd1, qkv, attn_state, att, mid, ln2, rstd2, gate_up, hidden;
    std::vector<AlignedBuffer> lora_xa;  // (kNumLoraTargets) x A^T per adapted projection: (N, r)
  };
  void ensure(int B, int T, bool want_logits);
  // The linear layers of a layer, in four blocks that each read one input: q|k|v from the first
  // norm, o from attention, gate|up from the second norm, down from the MLP. A part is one
  // projection of a block: its weight, bias, adapter target, and where its outputs start among the
  // block's (the rows of the block's stacked matrix in a packed base, as Transformer stacks them).
  enum Block { kBlockQkv, kBlockAttnOut, kBlockGateUp, kBlockDown, kNumBlocks };
  struct Part { int weight, bias, target, offset, out; };
  struct BlockShape { int in = 0, rows = 0; std::vector<Part> parts; };
  // y[:, part.offset ...] (ldy) (+)= x W_part^T + bias [+ adapter] for every part of layer l's block.
  void block_forward(int block, int l, float* y, long ldy, const float* x, bool adapters, bool accumulate);
  // dx (N, in) = sum over the parts of dy_part W_part [+ adapter paths]; dW, dbias, dA, dB accumulate.
  void block_backward(int block, int l, float* dx, const float* dy, long lddy, const float* x);
  // y (N, out) += scale (x A^T) B^T for layer l's adapter on `target`, when it has one; saves x A^T.
  void adapter_forward(float* y, long ldy, const float* x, long ldx, int l, int target, int in, int out);
  // dx (N, in) (+)= dy W [+ adapter path]; dW, dbias, dA, dB accumulate when trainable.
  void linear_back(float* dx, long lddx, const float* dy, long lddy, const float* x, long ldx, const float* W,
                   float* dW, float* dbias, int l, int target, int in, int out, bool accumulate_dx);
  void pack_base(SourceWeights weights);
  size_t largest_block() const;  // floats of the largest block's matrix
  // out (rows, in) = layer l's block k as the forward multiplies by it: its parts' rows stacked,
  // widened from a packed base or copied from an f32 one.
  void block_values(int l, int k, float* out) const;
  // W (out, in) += scale B A: layer l's adapter on `target`, when it has one.
  void add_adapter(float* W, int l, int target) const;
  float* grad_of(int index, int l);  // layer l's slice of a base gradient; null when the base is frozen

  ModelConfig cfg_;
  Backend* backend_ = &cpu_backend();
  WeightType base_type_ = WeightType::F32;
  ParameterTensors layout_;  // the whole model's layout (no memory): the wire format of weights
  ParameterTensors params_;  // the f32 tensors held (layout_ less the packed matrices)
  std::array<BlockShape, kNumBlocks> blocks_;  // the four blocks' shapes and parts
  // A packed base: each layer's blocks as one matrix (parts stacked as rows, the way Transformer
  // stacks them), and the scratch the backward widens one of them into.
  std::vector<std::array<std::unique_ptr<Matrix>, kNumBlocks>> packed_;  // (L), empty for an f32 base
  AlignedBuffer unpacked_;
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
