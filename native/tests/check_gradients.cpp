// Gradient checks for every op and loss of the engine against central finite differences, the
// GEMM against a naive product, and a whole-model check (full fine-tuning and LoRA) on a tiny
// random transformer. Built as `rlcd_native_tests` next to the addon; test/native/gradients.test.ts
// runs it. Prints one line per check and `N passed, N failed` last; exits non-zero on a failure.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "../common/thread_tuner.h"
#include "../common/weight_pool.h"
#include "../kernels/causal_attention.h"
#include "../kernels/embedding.h"
#include "../kernels/gemm.h"
#include "../kernels/matmul_q8.h"
#include "../kernels/rmsnorm.h"
#include "../kernels/rope.h"
#include "../kernels/swiglu.h"
#include "../losses/bradley_terry.h"
#include "../losses/dpo.h"
#include "../losses/logprobs.h"
#include "../losses/ppo.h"
#include "../model/objective.h"
#include "../model/sampler.h"
#include "../model/trainable.h"
#include "../optim/adamw.h"

using namespace rlcd;
using Vec = std::vector<float>;

static int passed = 0, failed = 0;
static Rng rng(1234);

static Vec randn(size_t n, float scale = 1.0f) {
  Vec v(n);
  for (auto& x : v) {
    float u1 = std::max(rng.uniform(), 1e-7f), u2 = rng.uniform();
    x = scale * std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853f * u2);
  }
  return v;
}

static void report(const std::string& name, double err, double tol) {
  bool ok = err <= tol && std::isfinite(err);
  (ok ? passed : failed)++;
  std::printf("%s %-52s max rel err %.3g (tol %.0e)\n", ok ? "ok  " : "FAIL", name.c_str(), err, tol);
}

// Compares an analytic gradient with central differences of `loss` w.r.t. x (perturbed in place).
static double fd_check(Vec& x, const Vec& analytic, const std::function<double()>& loss, float eps = 1e-2f,
                       int max_checks = 64) {
  double worst = 0.0;
  const size_t stride = std::max<size_t>(1, x.size() / max_checks);
  for (size_t i = 0; i < x.size(); i += stride) {
    const float keep = x[i];
    x[i] = keep + eps;
    double lp = loss();
    x[i] = keep - eps;
    double lm = loss();
    x[i] = keep;
    double num = (lp - lm) / (2.0 * eps);
    double err = std::fabs(num - analytic[i]) / std::max(1e-2, std::fabs(num) + std::fabs(analytic[i]));
    worst = std::max(worst, err);
  }
  return worst;
}

static double dotd(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += (double)a[i] * b[i];
  return s;
}

static void check_gemm() {
  // 13 x 520 x 530: a row-major A long and wide enough to be packed (gemm's direct_a), with a
  // partial panel of rows, two k blocks and k tails past the 16-step transposes.
  for (auto [M, N, K] : {std::tuple{1, 1, 1}, {7, 19, 5}, {13, 33, 300}, {64, 48, 513}, {13, 520, 530}}) {
    Vec A = randn((size_t)M * K), B = randn((size_t)K * N), C0 = randn((size_t)M * N);
    for (int variant = 0; variant < 3; variant++) {
      // variant 0: A row-major, B row-major; 1: A transposed; 2: B transposed
      Strided a = variant == 1 ? Strided{A.data(), 1, M} : Strided{A.data(), K, 1};
      Strided b = variant == 2 ? Strided{B.data(), 1, K} : Strided{B.data(), N, 1};
      Vec C = C0;
      gemm(M, N, K, a, b, C.data(), N, true);
      double worst = 0;
      for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
          double s = C0[(size_t)i * N + j], mag = std::fabs(s);
          for (int k = 0; k < K; k++) {
            double t = (double)a.data[i * a.rs + k * a.cs] * b.data[k * b.rs + j * b.cs];
            s += t;
            mag += std::fabs(t);
          }
          // relative to the sum of magnitudes: fp32 rounding grows with K, a wrong index does not hide
          worst = std::max(worst, std::fabs(s - C[(size_t)i * N + j]) / (1e-6 + mag));
        }
      report("gemm " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) + " variant " + std::to_string(variant), worst, 1e-6);
    }
  }
}

