#include "trainable.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../common/check.h"
#include "sampler.h"

namespace rlcd {

namespace {

// Which ParameterTensors entry and bias a LoRA target adapts.
int weight_of(int target) {
  static const int w[kNumLoraTargets] = {kWq, kWk, kWv, kWo, kWGate, kWUp, kWDown};
  return w[target];
}

// The matrices of a layer's four blocks: what a packed base holds instead of f32 (not the LM head).
bool is_block_matrix(int index) {
  return index == kWq || index == kWk || index == kWv || index == kWo || index == kWGate || index == kWUp || index == kWDown;
}
bool no_tensor(int) { return false; }

}  // namespace

TrainableModel::TrainableModel(const ModelConfig& cfg, SourceWeights weights, size_t count, const LoraConfig& lora,
                               HeadKind head, const float* head_init, uint64_t seed, int threads, WeightType base_type)
    : cfg_(cfg), base_type_(base_type), head_kind_(head), threads_(std::max(1, threads)) {
  cfg_.validate();
  layout_.layout(cfg_);
  RLCD_REQUIRE(count == layout_.total, "weights: expected ", layout_.total, " floats for this config, got ", count);
  RLCD_REQUIRE(weights.type == WeightType::F32 || weights.type == WeightType::BF16 || weights.type == WeightType::F16,
               "weights: a checkpoint is f32, bf16 or f16, not ", weight_type_name(weights.type));
  RLCD_REQUIRE(base_type == WeightType::F32 || lora.rank > 0, "a base stored as ", weight_type_name(base_type),
               " is frozen: train it through LoRA adapters (rank > 0), or keep it f32");
  const int C = cfg_.dim, QD = cfg_.q_dim(), KVD = cfg_.kv_dim(), H = cfg_.hidden_dim;
  blocks_[kBlockQkv] = {C, QD + 2 * KVD, {{kWq, kBq, kLoraQ, 0, QD}, {kWk, kBk, kLoraK, QD, KVD}, {kWv, kBv, kLoraV, QD + KVD, KVD}}};
  blocks_[kBlockAttnOut] = {QD, C, {{kWo, -1, kLoraO, 0, C}}};
  blocks_[kBlockGateUp] = {C, 2 * H, {{kWGate, -1, kLoraGate, 0, H}, {kWUp, -1, kLoraUp, H, H}}};
  blocks_[kBlockDown] = {H, C, {{kWDown, -1, kLoraDown, 0, C}}};
  // The f32 tensors: all of them, or all but the matrices a packed base holds.
  const bool packed = base_type != WeightType::F32;
  params_.layout_subset(layout_, packed ? is_block_matrix : no_tensor);
  params_.memory.resize(params_.total);
  for (int i = 0; i < kNumParams; i++) weights.widen(layout_.offsets[i], params_.sizes[i], params_.get(i));
  if (packed) pack_base(weights);
  rope_.init(cfg_.max_seq_len, cfg_.head_dim, cfg_.rope_theta);

  lora_.layout(cfg_, lora);
  if (lora.rank > 0) {
    RLCD_REQUIRE(lora.targets != 0, "LoRA: choose at least one target module");
    lora_params_.resize(lora_.total);
    lora_grads_.resize(lora_.total);
    // A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's kaiming-uniform with a = sqrt(5)), B = 0.
    Rng rng(seed);
    for (int l = 0; l < cfg_.n_layers; l++)
      for (int t = 0; t < kNumLoraTargets; t++) {
        const auto& s = lora_.slots[l][t];
        if (!s.on) continue;
        const float bound = 1.0f / std::sqrt((float)s.in);
        float* a = lora_params_.data() + s.a;
        for (size_t i = 0; i < (size_t)lora.rank * s.in; i++) a[i] = (2.0f * rng.uniform() - 1.0f) * bound;
      }
    spans_.push_back({lora_params_.data(), lora_grads_.data(), lora_.total});
  } else {
    grads_.resize(params_.total);  // an f32 base: params_ is the whole layout_
    spans_.push_back({params_.memory.data(), grads_.data(), params_.total});
  }
  if (head_kind_ != HeadKind::None) {
    head_params_.resize(C + 1);
    head_grads_.resize(C + 1);
    if (head_init) {
      std::memcpy(head_params_.data(), head_init, sizeof(float) * (C + 1));
    } else {
      // N(0, 1/(C+1)) like transformers' reward heads; Box-Muller on our own RNG for determinism.
      Rng rng(seed ^ 0x5EEDull);
      const float sd = 1.0f / std::sqrt((float)(C + 1));
      for (int c = 0; c < C; c++) {
        float u1 = std::max(rng.uniform(), 1e-7f), u2 = rng.uniform();
        head_params_.data()[c] = sd * std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853f * u2);
      }
      head_params_.data()[C] = 0.0f;
    }
    spans_.push_back({head_params_.data(), head_grads_.data(), (size_t)C + 1});
  }
  size_t total = trainable_count();
  m_.resize(total);
  v_.resize(total);
}

