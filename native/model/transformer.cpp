#include "transformer.h"

#include <algorithm>
#include <cstring>

#include "../common/check.h"

namespace rlcd {

void Activations::ensure(Backend& b, const ModelConfig& c, int n, int nl) {
  auto floats = [&b](size_t count) { return Buffer(&b, count * sizeof(float)); };
  if (n > rows) {
    const size_t N = n;
    x = floats(N * c.dim);
    xb = floats(N * c.dim);
    qkv = floats(N * (c.q_dim() + 2 * c.kv_dim()));
    att = floats(N * c.q_dim());
    gate_up = floats(N * 2 * c.hidden_dim);
    hidden = floats(N * c.hidden_dim);
    tokens = Buffer(&b, N * sizeof(int));
    pos = Buffer(&b, N * sizeof(int));
    slots = Buffer(&b, N * sizeof(int));
    wanted = Buffer(&b, N * sizeof(int));
    rows = n;
  }
  if (nl > logit_rows) {
    logits_in = floats((size_t)nl * c.dim);
    logits = floats((size_t)nl * c.vocab_size);
    logit_rows = nl;
  }
}

size_t Activations::bytes() const {
  size_t total = 0;
  for (const Buffer* b : {&x, &xb, &qkv, &att, &gate_up, &hidden, &logits_in, &logits, &tokens, &pos, &slots, &wanted}) total += b->bytes();
  return total;
}

namespace {

bool is_linear(int i) {
  return i == kWq || i == kWk || i == kWv || i == kWo || i == kWGate || i == kWUp || i == kWDown || i == kLmHead;
}

size_t element_bytes(WeightType t) { return t == WeightType::F32 ? 4 : 2; }

}  // namespace

Transformer::Transformer(const ModelConfig& cfg, SourceWeights weights, size_t count, WeightType weight_type,
                         Backend& backend)
    : cfg_(cfg), weight_type_(weight_type), backend_(&backend) {
  cfg_.validate();
  RLCD_REQUIRE(weights.type == WeightType::F32 || weights.type == WeightType::BF16 || weights.type == WeightType::F16,
               "weights: a checkpoint is f32, bf16 or f16, not ", weight_type_name(weights.type));
  ParameterTensors source;  // where each tensor sits in `weights`
  source.layout(cfg_);
  RLCD_REQUIRE(count == source.total, "weights: expected ", source.total, " values for this config, got ", count);
  // forward() reads the embedding, the norms and the biases as f32 and every matrix as the
  // backend's packed copy, so only those are kept, widened from the source; the matrices are packed
  // straight from the checkpoint's bytes: a bf16 checkpoint in bf16 is never widened, and loading
  // needs no f32 copy of the model.
  keep_tensors(weights, source);
  pack(weights, source);
}

Transformer::Transformer(const ModelConfig& cfg, const ParameterTensors& kept, const BlockMaker& make_block,
                         WeightType weight_type, Backend& backend)
    : cfg_(cfg), weight_type_(weight_type), backend_(&backend) {
  cfg_.validate();
  const SourceWeights weights{kept.memory.data(), WeightType::F32};
  keep_tensors(weights, kept);
  pack(weights, kept, &make_block);
}

void Transformer::keep_tensors(SourceWeights weights, const ParameterTensors& source) {
  params_.layout_subset(source, is_linear);
  std::vector<float> kept(params_.total);
  for (int i = 0; i < kNumParams; i++) weights.widen(source.offsets[i], params_.sizes[i], kept.data() + params_.offsets[i]);
  params_mem_ = Buffer(backend_, kept.size() * sizeof(float));
  backend_->upload(params_mem_.raw(), kept.data(), kept.size() * sizeof(float));
  rope_.init(cfg_.max_seq_len, cfg_.head_dim, cfg_.rope_theta);
}

size_t Transformer::weight_bytes() const {
  size_t bytes = params_.total * sizeof(float) + lm_head_->bytes();
  for (const Layer& p : layers_) bytes += p.wqkv->bytes() + p.wo->bytes() + p.w_gate_up->bytes() + p.w_down->bytes() + p.bqkv.bytes();
  return bytes;
}

void Transformer::pack(SourceWeights weights, const ParameterTensors& source, const BlockMaker* make_block) {
  const ModelConfig& c = cfg_;
  layers_.resize(c.n_layers);
  const size_t C = c.dim, QD = c.q_dim(), KVD = c.kv_dim(), H = c.hidden_dim;
  Backend& b = *backend_;
  const size_t esize = element_bytes(weights.type);
  auto source_tensor = [&](int index, int l) {  // layer l's slice of a stacked tensor, in source bytes
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
  auto check_shape = [](const std::unique_ptr<Matrix>& m, size_t rows, size_t cols) {
    RLCD_CHECK(m && (size_t)m->rows() == rows && (size_t)m->cols() == cols, "Transformer: a block matrix of the wrong shape");
  };
  for (int l = 0; l < c.n_layers; l++) {
    Layer& p = layers_[l];
    if (make_block) {
      p.wqkv = (*make_block)(l, 0);
      p.wo = (*make_block)(l, 1);
      p.w_gate_up = (*make_block)(l, 2);
      p.w_down = (*make_block)(l, 3);
      check_shape(p.wqkv, QD + 2 * KVD, C);
      check_shape(p.wo, C, QD);
      check_shape(p.w_gate_up, 2 * H, C);
      check_shape(p.w_down, C, H);
    } else {
      p.wqkv = b.pack(concat({{source_tensor(kWq, l), QD * C}, {source_tensor(kWk, l), KVD * C}, {source_tensor(kWv, l), KVD * C}}),
                      (int)(QD + 2 * KVD), (int)C, weight_type_);
      p.wo = b.pack(SourceWeights{source_tensor(kWo, l), weights.type}, (int)C, (int)QD, weight_type_);
      p.w_gate_up = b.pack(concat({{source_tensor(kWGate, l), H * C}, {source_tensor(kWUp, l), H * C}}), (int)(2 * H), (int)C, weight_type_);
      p.w_down = b.pack(SourceWeights{source_tensor(kWDown, l), weights.type}, (int)C, (int)H, weight_type_);
    }
    if (c.qkv_bias) {
      std::vector<float> bias;
      for (int index : {kBq, kBk, kBv}) {
        const size_t per = source.sizes[index] / (size_t)source.num_layers;
        for (size_t j = 0; j < per; j++) bias.push_back(weights.at(source.offsets[index] + per * (size_t)l + j));
      }
      p.bqkv = Buffer(&b, bias.size() * sizeof(float));
      b.upload(p.bqkv.raw(), bias.data(), bias.size() * sizeof(float));
    }
  }
  const int head = source.sizes[kLmHead] ? kLmHead : kTokEmb;
  lm_head_ = b.pack(SourceWeights{static_cast<const char*>(weights.data) + source.offsets[head] * esize, weights.type},
                    c.vocab_size, c.dim, weight_type_);
}

Transformer::WorkspaceLease Transformer::workspace() const {
  std::lock_guard<std::mutex> lock(workspace_mutex_);
  return WorkspaceLease(*this, workspace_ ? std::move(workspace_) : std::make_unique<Workspace>());
}

void Transformer::give_back(std::unique_ptr<Workspace> ws) const {
  std::lock_guard<std::mutex> lock(workspace_mutex_);
  auto size = [](const Workspace* w) { return w ? w->cache.k.bytes() + w->cache.v.bytes() + w->acts.bytes() : 0; };
  if (size(ws.get()) <= kKeptWorkspaceBytes && size(ws.get()) >= size(workspace_.get())) workspace_ = std::move(ws);
}

void Transformer::forward(const TokenBatch& batch, KVCache& cache, Activations& a, int threads) const {
  const ModelConfig& c = cfg_;
  Backend& b = *backend_;
  const int N = batch.size();
  const int C = c.dim, H = c.hidden_dim, QD = c.q_dim(), KVD = c.kv_dim(), HS = c.head_dim;
  const long QKV = QD + 2 * KVD;  // row stride of the fused q|k|v output
  const int NL = (int)batch.logit_rows.size();
  a.ensure(b, c, N, NL);
  b.upload(a.tokens.raw(), batch.tokens.data(), sizeof(int) * N);
  b.upload(a.pos.raw(), batch.pos.data(), sizeof(int) * N);
  b.upload(a.slots.raw(), batch.slots.data(), sizeof(int) * N);
  if (NL > 0) b.upload(a.wanted.raw(), batch.logit_rows.data(), sizeof(int) * NL);
  const int* pos = a.pos.i32();
  const int* slot = a.slots.i32();

  // One unit of work for the whole step (on the CPU one parallel region; the ops share out their loops).
  b.run(threads, [&] {
    b.embedding_forward(a.x.f32(), a.tokens.i32(), tensor(kTokEmb), N, C);
    for (int l = 0; l < c.n_layers; l++) {
      // attention block: x += Wo attn(rope(Wq xb), rope(Wk xb), Wv xb), xb = rmsnorm(x)
      const Layer& pl = layers_[l];
      b.rmsnorm_forward(a.xb.f32(), a.x.f32(), layer_tensor(kAttnNorm, l), N, C, c.rms_eps, nullptr);
      b.matmul(a.qkv.f32(), a.xb.f32(), *pl.wqkv, c.qkv_bias ? pl.bqkv.f32() : nullptr, N, false);
      const KVView lc = cache.layer(l);
      b.rope_and_cache(a.qkv.f32(), QKV, pos, slot, N, c.n_heads, c.n_kv_heads, HS, c.rope_style, rope_, lc);
      b.attention_decode(a.att.f32(), a.qkv.f32(), QKV, slot, pos, lc, N, c.n_heads, c.n_kv_heads, HS);
      b.matmul(a.x.f32(), a.att.f32(), *pl.wo, nullptr, N, true);

      // MLP block: x += Wdown (silu(Wgate xb) * Wup xb), xb = rmsnorm(x)
      b.rmsnorm_forward(a.xb.f32(), a.x.f32(), layer_tensor(kMlpNorm, l), N, C, c.rms_eps, nullptr);
      b.matmul(a.gate_up.f32(), a.xb.f32(), *pl.w_gate_up, nullptr, N, false);
      b.swiglu_forward(a.hidden.f32(), a.gate_up.f32(), N, H);
      b.matmul(a.x.f32(), a.hidden.f32(), *pl.w_down, nullptr, N, true);
    }
    if (NL > 0) {
      // Only the rows whose logits are wanted pay for the final norm and the LM head.
      b.rmsnorm_rows(a.logits_in.f32(), a.x.f32(), a.wanted.i32(), tensor(kFinalNorm), NL, C, c.rms_eps);
      b.matmul(a.logits.f32(), a.logits_in.f32(), *lm_head_, nullptr, NL, false);
    }
  });
  if (NL > 0 && b.kind() != DeviceKind::Cpu) {
    a.host_copy.resize((size_t)NL * c.vocab_size);
    b.download(a.host_copy.data(), a.logits.f32(), sizeof(float) * a.host_copy.size());
    a.host_logits_ = a.host_copy.data();
  }
}

}  // namespace rlcd