// The packed inference matmul in every weight type, against a float64 product with the weights as
// that type stores them (and for q8_0 the activations as it quantises them: exact up to f32
// summation), and against the f32 weights within the type's rounding; odd shapes cover partial
// panels and rows that q8_0 blocks do not divide (stored f16). A row's result is the same bits alone
// and in a batch.
static void check_packed_matmul() {
  const WeightType types[] = {WeightType::F32, WeightType::BF16, WeightType::F16, WeightType::Q8_0};
  // Relative error of a stored weight: f32 exact, bf16 2^-9, f16 2^-11, q8_0 half a step of max|w|/127.
  // (q8_0 also rounds its scale to f16: up to 127 * 2^-11 of a step more, and its int16 activations
  // are within 2^-16 of their block's max |x|: 2^-13 of the bound here with randn rows.)
  const double rounding[] = {0.0, 1.0 / 512, 1.0 / 2048, 0.5 / 127 + 1.0 / 2048 + 1.0 / 8192};
  // (M, N, K): one row over 3 panels; two rows over 5 (a group of four and one left); 6 rows; 17 rows
  // (two 8-row tiles and one); K = 50 is not whole q8_0 blocks; 13 rows (8 + 4 + 1) over 7 panels
  // (q8_0 groups of four and three).
  const int shapes[][3] = {{1, 40, 96}, {2, 80, 64}, {6, 33, 96}, {17, 64, 50}, {13, 100, 64}};
  for (const auto& sh : shapes) {
    const int M = sh[0], N = sh[1], K = sh[2];
    Vec w = randn((size_t)N * K), x = randn((size_t)M * K), bias = randn(N);
    double wmax = 0;
    for (float v : w) wmax = std::max(wmax, (double)std::fabs(v));
    for (int t = 0; t < 4; t++) {
      PackedMatrix pm;
      pack_weight(pm, w.data(), N, K, types[t]);
      Vec out((size_t)M * N);
#pragma omp parallel num_threads(2)
      matmul_packed_forward(out.data(), x.data(), pm, bias.data(), M);
      // The activations as the matmul multiplies them.
      Vec xs = x;
      if (pm.type == WeightType::Q8_0) {
        std::vector<int16_t> q(K);
        std::vector<float> d(K / 32);
        for (int m = 0; m < M; m++) {
          quantize_activations_q16(x.data() + (size_t)m * K, K, q.data(), d.data());
          for (int k = 0; k < K; k++) xs[(size_t)m * K + k] = (float)((double)q[k] * d[k / 32]);
        }
      }
      double worst_stored = 0, worst_f32 = 0, batch_bits = 0;
      for (int m = 0; m < M; m++) {
        Vec alone(N);
        matmul_packed_forward(alone.data(), x.data() + (size_t)m * K, pm, bias.data(), 1);
        for (int n = 0; n < N; n++) batch_bits += alone[n] != out[(size_t)m * N + n];
      }
      for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
          double stored = bias[n], exact = bias[n], scale = 0;
          for (int k = 0; k < K; k++) {
            stored += (double)xs[(size_t)m * K + k] * packed_weight_at(pm, n, k);
            exact += (double)x[(size_t)m * K + k] * w[(size_t)n * K + k];
            scale += std::fabs((double)x[(size_t)m * K + k]) * wmax;
          }
          worst_stored = std::max(worst_stored, std::fabs(out[(size_t)m * N + n] - stored) / (1 + std::fabs(stored)));
          worst_f32 = std::max(worst_f32, std::fabs(out[(size_t)m * N + n] - exact) / scale);
        }
      const char* name = weight_type_name(pm.type);
      std::string where = std::string(weight_type_name(types[t])) + " (stored " + name + ") " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K);
      report("packed matmul " + where + " vs its stored weights", worst_stored, 1e-5);
      report("packed matmul " + where + " vs f32 weights", worst_f32, rounding[(int)pm.type] + 1e-6);
      report("packed matmul " + where + ": rows alone differ from the batch in", batch_bits, 0);
    }
  }
  // q8_0 activations: a NaN or an infinity in a block makes the outputs NaN, never a number.
  for (float bad : {NAN, INFINITY}) {
    const int N = 16, K = 64;
    Vec w = randn((size_t)N * K), x = randn(K);
    x[40] = bad;
    PackedMatrix pm;
    pack_weight(pm, w.data(), N, K, WeightType::Q8_0);
    Vec out(N);
    matmul_packed_forward(out.data(), x.data(), pm, nullptr, 1);
    int finite = 0;
    for (float v : out) finite += std::isfinite(v);
    report(std::string("packed matmul q8_0 with ") + (std::isnan(bad) ? "NaN" : "inf") + " input: finite outputs", finite, 0);
  }
}

static void check_rmsnorm() {
  const int N = 5, C = 24;
  Vec x = randn(N * C), w = randn(C), dy = randn(N * C), y(N * C), r(N), dx(N * C), dw(C, 0.0f);
  auto loss = [&] { rmsnorm_forward(y.data(), x.data(), w.data(), N, C, 1e-5f, r.data()); return dotd(y, dy); };
  loss();
  rmsnorm_backward(dx.data(), dw.data(), dy.data(), x.data(), w.data(), r.data(), N, C);
  report("rmsnorm dx", fd_check(x, dx, loss), 1e-2);
  report("rmsnorm dweight", fd_check(w, dw, loss), 1e-2);
}