size_t TrainableModel::trainable_count() const {
  size_t n = 0;
  for (const auto& s : spans_) n += s.n;
  return n;
}

void TrainableModel::pack_base(SourceWeights weights) {
  const int L = cfg_.n_layers;
  // A block's parts stacked as rows, in the checkpoint's own type (its bytes, not widened).
  const size_t esize = weights.type == WeightType::F32 ? sizeof(float) : sizeof(uint16_t);
  std::vector<char> stacked;
  packed_.resize(L);
  for (int l = 0; l < L; l++)
    for (int k = 0; k < kNumBlocks; k++) {
      const BlockShape& bs = blocks_[k];
      stacked.clear();
      for (const Part& part : bs.parts) {
        const char* w = static_cast<const char*>(weights.data) +
                        (layout_.offsets[part.weight] + layout_.sizes[part.weight] / L * l) * esize;
        stacked.insert(stacked.end(), w, w + (size_t)part.out * bs.in * esize);
      }
      packed_[l][k] = backend_->pack(SourceWeights{stacked.data(), weights.type}, bs.rows, bs.in, base_type_);
    }
  unpacked_.resize(largest_block());
}

size_t TrainableModel::largest_block() const {
  size_t largest = 0;
  for (const BlockShape& bs : blocks_) largest = std::max(largest, (size_t)bs.rows * bs.in);
  return largest;
}

void TrainableModel::block_values(int l, int k, float* out) const {
  const BlockShape& bs = blocks_[k];
  if (!packed_.empty()) {
    backend_->run(threads_, [&] { backend_->unpack(out, *packed_[l][k]); });
    return;
  }
  for (const Part& part : bs.parts)
    std::memcpy(out + (size_t)part.offset * bs.in, params_.layer(part.weight, l), sizeof(float) * part.out * bs.in);
}

size_t TrainableModel::base_bytes() const {
  size_t bytes = params_.total * sizeof(float);
  for (const auto& layer : packed_)
    for (const auto& m : layer) bytes += m->bytes();
  return bytes;
}

float* TrainableModel::grad_of(int index, int l) {
  if (grads_.size() == 0) return nullptr;
  return grads_.data() + layout_.offsets[index] + layout_.sizes[index] / (size_t)cfg_.n_layers * (size_t)l;
}

