#include "transformer.h"

#include <algorithm>
#include <cstring>

#include "../common/check.h"
#include "../kernels/attention.h"
#include "../kernels/embedding.h"
#include "../kernels/rmsnorm.h"
#include "../kernels/rope.h"
#include "../kernels/swiglu.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlcd {

void Activations::ensure(const ModelConfig& c, int n, int nl, int t_max, int threads) {
  if (n > rows) {
    const size_t N = n;
    x.resize(N * c.dim);
    xb.resize(N * c.dim);
    qkv.resize(N * (c.q_dim() + 2 * c.kv_dim()));
    att.resize(N * c.q_dim());
    gate_up.resize(N * 2 * c.hidden_dim);
    hidden.resize(N * c.hidden_dim);
    rows = n;
  }
  if (nl > logit_rows) {
    logits_in.resize((size_t)nl * c.dim);
    logits.resize((size_t)nl * c.vocab_size);
    logit_rows = nl;
  }
#ifdef _OPENMP
  threads = std::max(threads, omp_get_max_threads());
#endif
  size_t need = (size_t)std::max(threads, 1) * t_max;
  if (scratch.size() < need) scratch.resize(need);
}

namespace {

bool is_linear(int i) {
  return i == kWq || i == kWk || i == kWv || i == kWo || i == kWGate || i == kWUp || i == kWDown || i == kLmHead;
}

size_t element_bytes(WeightType t) { return t == WeightType::F32 ? 4 : 2; }

}  // namespace

Transformer::Transformer(const ModelConfig& cfg, SourceWeights weights, size_t count, WeightType weight_type)
    : cfg_(cfg), weight_type_(weight_type) {
  cfg_.validate();
  RLCD_REQUIRE(weights.type == WeightType::F32 || weights.type == WeightType::BF16 || weights.type == WeightType::F16,
               "weights: a checkpoint is f32, bf16 or f16, not ", weight_type_name(weights.type));
  ParameterTensors source;  // where each tensor sits in `weights`
  source.layout(cfg_);
  RLCD_REQUIRE(count == source.total, "weights: expected ", source.total, " values for this config, got ", count);
  // forward() reads the embedding, the norms and the biases as f32 from params_ and every matrix
  // from the packed copies. With f32 weights params_ keeps the matrices too (training, scoring
  // and the tests read them); otherwise it keeps only the former, widened from the source, and
  // the matrices are packed straight from the checkpoint's bytes: a bf16 checkpoint in bf16 is
  // never widened, so loading needs no f32 copy of the model.
  const bool keep_all = weight_type_ == WeightType::F32;
  params_.num_layers = source.num_layers;
  for (int i = 0; i < kNumParams; i++) {
    params_.sizes[i] = keep_all || !is_linear(i) ? source.sizes[i] : 0;
    params_.offsets[i] = params_.total;
    params_.total += params_.sizes[i];
  }
  params_.memory.resize(params_.total);
  for (int i = 0; i < kNumParams; i++) {
    float* dst = params_.get(i);
    const size_t off = source.offsets[i];
    if (weights.type == WeightType::F32) std::memcpy(dst, static_cast<const float*>(weights.data) + off, sizeof(float) * params_.sizes[i]);
    else for (size_t j = 0; j < params_.sizes[i]; j++) dst[j] = weights.at(off + j);
  }
  rope_.init(cfg_.max_seq_len, cfg_.head_dim, cfg_.rope_theta);
  pack(weights, source);
}

size_t Transformer::weight_bytes() const {
  size_t bytes = params_.total * sizeof(float) + packed_lm_head_.bytes();
  for (const PackedLayer& p : packed_) bytes += p.wqkv.bytes() + p.wo.bytes() + p.w_gate_up.bytes() + p.w_down.bytes() + p.bqkv.size() * sizeof(float);
  return bytes;
}