static void check_rope(RopeStyle style, const char* name) {
  const int N = 6, heads = 3, HS = 8;
  RopeTable table;
  table.init(32, HS, 10000.0);
  std::vector<int> pos = {0, 1, 5, 9, 17, 31};
  Vec x = randn(N * heads * HS), dy = randn(N * heads * HS);
  auto loss = [&] { Vec y = x; rope_forward(y.data(), heads * HS, pos.data(), N, heads, HS, style, table); return dotd(y, dy); };
  Vec dx = dy;
  rope_backward(dx.data(), heads * HS, pos.data(), N, heads, HS, style, table);
  report(std::string("rope ") + name, fd_check(x, dx, loss), 1e-2);
}

static void check_swiglu() {
  const int N = 4, H = 10;
  Vec gu = randn(N * 2 * H), dy = randn(N * H), y(N * H), dgu(N * 2 * H);
  auto loss = [&] { swiglu_forward(y.data(), gu.data(), N, H); return dotd(y, dy); };
  swiglu_backward(dgu.data(), dy.data(), gu.data(), N, H);
  report("swiglu", fd_check(gu, dgu, loss), 1e-2);
}

// T = 70 crosses the kernel's 64-row blocks (and is not a multiple of them), T = 80 ends a block
// on a whole 16-lane vector; HS = 32 takes the 32-wide direct tiles (6 rows and a smaller tail)
// on AVX-512. The backward rebuilds P from the forward's log-sum-exp, so the finite differences
// check that too.
static void check_attention(int T, int HS = 8) {
  const int B = 2, NH = 4, NKV = 2, QD = NH * HS, KVD = NKV * HS, S = QD + 2 * KVD;
  Vec qkv = randn((size_t)B * T * S, 0.5f), dy = randn((size_t)B * T * QD), out((size_t)B * T * QD);
  Vec lse((size_t)B * NH * T, NAN), dqkv((size_t)B * T * S), scratch(causal_attention_scratch(T, HS));
  auto loss = [&] { causal_attention_forward(out.data(), lse.data(), qkv.data(), S, B, T, NH, NKV, HS, scratch.data()); return dotd(out, dy); };
  loss();
  // The forward and the log-sum-exp against softmax(q k^T / sqrt(HS)) v in double, position by position.
  double worst = 0, worst_lse = 0;
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++) {
        const float* q = qkv.data() + ((size_t)b * T + t) * S + h * HS;
        std::vector<double> w(t + 1);
        double mx = -1e300, sum = 0;
        for (int s = 0; s <= t; s++) {
          const float* k = qkv.data() + ((size_t)b * T + s) * S + QD + (h / (NH / NKV)) * HS;
          double d = 0;
          for (int i = 0; i < HS; i++) d += (double)q[i] * k[i];
          w[s] = d / std::sqrt((double)HS), mx = std::max(mx, w[s]);
        }
        for (int s = 0; s <= t; s++) sum += (w[s] = std::exp(w[s] - mx));
        const double got_lse = lse[((size_t)b * NH + h) * T + t];
        worst_lse = std::isfinite(got_lse) ? std::max(worst_lse, std::fabs(mx + std::log(sum) - got_lse)) : INFINITY;
        for (int i = 0; i < HS; i++) {
          double o = 0;
          for (int s = 0; s <= t; s++) o += w[s] / sum * qkv[((size_t)b * T + s) * S + QD + KVD + (h / (NH / NKV)) * HS + i];
          worst = std::max(worst, std::fabs(o - out[((size_t)b * T + t) * QD + h * HS + i]));
        }
      }
  report("causal attention (GQA) forward, T = " + std::to_string(T) + ", HS = " + std::to_string(HS), worst, 1e-5);
  report("causal attention (GQA) log-sum-exp, T = " + std::to_string(T) + ", HS = " + std::to_string(HS), worst_lse, 1e-5);
  causal_attention_backward(dqkv.data(), dy.data(), lse.data(), qkv.data(), S, B, T, NH, NKV, HS, scratch.data());
  report("causal attention (GQA) dq dk dv, T = " + std::to_string(T) + ", HS = " + std::to_string(HS), fd_check(qkv, dqkv, loss, 1e-2f, 200), 1e-2);
}

static void check_embedding() {
  const int V = 7, C = 5, N = 6;
  std::vector<int> tok = {1, 3, 1, 6, 0, 3};
  Vec table = randn(V * C), dy = randn(N * C), y(N * C), dt(V * C, 0.0f);
  auto loss = [&] { embedding_forward(y.data(), tok.data(), table.data(), N, C); return dotd(y, dy); };
  embedding_backward(dt.data(), dy.data(), tok.data(), N, C);
  report("embedding", fd_check(table, dt, loss), 1e-3);
}