void TrainableModel::ensure(int B_in, int T_in, bool want_logits) {
  (void)want_logits;
  const ModelConfig& c = cfg_;
  // Buffers fit the largest B and T seen so far: batches of varying T (PPO's rollouts, each
  // minibatch its own longest row) reuse them instead of reallocating every call.
  const bool grow = B_in > cap_B_ || T_in > cap_T_ || layers_.empty();
  const int B = std::max(B_in, cap_B_), T = std::max(T_in, cap_T_);
  const size_t N = (size_t)B * T;
  const size_t C = c.dim, QD = c.q_dim(), KVD = c.kv_dim(), H = c.hidden_dim, QKV = QD + 2 * KVD;
  if (grow) {
    layers_.clear();
    layers_.resize(c.n_layers);
    for (auto& la : layers_) {
      la.in.resize(N * C);
      la.ln1.resize(N * C);
      la.rstd1.resize(N);
      la.qkv.resize(N * QKV);
      la.attn_state.resize((size_t)backend_->causal_attention_state_floats(B, T, c.n_heads));
      la.att.resize(N * QD);
      la.mid.resize(N * C);
      la.ln2.resize(N * C);
      la.rstd2.resize(N);
      la.gate_up.resize(N * 2 * H);
      la.hidden.resize(N * H);
      la.lora_xa.resize(kNumLoraTargets);
      for (int t = 0; t < kNumLoraTargets; t++)
        if (lora_.cfg.enabled(t)) la.lora_xa[t].resize(N * lora_.cfg.rank);
    }
    resid_out_.resize(N * C);
    lnf_.resize(N * C);
    rstdf_.resize(N);
    head_out_.resize(N);
    dres_.resize(N * C);
    dmid_.resize(N * C);
    dtmp_.resize(N * C);
    dln_.resize(N * C);
    dlnf_.resize(N * C);
    dhidden_.resize(N * H);
    dgate_up_.resize(N * 2 * H);
    datt_.resize(N * QD);
    dqkv_.resize(N * QKV);
    dxa_.resize(N * std::max(1, lora_.cfg.rank));
    xa_scaled_.resize(N * std::max(1, lora_.cfg.rank));
    dscratch_.resize(std::max(C, QD) + 1);
    cap_T_ = T;
    cap_B_ = B;
  }
}

void TrainableModel::block_forward(int block, int l, float* y, long ldy, const float* x, bool adapters, bool accumulate) {
  Backend& b = *backend_;
  const BlockShape& bs = blocks_[block];
  const int N = B_ * T_;
  const Matrix* packed = packed_.empty() ? nullptr : packed_[l][block].get();
  // A packed block is one matmul whose output rows are the parts side by side, as y holds them.
  if (packed) {
    RLCD_CHECK(ldy == bs.rows, "block_forward: y must hold exactly the block's outputs");
    b.matmul(y, x, *packed, nullptr, N, accumulate);
  }
  for (const Part& part : bs.parts) {
    float* yp = y + part.offset;
    if (!packed) linear_forward(b, yp, ldy, x, bs.in, params_.layer(part.weight, l), N, bs.in, part.out, accumulate);
    if (part.bias >= 0 && params_.sizes[part.bias]) b.add_bias(yp, ldy, params_.layer(part.bias, l), N, part.out);
    if (adapters) adapter_forward(yp, ldy, x, bs.in, l, part.target, bs.in, part.out);
  }
}

void TrainableModel::adapter_forward(float* y, long ldy, const float* x, long ldx, int l, int target, int in, int out) {
  if (!lora_.slots[l][target].on) return;
  Backend& b = *backend_;
  const int N = B_ * T_;
  const auto& s = lora_.slots[l][target];
  const int r = lora_.cfg.rank;
  float* xa = layers_[l].lora_xa[target].data();
  linear_forward(b, xa, r, x, ldx, lora_params_.data() + s.a, N, in, r, false);  // (N, r) = x A^T
  // y += scale * xa B^T: scale folded into a copy of B would cost memory; scale xa into dxa_ scratch.
  float* xs = dxa_.data();
  b.scale(xs, xa, lora_.cfg.scale(), (long)N * r);
  linear_forward(b, y, ldy, xs, r, lora_params_.data() + s.b, N, r, out, true);
}