void Transformer::pack(SourceWeights weights, const ParameterTensors& source) {
  const ModelConfig& c = cfg_;
  packed_.resize(c.n_layers);
  const size_t C = c.dim, QD = c.q_dim(), KVD = c.kv_dim(), H = c.hidden_dim;
  const size_t esize = element_bytes(weights.type);
  auto tensor = [&](int index, int l) {  // layer l's slice of a stacked tensor, in source bytes
    const size_t per = source.sizes[index] / (size_t)source.num_layers;
    return static_cast<const char*>(weights.data) + (source.offsets[index] + per * (size_t)l) * esize;
  };
  // q, k, v (and gate, up) are stacked rows of one matrix: concatenated in the source type.
  std::vector<char> stacked;
  auto concat = [&](std::initializer_list<std::pair<const char*, size_t>> parts) {
    stacked.clear();
    for (auto [ptr, n] : parts) stacked.insert(stacked.end(), ptr, ptr + n * esize);
    return SourceWeights{stacked.data(), weights.type};
  };
  for (int l = 0; l < c.n_layers; l++) {
    PackedLayer& p = packed_[l];
    pack_weight(p.wqkv, concat({{tensor(kWq, l), QD * C}, {tensor(kWk, l), KVD * C}, {tensor(kWv, l), KVD * C}}),
                (int)(QD + 2 * KVD), (int)C, weight_type_);
    if (c.qkv_bias) {
      const float* parts[3] = {params_.layer(kBq, l), params_.layer(kBk, l), params_.layer(kBv, l)};
      const size_t sizes[3] = {QD, KVD, KVD};
      p.bqkv.clear();
      for (int i = 0; i < 3; i++) p.bqkv.insert(p.bqkv.end(), parts[i], parts[i] + sizes[i]);
    }
    pack_weight(p.wo, SourceWeights{tensor(kWo, l), weights.type}, (int)C, (int)QD, weight_type_);
    pack_weight(p.w_gate_up, concat({{tensor(kWGate, l), H * C}, {tensor(kWUp, l), H * C}}), (int)(2 * H), (int)C, weight_type_);
    pack_weight(p.w_down, SourceWeights{tensor(kWDown, l), weights.type}, (int)C, (int)H, weight_type_);
  }
  const int head = source.sizes[kLmHead] ? kLmHead : kTokEmb;
  pack_weight(packed_lm_head_, SourceWeights{static_cast<const char*>(weights.data) + source.offsets[head] * esize, weights.type},
              c.vocab_size, c.dim, weight_type_);
}

void Transformer::forward(const TokenBatch& batch, KVCache& cache, Activations& a,
                          int threads) const {
  const ModelConfig& c = cfg_;
  const int N = batch.size();
  const int C = c.dim, H = c.hidden_dim, QD = c.q_dim(), KVD = c.kv_dim(), HS = c.head_dim;
  const long QKV = QD + 2 * KVD;  // row stride of the fused q|k|v output
  const int NL = (int)batch.logit_rows.size();
  a.ensure(c, N, NL, cache.t_max, threads);
  const ParameterTensors& p = params_;
  const int* pos = batch.pos.data();
  const int* slot = batch.slots.data();

  // One parallel region for the whole step; the kernels share out their loops (see dims.h).
#pragma omp parallel num_threads(threads)
  {
    embedding_forward(a.x.data(), batch.tokens.data(), p.get(kTokEmb), N, C);
    for (int l = 0; l < c.n_layers; l++) {
      // attention block: x += Wo attn(rope(Wq xb), rope(Wk xb), Wv xb), xb = rmsnorm(x)
      const PackedLayer& pl = packed_[l];
      rmsnorm_forward(a.xb.data(), a.x.data(), p.layer(kAttnNorm, l), N, C, c.rms_eps);
      matmul_packed_forward(a.qkv.data(), a.xb.data(), pl.wqkv, c.qkv_bias ? pl.bqkv.data() : nullptr, N);
      float* q = a.qkv.data();
      float* k = q + QD;
      const float* v = k + KVD;
      // RoPE on the row's q and k, then its k and v into the cache: one pass, one barrier.
      LayerCache lc = cache.layer(l);
#pragma omp for schedule(static)
      for (int n = 0; n < N; n++) {
        rope_forward_row(q + n * QKV, pos[n], c.n_heads, HS, c.rope_style, rope_);
        rope_forward_row(k + n * QKV, pos[n], c.n_kv_heads, HS, c.rope_style, rope_);
        size_t off = ((size_t)slot[n] * cache.t_max + pos[n]) * KVD;
        std::memcpy(lc.k + off, k + n * QKV, sizeof(float) * KVD);
        std::memcpy(lc.v + off, v + n * QKV, sizeof(float) * KVD);
      }
      attention_forward(a.att.data(), q, QKV, slot, pos, lc, N, c.n_heads, c.n_kv_heads, HS,
                        a.scratch.data());
      matmul_packed_forward(a.x.data(), a.att.data(), pl.wo, nullptr, N, true);

      // MLP block: x += Wdown (silu(Wgate xb) * Wup xb), xb = rmsnorm(x)
      rmsnorm_forward(a.xb.data(), a.x.data(), p.layer(kMlpNorm, l), N, C, c.rms_eps);
      matmul_packed_forward(a.gate_up.data(), a.xb.data(), pl.w_gate_up, nullptr, N);
      swiglu_forward(a.hidden.data(), a.gate_up.data(), N, H);
      matmul_packed_forward(a.x.data(), a.hidden.data(), pl.w_down, nullptr, N, true);
    }
    if (NL > 0) {
      // Only the rows whose logits are wanted pay for the final norm and the LM head.
#pragma omp for schedule(static)
      for (int i = 0; i < NL; i++)
        rmsnorm_row(a.logits_in.data() + (size_t)i * C, a.x.data() + (size_t)batch.logit_rows[i] * C,
                    p.get(kFinalNorm), C, c.rms_eps);
      matmul_packed_forward(a.logits.data(), a.logits_in.data(), packed_lm_head_, nullptr, NL);
    }
  }
}

}  // namespace rlcd