static void check_token_losses() {
  const int N = 5, V = 11;
  Vec logits = randn(N * V, 2.0f), w = {1, 0, 1, 1, 0.5f};
  std::vector<int> tgt = {3, 0, 10, 4, 7};
  Vec lp(N), dlp(N), dlogits(N * V);
  auto ce = [&] { logprobs_forward(lp.data(), logits.data(), tgt.data(), N, V); return (double)cross_entropy_loss(dlp.data(), lp.data(), w.data(), N); };
  ce();
  logprobs_backward(dlogits.data(), logits.data(), tgt.data(), dlp.data(), N, V);
  report("cross-entropy through log-probs", fd_check(logits, dlogits, ce), 1e-2);

  Vec ent(N), dent = randn(N), dl(N * V, 0.0f);
  auto hl = [&] { entropy_forward(ent.data(), logits.data(), N, V); return dotd(ent, dent); };
  entropy_backward(dl.data(), logits.data(), dent.data(), N, V);
  report("entropy", fd_check(logits, dl, hl), 1e-2);
}

static void check_bradley_terry() {
  const int P = 6;
  Vec rc = randn(P), rr = randn(P), tgt = {1, 1, 0.7f, 0.2f, 0.5f, 1}, dc(P), dr(P);
  auto loss = [&] { return (double)bradley_terry_loss(nullptr, nullptr, rc.data(), rr.data(), tgt.data(), P).loss; };
  bradley_terry_loss(dc.data(), dr.data(), rc.data(), rr.data(), tgt.data(), P);
  report("bradley-terry d chosen", fd_check(rc, dc, loss, 1e-3f), 1e-2);
  report("bradley-terry d rejected", fd_check(rr, dr, loss, 1e-3f), 1e-2);
}

static void check_ppo() {
  const int N = 8;
  Vec old = randn(N, 0.5f), lp = old, adv = randn(N), mask = {1, 1, 1, 0, 1, 1, 1, 1}, dlp(N);
  // Ratios within the clip range, away from its kinks.
  for (int i = 0; i < N; i++) lp[i] = old[i] + 0.05f * (i % 3 - 1);
  auto pl = [&] { Vec d(N); return (double)ppo_policy_loss(d.data(), lp.data(), old.data(), adv.data(), mask.data(), N, 0.2f).loss; };
  ppo_policy_loss(dlp.data(), lp.data(), old.data(), adv.data(), mask.data(), N, 0.2f);
  report("ppo policy loss (inside the clip range)", fd_check(lp, dlp, pl, 1e-3f), 1e-2);
  // Far outside the range on the pessimistic side the gradient is zero.
  Vec far = old;
  for (int i = 0; i < N; i++) far[i] = old[i] + (adv[i] > 0 ? 1.0f : -1.0f);
  ppo_policy_loss(dlp.data(), far.data(), old.data(), adv.data(), mask.data(), N, 0.2f);
  double mx = 0;
  for (float g : dlp) mx = std::max(mx, (double)std::fabs(g));
  report("ppo policy loss: clipped tokens get no gradient", mx, 0.0);

  Vec v = randn(N), vo = v, R = randn(N), dv(N);
  for (int i = 0; i < N; i++) vo[i] = v[i] + 0.05f * (i % 2 ? 1 : -1);
  auto vl = [&] { Vec d(N); return (double)ppo_value_loss(d.data(), v.data(), vo.data(), R.data(), mask.data(), N, 0.2f).loss; };
  ppo_value_loss(dv.data(), v.data(), vo.data(), R.data(), mask.data(), N, 0.2f);
  report("ppo value loss", fd_check(v, dv, vl, 1e-3f), 1e-2);

  Vec ref = randn(N, 0.5f), kl(N), dkl = randn(N), dk(N);
  auto k3 = [&] { kl_k3(kl.data(), lp.data(), ref.data(), N); return dotd(kl, dkl); };
  kl_k3_backward(dk.data(), dkl.data(), lp.data(), ref.data(), N);
  report("kl k3 estimator", fd_check(lp, dk, k3, 1e-3f), 1e-2);
  kl_k3(kl.data(), lp.data(), ref.data(), N);
  double mn = 1e9;
  for (float x : kl) mn = std::min(mn, (double)x);
  report("kl k3 is non-negative", mn >= 0 ? 0.0 : -mn, 0.0);
}