void TrainableModel::forward(const TrainBatch& batch, bool want_logits, bool adapters) {
  const ModelConfig& c = cfg_;
  RLCD_REQUIRE(batch.B > 0 && batch.T > 0, "batch is empty");
  RLCD_REQUIRE(batch.T <= c.max_seq_len, "sequences of ", batch.T, " tokens exceed the context of ", c.max_seq_len);
  RLCD_REQUIRE((int)batch.tokens.size() == batch.rows() && (int)batch.lengths.size() == batch.B,
               "batch: tokens must have B*T entries and lengths B");
  for (int t : batch.tokens)
    RLCD_REQUIRE(t >= 0 && t < c.vocab_size, "token id ", t, " outside the vocabulary [0, ", c.vocab_size, ")");
  for (int len : batch.lengths) RLCD_REQUIRE(len >= 1 && len <= batch.T, "length ", len, " outside [1, T]");
  for (size_t i = 0; i < batch.logit_rows.size(); i++)
    RLCD_REQUIRE(batch.logit_rows[i] >= 0 && batch.logit_rows[i] < batch.rows() && (i == 0 || batch.logit_rows[i] > batch.logit_rows[i - 1]),
                 "logit rows must be ascending positions in [0, B*T)");
  ensure(batch.B, batch.T, want_logits);
  logit_rows_ = batch.logit_rows;
  const size_t R = batch.logit_count();
  if (want_logits && logits_.size() < R * c.vocab_size) logits_.resize(R * c.vocab_size);
  if (!logit_rows_.empty() && lnf_rows_.size() < R * c.dim) {
    lnf_rows_.resize(R * c.dim);
    dlnf_rows_.resize(R * c.dim);
  }
  B_ = batch.B;
  T_ = batch.T;
  have_logits_ = want_logits;
  used_adapters_ = adapters;
  tokens_ = batch.tokens;
  lengths_ = batch.lengths;
  const int N = batch.rows();
  pos_.resize(N);
  for (int n = 0; n < N; n++) pos_[n] = n % T_;
  const int C = c.dim, H = c.hidden_dim, QD = c.q_dim(), KVD = c.kv_dim(), HS = c.head_dim;
  const long QKV = QD + 2 * KVD;
  const ParameterTensors& p = params_;

  Backend& b = *backend_;
  const int* tokens = tokens_.data();  // host memory: the CPU backend's own (see backend.h)
  const int* pos = pos_.data();
  b.run(threads_, [&] {
    b.embedding_forward(layers_[0].in.data(), tokens, p.get(kTokEmb), N, C);
    for (int l = 0; l < c.n_layers; l++) {
      LayerActs& a = layers_[l];
      b.rmsnorm_forward(a.ln1.data(), a.in.data(), p.layer(kAttnNorm, l), N, C, c.rms_eps, a.rstd1.data());
      float* q = a.qkv.data();
      block_forward(kBlockQkv, l, q, QKV, a.ln1.data(), adapters, false);
      b.rope_forward(q, QKV, pos, N, c.n_heads, HS, c.rope_style, rope_);
      b.rope_forward(q + QD, QKV, pos, N, c.n_kv_heads, HS, c.rope_style, rope_);
      b.causal_attention_forward(a.att.data(), a.attn_state.data(), q, QKV, B_, T_, c.n_heads, c.n_kv_heads, HS);
      b.copy(a.mid.data(), a.in.data(), (long)N * C);
      block_forward(kBlockAttnOut, l, a.mid.data(), C, a.att.data(), adapters, true);
      b.rmsnorm_forward(a.ln2.data(), a.mid.data(), p.layer(kMlpNorm, l), N, C, c.rms_eps, a.rstd2.data());
      block_forward(kBlockGateUp, l, a.gate_up.data(), 2 * H, a.ln2.data(), adapters, false);
      b.swiglu_forward(a.hidden.data(), a.gate_up.data(), N, H);
      float* next = l + 1 < c.n_layers ? layers_[l + 1].in.data() : resid_out_.data();
      b.copy(next, a.mid.data(), (long)N * C);
      block_forward(kBlockDown, l, next, C, a.hidden.data(), adapters, true);
    }
    b.rmsnorm_forward(lnf_.data(), resid_out_.data(), p.get(kFinalNorm), N, C, c.rms_eps, rstdf_.data());
    if (want_logits && logit_rows_.empty()) {
      linear_forward(b, logits_.data(), c.vocab_size, lnf_.data(), C, p.lm_head(), N, C, c.vocab_size, false);
    } else if (want_logits) {
      const int R = (int)logit_rows_.size();
      b.gather_rows(lnf_rows_.data(), lnf_.data(), logit_rows_.data(), R, C);
      linear_forward(b, logits_.data(), c.vocab_size, lnf_rows_.data(), C, p.lm_head(), R, C, c.vocab_size, false);
    }
    if (head_kind_ != HeadKind::None) b.head_forward(head_out_.data(), lnf_.data(), head_params_.data(), N, C);
  });
}