static void check_dpo() {
  const int P = 6;
  Vec pc = randn(P, 3.0f), pr = randn(P, 3.0f), rc = randn(P, 3.0f), rr = randn(P, 3.0f);
  Vec tgt = {1, 1, 0.8f, 0.3f, 0.5f, 1}, dc(P), dr(P);
  const char* names[] = {"dpo sigmoid (soft labels)", "dpo ipo", "dpo hinge"};
  const DpoKind kinds[] = {DpoKind::Sigmoid, DpoKind::Ipo, DpoKind::Hinge};
  for (int k = 0; k < 3; k++) {
    // beta 0.1 keeps every hinge margin away from its kink at beta h = 1.
    auto loss = [&] { return (double)dpo_loss(nullptr, nullptr, pc.data(), pr.data(), rc.data(), rr.data(), tgt.data(), P, 0.1f, kinds[k]).loss; };
    dpo_loss(dc.data(), dr.data(), pc.data(), pr.data(), rc.data(), rr.data(), tgt.data(), P, 0.1f, kinds[k]);
    report(std::string(names[k]) + " d chosen", fd_check(pc, dc, loss, 1e-2f), 1e-2);
    report(std::string(names[k]) + " d rejected", fd_check(pr, dr, loss, 1e-2f), 1e-2);
  }
  // Reference equal to the policy: h = 0, the sigmoid loss is log 2 and the rewards are zero.
  DpoStats st = dpo_loss(nullptr, nullptr, pc.data(), pr.data(), pc.data(), pr.data(), std::vector<float>(P, 1.0f).data(), P, 0.1f, DpoKind::Sigmoid);
  report("dpo at the reference: loss = log 2", std::fabs(st.loss - std::log(2.0)) + std::fabs(st.margin), 1e-6);
}

// The objective end to end (forward_backward): each loss kind's gradient against finite
// differences of its reported loss, on a tiny model with a head.
static void check_objective() {
  ModelConfig c;
  c.dim = 16; c.hidden_dim = 24; c.n_layers = 1; c.n_heads = 4; c.n_kv_heads = 2; c.head_dim = 4;
  c.vocab_size = 23; c.max_seq_len = 16; c.rms_eps = 1e-5f; c.tied_embeddings = true;
  ParameterTensors layout;
  layout.layout(c);
  Vec w = randn(layout.total, 0.3f);
  TrainBatch b;
  b.B = 4; b.T = 5;
  for (int i = 0; i < b.B * b.T; i++) b.tokens.push_back((int)(rng.next() % c.vocab_size));
  b.lengths = {5, 3, 4, 5};
  const int N = b.rows();
  Vec mask(N, 0.0f);
  for (int r = 0; r < b.B; r++)
    for (int t = 1; t + 1 < b.lengths[r]; t++) mask[r * b.T + t] = 1;
  std::vector<std::pair<const char*, LossSpec>> specs;
  LossSpec pol; pol.kind = LossKind::Policy; pol.old_logprobs = randn(N, 0.1f); pol.advantages = randn(N); pol.mask = mask;
  pol.cliprange = 10.0f; pol.entropy_coef = 0.05f;  // a wide clip range: no kinks near the start point
  for (auto& x : pol.old_logprobs) x -= 3.0f;
  specs.push_back({"objective: policy + entropy bonus", pol});
  LossSpec val; val.kind = LossKind::Value; val.returns = randn(N); val.old_values = randn(N, 0.1f); val.mask = mask;
  val.cliprange = 100.0f; val.coef = 0.1f;
  specs.push_back({"objective: value", val});
  LossSpec d; d.kind = LossKind::Dpo; d.weights = mask; d.targets = {1.0f, 0.7f}; d.ref_chosen = randn(2); d.ref_rejected = randn(2);
  for (auto& x : d.ref_chosen) x -= 6.0f;
  for (auto& x : d.ref_rejected) x -= 6.0f;
  d.beta = 0.5f;
  specs.push_back({"objective: dpo", d});
  for (auto& [name, spec] : specs) {
    TrainableModel m(c, w.data(), w.size(), LoraConfig{}, HeadKind::Scalar, nullptr, 3, 1);
    ObjectiveScratch scratch;
    auto loss = [&] {
      TrainableModel probe(c, m.params().memory.data(), layout.total, LoraConfig{}, HeadKind::Scalar, m.head_params().data(), 3, 1);
      ObjectiveScratch s2;
      return forward_backward(probe, b, spec, s2)[0].second;
    };
    m.zero_grad();
    forward_backward(m, b, spec, scratch);
    for (const auto& span : m.trainable()) {
      Vec x(span.param, span.param + span.n), g(span.grad, span.grad + span.n);
      auto l2 = [&] { std::copy(x.begin(), x.end(), span.param); return loss(); };
      double err = fd_check(x, g, l2, 2e-3f, 200);
      std::copy(x.begin(), x.end(), span.param);
      report(std::string(name) + (span.n == (size_t)c.dim + 1 ? " (head)" : " (weights)"), err, 3e-2);
    }
  }
}