void TrainableModel::block_backward(int block, int l, float* dx, const float* dy, long lddy, const float* x) {
  const BlockShape& bs = blocks_[block];
  const Matrix* packed = packed_.empty() ? nullptr : packed_[l][block].get();
  // A packed (frozen) block's gradient flows through its weights widened to f32, one matrix at a time.
  if (packed) backend_->unpack(unpacked_.data(), *packed);
  bool first = true;
  for (const Part& part : bs.parts) {
    const float* W = packed ? unpacked_.data() + (size_t)part.offset * bs.in : params_.layer(part.weight, l);
    float* dbias = part.bias >= 0 && layout_.sizes[part.bias] ? grad_of(part.bias, l) : nullptr;
    linear_back(dx, bs.in, dy + part.offset, lddy, x, bs.in, W, grad_of(part.weight, l), dbias, l, part.target, bs.in,
                part.out, !first);
    first = false;
  }
}

void TrainableModel::linear_back(float* dx, long lddx, const float* dy, long lddy, const float* x, long ldx,
                                 const float* W, float* dW, float* dbias, int l, int target, int in, int out,
                                 bool accumulate_dx) {
  Backend& b = *backend_;
  const int N = B_ * T_;
  linear_backward_input(b, dx, lddx, dy, lddy, W, N, in, out, accumulate_dx);
  if (dW) linear_backward_weight(b, dW, dy, lddy, x, ldx, N, in, out);
  if (dbias) b.column_sums(dbias, dy, lddy, N, out);
  if (target >= 0 && used_adapters_ && lora_.slots[l][target].on) {
    const auto& s = lora_.slots[l][target];
    const int r = lora_.cfg.rank;
    const float sc = lora_.cfg.scale();
    const float* xa = layers_[l].lora_xa[target].data();
    float* dxa = dxa_.data();
    float* dA = lora_grads_.data() + s.a;
    float* dB = lora_grads_.data() + s.b;
    const float* A = lora_params_.data() + s.a;
    const float* Bm = lora_params_.data() + s.b;
    // y = sc * xa B^T:  dB += sc dy^T xa;  dxa = sc dy B
    linear_backward_input(b, dxa, r, dy, lddy, Bm, N, r, out, false);
    b.scale(dxa, dxa, sc, (long)N * r);
    // dB (out, r) += sc * dy^T xa, through a scaled copy of xa ((N, r): not dtmp_, which holds
    // (N, C) and is too small when r > C).
    float* xs = xa_scaled_.data();
    b.scale(xs, xa, sc, (long)N * r);
    linear_backward_weight(b, dB, dy, lddy, xs, r, N, r, out);
    // xa = x A^T:  dA += dxa^T x;  dx += dxa A
    linear_backward_weight(b, dA, dxa, r, x, ldx, N, in, r);
    linear_backward_input(b, dx, lddx, dxa, r, A, N, in, r, true);
  }
}

void TrainableModel::backward(const float* dlogits, const float* dhead) {
  const ModelConfig& c = cfg_;
  RLCD_REQUIRE(B_ > 0, "backward() needs a forward() first");
  RLCD_REQUIRE(!dlogits || have_logits_, "backward(dlogits) needs a forward() with logits");
  const int N = B_ * T_;
  const int C = c.dim, H = c.hidden_dim, QD = c.q_dim(), KVD = c.kv_dim(), HS = c.head_dim;
  const long QKV = QD + 2 * KVD;
  const ParameterTensors& p = params_;
  const bool base_grads = grads_.size() > 0;  // with LoRA the base is frozen
  auto G = [&](int idx, int l) { return grad_of(idx, l); };
  auto G0 = [&](int idx) -> float* { return base_grads ? grads_.data() + layout_.offsets[idx] : nullptr; };
  // Frozen norms still need somewhere to put their weight gradient.
  float* sink = dscratch_.data();

  Backend& b = *backend_;
  const int* tokens = tokens_.data();
  const int* pos = pos_.data();
  b.run(threads_, [&] {
    // Head and LM head into d(lnf)
    b.zero(dlnf_.data(), (long)N * C);
    if (dlogits && logit_rows_.empty()) {
      linear_backward_input(b, dlnf_.data(), C, dlogits, c.vocab_size, p.lm_head(), N, C, c.vocab_size, true);
      float* dlm = base_grads ? (c.tied_embeddings ? G0(kTokEmb) : G0(kLmHead)) : nullptr;
      if (dlm) linear_backward_weight(b, dlm, dlogits, c.vocab_size, lnf_.data(), C, N, C, c.vocab_size);
    } else if (dlogits) {
      // Only the selected rows have logits: their d(lnf) is scattered back to its positions.
      const int R = (int)logit_rows_.size();
      linear_backward_input(b, dlnf_rows_.data(), C, dlogits, c.vocab_size, p.lm_head(), R, C, c.vocab_size, false);
      b.scatter_add_rows(dlnf_.data(), dlnf_rows_.data(), logit_rows_.data(), R, C);
      float* dlm = base_grads ? (c.tied_embeddings ? G0(kTokEmb) : G0(kLmHead)) : nullptr;
      if (dlm) linear_backward_weight(b, dlm, dlogits, c.vocab_size, lnf_rows_.data(), C, R, C, c.vocab_size);
    }
    if (dhead && head_kind_ != HeadKind::None)
      b.head_backward(dlnf_.data(), head_grads_.data(), dhead, lnf_.data(), head_params_.data(), N, C);
    b.rmsnorm_backward(dres_.data(), base_grads ? G0(kFinalNorm) : sink, dlnf_.data(), resid_out_.data(),
                       p.get(kFinalNorm), rstdf_.data(), N, C);

    for (int l = c.n_layers - 1; l >= 0; l--) {
      LayerActs& a = layers_[l];
      // MLP block: out = mid + hidden Wdown^T
      block_backward(kBlockDown, l, dhidden_.data(), dres_.data(), C, a.hidden.data());
      b.swiglu_backward(dgate_up_.data(), dhidden_.data(), a.gate_up.data(), N, H);
      block_backward(kBlockGateUp, l, dln_.data(), dgate_up_.data(), 2 * H, a.ln2.data());
      b.rmsnorm_backward(dtmp_.data(), base_grads ? G(kMlpNorm, l) : sink, dln_.data(), a.mid.data(), p.layer(kMlpNorm, l),
                         a.rstd2.data(), N, C);
      // d mid = d out (residual) + through the norm
      b.add(dmid_.data(), dres_.data(), dtmp_.data(), (long)N * C);

      // attention block: mid = in + att Wo^T
      block_backward(kBlockAttnOut, l, datt_.data(), dmid_.data(), C, a.att.data());
      b.causal_attention_backward(dqkv_.data(), datt_.data(), a.attn_state.data(), a.qkv.data(), QKV, B_, T_, c.n_heads,
                                  c.n_kv_heads, HS);
      b.rope_backward(dqkv_.data(), QKV, pos, N, c.n_heads, HS, c.rope_style, rope_);
      b.rope_backward(dqkv_.data() + QD, QKV, pos, N, c.n_kv_heads, HS, c.rope_style, rope_);
      block_backward(kBlockQkv, l, dln_.data(), dqkv_.data(), QKV, a.ln1.data());
      b.rmsnorm_backward(dtmp_.data(), base_grads ? G(kAttnNorm, l) : sink, dln_.data(), a.in.data(), p.layer(kAttnNorm, l),
                         a.rstd1.data(), N, C);
      b.add(dres_.data(), dmid_.data(), dtmp_.data(), (long)N * C);
    }
    if (base_grads) b.embedding_backward(G0(kTokEmb), dres_.data(), tokens, N, C);
  });
}

double TrainableModel::grad_norm() const {
  double total = 0.0;
  for (const auto& s : spans_) total += backend_->sum_squares(s.grad, (long)s.n);
  return std::sqrt(total);
}