static void check_adamw() {
  Vec p = {1.0f, -2.0f}, g = {0.5f, -1.0f}, m(2, 0.0f), v(2, 0.0f);
  AdamWConfig c;
  c.lr = 0.1f;
  c.weight_decay = 0.01f;
  adamw_update(p.data(), g.data(), m.data(), v.data(), 2, c, 1);
  // step 1: m_hat = g, v_hat = g^2, update = lr * g / (|g| + eps) = lr * sign(g); decay first
  double e0 = std::fabs(p[0] - (1.0 * (1 - 0.1 * 0.01) - 0.1)), e1 = std::fabs(p[1] - (-2.0 * (1 - 0.1 * 0.01) + 0.1));
  report("adamw first step", std::max(e0, e1), 1e-6);
}

// Whole model: CE on logits + a head term, gradients vs finite differences of the loss.
// rank > dim is the case whose scratch once overflowed the heap (a LoRA rank above the hidden size).
static void check_model(bool lora, int rank = 2) {
  ModelConfig c;
  c.dim = 16; c.hidden_dim = 24; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.head_dim = 4;
  c.vocab_size = 29; c.max_seq_len = 16; c.rms_eps = 1e-5f; c.tied_embeddings = !lora; c.qkv_bias = lora;
  ParameterTensors layout;
  layout.layout(c);
  Vec w = randn(layout.total, 0.3f);
  LoraConfig lc;
  if (lora) { lc.rank = rank; lc.alpha = 2.0f * rank; lc.targets = 0x7f; }
  TrainableModel m(c, w.data(), w.size(), lc, HeadKind::Scalar, nullptr, 7, 2);
  if (lora)  // B starts at zero; make it non-zero so the A path is exercised
    for (size_t i = 0; i < m.lora_params().size(); i++) m.lora_params().data()[i] = 0.2f * randn(1)[0];
  TrainBatch batch;
  batch.B = 3; batch.T = 6;
  for (int i = 0; i < batch.B * batch.T; i++) batch.tokens.push_back((int)(rng.next() % c.vocab_size));
  batch.lengths = {6, 4, 5};
  const int N = batch.rows(), V = c.vocab_size;
  Vec dhead_w = randn(N);
  std::vector<int> tgt(N);
  Vec weights(N, 0.0f);
  for (int b = 0; b < batch.B; b++)
    for (int t = 0; t + 1 < batch.lengths[b]; t++) { tgt[b * batch.T + t] = batch.tokens[b * batch.T + t + 1]; weights[b * batch.T + t] = 1; }
  Vec lp(N), dlp(N), dlogits((size_t)N * V);
  auto loss = [&] {
    m.forward(batch, true);
    logprobs_forward(lp.data(), m.logits(), tgt.data(), N, V);
    double l = cross_entropy_loss(dlp.data(), lp.data(), weights.data(), N);
    for (int n = 0; n < N; n++) l += (double)dhead_w[n] * m.head()[n];
    return l;
  };
  loss();
  logprobs_backward(dlogits.data(), m.logits(), tgt.data(), dlp.data(), N, V);
  m.zero_grad();
  m.backward(dlogits.data(), dhead_w.data());
  // Check each span (weights or adapters, then head) through a copy we perturb and write back.
  const std::string kind = !lora ? "model (full, tied)" : rank > c.dim ? "model (LoRA rank 20 > dim 16)" : "model (LoRA + qkv bias, untied)";
  int si = 0;
  for (const auto& span : m.trainable()) {
    Vec x(span.param, span.param + span.n), g(span.grad, span.grad + span.n);
    auto l2 = [&] { std::copy(x.begin(), x.end(), span.param); return loss(); };
    // A step of 8e-3: at 2e-3 the float32 loss's rounding made up most of the difference (up to 3%,
    // over the tolerance in the scalar build); at 8e-3 every build stays under 0.8%.
    double err = fd_check(x, g, l2, 8e-3f, 400);
    std::copy(x.begin(), x.end(), span.param);
    report(std::string(kind) + (si == 0 ? (lora ? " adapters" : " weights") : " head"), err, 1.5e-2);
    si++;
  }
}

// LoRA over a frozen base stored bf16 / f16 / q8_0 (QLoRA): against the same model trained over an
// f32 base holding exactly the packed weights' values (base_weights()), logits and adapter
// gradients agree to the precision of the matmul (q8_0 quantises activations to int16).
static void check_packed_base(WeightType type, double tol) {
  const std::string name = std::string("LoRA on a ") + weight_type_name(type) + " base: ";
  {  // unpack_weight gives back exactly what the matmul multiplies by (13 rows: a partial panel)
    Vec w = randn(13 * 64);
    PackedMatrix pm;
    pack_weight(pm, w.data(), 13, 64, type);
    Vec out(13 * 64);
    unpack_weight(out.data(), pm);
    double err = 0;
    for (int n = 0; n < 13; n++)
      for (int k = 0; k < 64; k++) err = std::max(err, (double)std::fabs(out[n * 64 + k] - packed_weight_at(pm, n, k)));
    report(name + "unpacked weights", err, 0.0);
  }
  ModelConfig c;
  c.dim = 32; c.hidden_dim = 64; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.head_dim = 8;
  c.vocab_size = 29; c.max_seq_len = 16; c.rms_eps = 1e-5f; c.tied_embeddings = false; c.qkv_bias = true;
  ParameterTensors layout;
  layout.layout(c);
  Vec w = randn(layout.total, 0.3f);
  LoraConfig lc;
  lc.rank = 3; lc.alpha = 6.0f; lc.targets = 0x7f;
  TrainableModel packed(c, w.data(), w.size(), lc, HeadKind::Scalar, nullptr, 7, 2, type);
  Vec widened(packed.parameter_count());
  packed.base_weights(widened.data());
  TrainableModel ref(c, widened.data(), widened.size(), lc, HeadKind::Scalar, packed.head_params().data(), 7, 2);
  for (size_t i = 0; i < packed.lora_params().size(); i++)  // B starts at zero: make it non-zero, the same in both
    ref.lora_params().data()[i] = packed.lora_params().data()[i] = 0.2f * randn(1)[0];
  size_t f32_bytes = layout.total * sizeof(float);
  const double ratio = (double)packed.base_bytes() / (double)f32_bytes;
  // bf16/f16 matrices take half, q8_0 about a quarter; the embedding, norms and LM head stay f32.
  report(name + "base memory below f32's", ratio < (type == WeightType::Q8_0 ? 0.55 : 0.7) ? 0.0 : ratio, 0.0);

  TrainBatch batch;
  batch.B = 3; batch.T = 6;
  for (int i = 0; i < batch.B * batch.T; i++) batch.tokens.push_back((int)(rng.next() % c.vocab_size));
  batch.lengths = {6, 4, 5};
  const int N = batch.rows(), V = c.vocab_size;
  Vec dlogits = randn((size_t)N * V, 0.1f), dhead = randn(N);
  double logit_err = 0, scale = 0;
  for (TrainableModel* m : {&packed, &ref}) {
    m->forward(batch, true);
    m->zero_grad();
    m->backward(dlogits.data(), dhead.data());
  }
  packed.forward(batch, true);
  Vec packed_logits(packed.logits(), packed.logits() + (size_t)N * V);
  ref.forward(batch, true);
  for (size_t i = 0; i < packed_logits.size(); i++) {
    logit_err = std::max(logit_err, (double)std::fabs(packed_logits[i] - ref.logits()[i]));
    scale = std::max(scale, (double)std::fabs(ref.logits()[i]));
  }
  report(name + "logits", logit_err / scale, tol);
  double grad_err = 0, grad_scale = 0;
  const auto& gp = packed.trainable(), &gr = ref.trainable();
  for (size_t s = 0; s < gp.size(); s++)
    for (size_t i = 0; i < gp[s].n; i++) {
      grad_err = std::max(grad_err, (double)std::fabs(gp[s].grad[i] - gr[s].grad[i]));
      grad_scale = std::max(grad_scale, (double)std::fabs(gr[s].grad[i]));
    }
  report(name + "adapter and head gradients", grad_err / grad_scale, tol);
  // A frozen narrow base without adapters has nothing to train: refused.
  bool refused = false;
  try {
    TrainableModel bad(c, w.data(), w.size(), LoraConfig{}, HeadKind::None, nullptr, 7, 1, type);
  } catch (const std::exception&) {
    refused = true;
  }
  report(name + "refused without LoRA", refused ? 0.0 : 1.0, 0.0);
}