void TrainableModel::zero_grad() {
  for (const auto& s : spans_) std::memset(s.grad, 0, sizeof(float) * s.n);
}

double TrainableModel::step(const AdamWConfig& opt, double max_norm, double clip_norm) {
  const double norm = grad_norm();
  const double by = clip_norm >= 0.0 ? clip_norm : norm;
  RLCD_REQUIRE(std::isfinite(norm), "the gradient is not finite (norm ", norm, "): the loss diverged; lower the learning rate");
  const float scale = max_norm > 0.0 && by > max_norm ? (float)(max_norm / (by + 1e-6)) : 1.0f;
  step_++;
  size_t off = 0;
  for (const auto& s : spans_) {
    backend_->adamw(s.param, s.grad, m_.data() + off, v_.data() + off, (long)s.n, opt, step_, scale);
    off += s.n;
  }
  zero_grad();
  return norm;
}

void TrainableModel::base_weights(float* out) const {
  const int L = cfg_.n_layers;
  for (int i = 0; i < kNumParams; i++) std::memcpy(out + layout_.offsets[i], params_.get(i), sizeof(float) * params_.sizes[i]);
  if (!packed_.empty()) {
    // A packed base's matrices as the matmul sees them, part by part into their own tensors.
    AlignedBuffer widened(largest_block());
    for (int l = 0; l < L; l++)
      for (int k = 0; k < kNumBlocks; k++) {
        block_values(l, k, widened.data());
        for (const Part& part : blocks_[k].parts) {
          const size_t n = (size_t)part.out * blocks_[k].in;
          std::memcpy(out + layout_.offsets[part.weight] + layout_.sizes[part.weight] / L * l,
                      widened.data() + (size_t)part.offset * blocks_[k].in, sizeof(float) * n);
        }
      }
  }
}

void TrainableModel::add_adapter(float* W, int l, int target) const {
  const auto& s = lora_.slots[l][target];
  if (!s.on) return;
  const int r = lora_.cfg.rank;
  const float sc = lora_.cfg.scale();
  const float* A = lora_params_.data() + s.a;
  const float* Bm = lora_params_.data() + s.b;
  for (int o = 0; o < s.out; o++)
    for (int k = 0; k < r; k++) {
      const float b = sc * Bm[(size_t)o * r + k];
      if (b == 0.0f) continue;
      for (int i = 0; i < s.in; i++) W[(size_t)o * s.in + i] += b * A[(size_t)k * s.in + i];
    }
}

void TrainableModel::merged_weights(float* out) const {
  const int L = cfg_.n_layers;
  base_weights(out);
  if (lora_.cfg.rank == 0) return;
  for (int l = 0; l < L; l++)
    for (int t = 0; t < kNumLoraTargets; t++) {
      const int idx = weight_of(t);
      add_adapter(out + layout_.offsets[idx] + layout_.sizes[idx] / (size_t)L * (size_t)l, l, t);
    }
}

std::unique_ptr<Transformer> TrainableModel::snapshot(bool adapters) const {
  if (packed_.empty() && (!adapters || lora_.cfg.rank == 0))
    return std::make_unique<Transformer>(cfg_, params_.memory.data(), params_.total);
  // Block by block: each layer's block widened (a packed base as the matmul sees it) or copied
  // (an f32 base), the adapters added, and packed in the base's type. One block is ever widened at
  // once, so a narrow base is snapshotted without an f32 copy of the model; a q8_0 base widened and
  // quantised again gives back its own values (the same scales and integers).
  AlignedBuffer widened(largest_block());
  auto make_block = [&](int l, int k) {
    const BlockShape& bs = blocks_[k];
    block_values(l, k, widened.data());
    if (adapters)
      for (const Part& part : bs.parts) add_adapter(widened.data() + (size_t)part.offset * bs.in, l, part.target);
    return backend_->pack(SourceWeights{widened.data(), WeightType::F32}, bs.rows, bs.in, base_type_);
  };
  return std::make_unique<Transformer>(cfg_, params_, make_block, base_type_, *backend_);
}

}  // namespace rlcd