// The thread tuner on simulated timings (seconds per 8-step decode block of a small model, as
// measured on a 2-core machine): reports the time lost, after a settling period, against always
// running the choice that is faster on average (the probes of the other one included).
static void check_thread_tuner() {
  using Cost = std::function<double(int threads, int block)>;
  auto time_lost = [](const Cost& cost, const std::function<int(int block)>& faster, int blocks, int from) {
    ThreadTuner tuner(2, 16, 0.07);
    double spent = 0, best = 0;
    for (int b = 0; b < blocks; b++) {
      const int t = tuner.next();
      const double s = cost(t, b);
      tuner.report(t, s, 1.0);
      if (b < from) continue;
      spent += s;
      best += cost(faster(b), b);
    }
    return spent / best - 1;
  };
  // Idle: all threads 65 us a token, one thread 105 us, and a rare descheduled block.
  Cost idle = [](int t, int b) { return 8e-6 * (t == 2 ? (b % 97 == 50 ? 240 : 65) : 105); };
  // One core busy: with two threads one block in eight loses a scheduler slice (600 us a token)
  // and the others run at full speed (60 us); one thread runs at 80 us, so it is faster on average.
  Cost busy = [](int t, int b) { return 8e-6 * (t == 2 ? (b % 8 == 3 ? 600 : 60) : 80); };
  // The busy process ends at block 1000.
  Cost ends = [&](int t, int b) { return b < 1000 ? busy(t, b) : idle(t, b); };
  report("thread tuner: an idle machine keeps all threads", time_lost(idle, [](int) { return 2; }, 2000, 0), 0.05);
  report("thread tuner: a busy core moves it to one thread", time_lost(busy, [](int) { return 1; }, 2000, 200), 0.10);
  report("thread tuner: and back when the core is free",
         time_lost(ends, [](int b) { return b < 1000 ? 1 : 2; }, 3000, 200), 0.10);
  // Idle, where two threads are only 1.3x one (65 against 85 us a token: the tiny model on two
  // cores shared with node's own threads) and one block in 200 loses an 8 ms slice. Such a block
  // must not send decoding to one thread for the thousands of blocks a confirmed choice waits.
  Cost jitter = [](int t, int b) { return t == 2 ? (b % 200 == 150 ? 8e-3 : 8 * 65e-6) : 8 * 85e-6; };
  report("thread tuner: lost slices on an idle machine keep all threads", time_lost(jitter, [](int) { return 2; }, 4000, 0), 0.05);
  // Training steps on an idle machine: the first is cold (page faults, caches: 3.0 s), then two
  // threads take 1.35 s and one 2.2 s. The cold step must not make one thread look faster.
  Cost training = [](int t, int b) { return b == 0 ? 3.0 : t == 2 ? 1.35 : 2.2; };
  report("thread tuner: a cold first step does not pick one thread", time_lost(training, [](int) { return 2; }, 40, 0), 0.05);
}

// The weight pool: matrices back to back in 2 MiB-aligned slabs, zeroed, 64-byte aligned; a slab
// is freed when its last matrix goes, and one larger than a slab gets a slab of its own.
static void check_weight_pool() {
  WeightPool pool;
  auto* a = static_cast<char*>(pool.allocate(1000));
  auto* b = static_cast<char*>(pool.allocate(3 << 20));
  bool zeroed = true;
  for (size_t i = 0; i < ((size_t)3 << 20); i += 4093) zeroed = zeroed && b[i] == 0;
  const bool placed = (uintptr_t)a % kHugePage == 0 && b == a + 1024 && pool.slabs() == 1;
  report("weight pool: back to back from a 2 MiB-aligned slab, zeroed", placed && zeroed ? 0.0 : 1.0, 0.0);
  auto* big = static_cast<char*>(pool.allocate(WeightPool::kSlab + 1));
  const bool own = pool.slabs() == 2 && (uintptr_t)big % kHugePage == 0;
  auto* after = static_cast<char*>(pool.allocate(64));
  report("weight pool: an allocation larger than a slab gets its own", own && after > big && pool.slabs() == 2 ? 0.0 : 1.0, 0.0);
  pool.release(a);
  const bool kept = pool.slabs() == 2;
  pool.release(b);
  const bool freed_first = pool.slabs() == 1;
  pool.release(big);
  pool.release(after);
  report("weight pool: a slab is freed with its last allocation", kept && freed_first && pool.slabs() == 0 ? 0.0 : 1.0, 0.0);
}

int main() {
  check_gemm();
  check_packed_matmul();
  check_rmsnorm();
  check_rope(RopeStyle::RotateHalf, "rotate-half");
  check_rope(RopeStyle::Interleaved, "interleaved");
  check_swiglu();
  check_attention(5);
  check_attention(70);
  check_attention(70, 16);
  check_attention(70, 32);
  check_attention(80, 32);
  check_embedding();
  check_token_losses();
  check_bradley_terry();
  check_ppo();
  check_dpo();
  check_objective();
  check_adamw();
  check_model(false);
  check_model(true);
  check_model(true, 20);
  check_packed_base(WeightType::BF16, 1e-5);
  check_packed_base(WeightType::F16, 1e-5);
  check_packed_base(WeightType::Q8_0, 2e-3);
  check_thread_tuner();
  check_weight_pool();
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
