#include "objective.h"

#include <algorithm>

#include "../common/check.h"
#include "../losses/bradley_terry.h"
#include "../losses/logprobs.h"  // cross_entropy_loss: a reduction over per-token log-probs, on the host
#include "../losses/ppo.h"

namespace rlcd {

namespace {

std::vector<float>& sized(std::vector<float>& v, size_t n) {
  v.resize(n);
  return v;
}

void require_size(const std::vector<float>& v, size_t n, const char* name) {
  RLCD_REQUIRE(v.size() == n, "loss.", name, " has ", v.size(), " entries; this batch needs ", n);
}

// Runs the backend ops in f as one unit of work (on the CPU, the model's thread team). The ops over
// logits (log-probs, entropy and their gradients) run on the backend; the sequence-level losses
// below (cross-entropy, Bradley-Terry, PPO, DPO) reduce per-token log-probs on the host.
template <typename F>
void on_team(const TrainableModel& m, F f) {
  m.backend().run(m.threads(), [&] { f(m.backend()); });
}

// The batch with logits wanted only at the positions where `w` is non-zero (the rows a token loss
// reads), and those positions. Never empty: an all-zero `w` keeps position 0 (weight 0).
struct Selected {
  TrainBatch batch;
  std::vector<int>& rows() { return batch.logit_rows; }
};
Selected select_rows(const TrainBatch& b, const std::vector<float>& w) {
  Selected s{b};
  for (int n = 0; n < b.rows(); n++)
    if (w[n] != 0.0f) s.batch.logit_rows.push_back(n);
  if (s.batch.logit_rows.empty()) s.batch.logit_rows.push_back(0);
  return s;
}
std::vector<float> pick(const std::vector<float>& v, const std::vector<int>& rows) {
  std::vector<float> out(rows.size());
  for (size_t i = 0; i < rows.size(); i++) out[i] = v[rows[i]];
  return out;
}
std::vector<int> pick(const std::vector<int>& v, const std::vector<int>& rows) {
  std::vector<int> out(rows.size());
  for (size_t i = 0; i < rows.size(); i++) out[i] = v[rows[i]];
  return out;
}

// The reward head read at each row's last token.
float last_token(const float* per_token, const TrainBatch& b, int row) {
  return per_token[(size_t)row * b.T + b.lengths[row] - 1];
}

ObjectiveStats sft(TrainableModel& m, const TrainBatch& b, const LossSpec& loss, ObjectiveScratch& s) {
  const int V = m.config().vocab_size;
  Selected sel = select_rows(b, loss.weights);
  const int R = (int)sel.rows().size();
  m.forward(sel.batch, true);
  auto tgt = pick(next_tokens(b), sel.rows());
  auto w = pick(loss.weights, sel.rows());
  auto& lp = sized(s.logprobs, R);
  auto& dlp = sized(s.dlogprobs, R);
  auto& dlogits = sized(s.dlogits, (size_t)R * V);
  on_team(m, [&](Backend& b) { b.logprobs_forward(lp.data(), m.logits(), tgt.data(), R, V); });
  float l = cross_entropy_loss(dlp.data(), lp.data(), w.data(), R);
  for (auto& g : dlp) g *= loss.scale;
  on_team(m, [&](Backend& b) { b.logprobs_backward(dlogits.data(), m.logits(), tgt.data(), dlp.data(), R, V); });
  m.backward(dlogits.data(), nullptr);
  double tokens = 0;
  for (float x : loss.weights) tokens += x;
  return {{"loss", l}, {"tokens", tokens}};
}

ObjectiveStats preference(TrainableModel& m, const TrainBatch& b, const LossSpec& loss) {
  m.forward(b, false);
  const int P = b.B / 2, N = b.rows();
  std::vector<float> rc(P), rr(P), dc(P), dr(P), dhead(N, 0.0f);
  for (int i = 0; i < P; i++) {
    rc[i] = last_token(m.head(), b, 2 * i);
    rr[i] = last_token(m.head(), b, 2 * i + 1);
  }
  BradleyTerryStats st = bradley_terry_loss(dc.data(), dr.data(), rc.data(), rr.data(), loss.targets.data(), P);
  for (int i = 0; i < P; i++) {
    dhead[(size_t)(2 * i) * b.T + b.lengths[2 * i] - 1] = dc[i] * loss.scale;
    dhead[(size_t)(2 * i + 1) * b.T + b.lengths[2 * i + 1] - 1] = dr[i] * loss.scale;
  }
  m.backward(nullptr, dhead.data());
  return {{"loss", st.loss}, {"accuracy", st.accuracy}, {"meanProb", st.mean_prob}, {"margin", st.margin}};
}

// PPO's clipped policy loss, minus entropy_coef times the mean entropy of the masked tokens.
ObjectiveStats policy(TrainableModel& m, const TrainBatch& b, const LossSpec& loss, ObjectiveScratch& s) {
  const int V = m.config().vocab_size;
  Selected sel = select_rows(b, loss.mask);
  const int R = (int)sel.rows().size();
  m.forward(sel.batch, true);
  auto tgt = pick(next_tokens(b), sel.rows());
  auto mask = pick(loss.mask, sel.rows()), old = pick(loss.old_logprobs, sel.rows()), adv = pick(loss.advantages, sel.rows());
  auto& lp = sized(s.logprobs, R);
  auto& dlp = sized(s.dlogprobs, R);
  auto& dlogits = sized(s.dlogits, (size_t)R * V);
  auto& ent = sized(s.entropy, R);
  auto& dent = sized(s.dentropy, R);
  on_team(m, [&](Backend& b) { b.logprobs_entropy_forward(lp.data(), ent.data(), m.logits(), tgt.data(), R, V); });
  PolicyLossStats st = ppo_policy_loss(dlp.data(), lp.data(), old.data(), adv.data(), mask.data(), R, loss.cliprange);
  for (auto& g : dlp) g *= loss.scale;
  on_team(m, [&](Backend& b) { b.logprobs_backward(dlogits.data(), m.logits(), tgt.data(), dlp.data(), R, V); });
  double count = 0, ent_mean = 0;
  for (int n = 0; n < R; n++) {
    count += mask[n];
    ent_mean += mask[n] * ent[n];
  }
  ent_mean = count > 0 ? ent_mean / count : 0;
  double total = st.loss;
  if (loss.entropy_coef != 0.0f && count > 0) {
    for (int n = 0; n < R; n++) dent[n] = (float)(-loss.entropy_coef * loss.scale * mask[n] / count);
    on_team(m, [&](Backend& b) { b.entropy_backward(dlogits.data(), m.logits(), dent.data(), R, V); });
    total -= loss.entropy_coef * ent_mean;
  }
  m.backward(dlogits.data(), nullptr);
  return {{"loss", total}, {"policyLoss", st.loss}, {"clipfrac", st.clipfrac}, {"approxKl", st.approx_kl},
          {"ratioMean", st.ratio_mean}, {"entropy", ent_mean}};
}

// PPO's clipped value loss on the head read at every position, times coef.
ObjectiveStats value(TrainableModel& m, const TrainBatch& b, const LossSpec& loss) {
  const int N = b.rows();
  m.forward(b, false);
  std::vector<float> dv(N);
  ValueLossStats st = ppo_value_loss(dv.data(), m.head(), loss.old_values.data(), loss.returns.data(),
                                     loss.mask.data(), N, loss.cliprange);
  for (auto& g : dv) g *= loss.coef * loss.scale;
  m.backward(nullptr, dv.data());
  double vm = 0, count = 0;
  for (int n = 0; n < N; n++) {
    vm += loss.mask[n] * m.head()[n];
    count += loss.mask[n];
  }
  return {{"loss", st.loss * loss.coef}, {"valueLoss", st.loss}, {"clipfrac", st.clipfrac},
          {"error", st.error}, {"valueMean", count > 0 ? vm / count : 0}};
}

// DPO on summed response log-probs: rows 2i (chosen) and 2i + 1 (rejected) of the batch.
ObjectiveStats dpo(TrainableModel& m, const TrainBatch& b, const LossSpec& loss, ObjectiveScratch& s) {
  const int V = m.config().vocab_size, P = b.B / 2, T = b.T;
  Selected sel = select_rows(b, loss.weights);
  const std::vector<int>& rows = sel.rows();
  const int R = (int)rows.size();
  m.forward(sel.batch, true);
  auto tgt = pick(next_tokens(b), rows);
  auto w = pick(loss.weights, rows);
  auto& lp = sized(s.logprobs, R);
  auto& dlp = sized(s.dlogprobs, R);
  auto& dlogits = sized(s.dlogits, (size_t)R * V);
  on_team(m, [&](Backend& b) { b.logprobs_forward(lp.data(), m.logits(), tgt.data(), R, V); });
  std::vector<double> sums(b.B, 0.0);
  for (int i = 0; i < R; i++) sums[rows[i] / T] += (double)w[i] * lp[i];
  std::vector<float> pc(P), pr(P), dc(P), dr(P);
  for (int i = 0; i < P; i++) {
    pc[i] = (float)sums[2 * i];
    pr[i] = (float)sums[2 * i + 1];
  }
  DpoStats st = dpo_loss(dc.data(), dr.data(), pc.data(), pr.data(), loss.ref_chosen.data(), loss.ref_rejected.data(),
                         loss.targets.data(), P, loss.beta, loss.dpo_kind);
  for (int i = 0; i < R; i++) {
    const int r = rows[i] / T;
    dlp[i] = (r % 2 == 0 ? dc[r / 2] : dr[r / 2]) * loss.scale * w[i];
  }
  on_team(m, [&](Backend& b) { b.logprobs_backward(dlogits.data(), m.logits(), tgt.data(), dlp.data(), R, V); });
  m.backward(dlogits.data(), nullptr);
  return {{"loss", st.loss}, {"rewardChosen", st.reward_chosen}, {"rewardRejected", st.reward_rejected},
          {"accuracy", st.accuracy}, {"margin", st.margin}, {"logpChosen", st.logp_chosen},
          {"logpRejected", st.logp_rejected}};
}

}  // namespace

std::vector<int> next_tokens(const TrainBatch& b) {
  std::vector<int> t(b.rows(), 0);
  for (int r = 0; r < b.B; r++)
    for (int i = 0; i + 1 < b.T; i++) t[(size_t)r * b.T + i] = b.tokens[(size_t)r * b.T + i + 1];
  return t;
}

void check_loss(const LossSpec& loss, const TrainBatch& b, bool has_head) {
  const size_t N = (size_t)b.rows();
  switch (loss.kind) {
    case LossKind::Sft: require_size(loss.weights, N, "weights"); break;
    case LossKind::Preference:
    case LossKind::Dpo:
      RLCD_REQUIRE(loss.kind == LossKind::Dpo || has_head, "a preference loss needs a trainer created with head: 'scalar'");
      RLCD_REQUIRE(b.B % 2 == 0, "a pair batch: B must be even (rows 2i chosen, 2i+1 rejected)");
      require_size(loss.targets, b.B / 2, "targets");
      for (float t : loss.targets) RLCD_REQUIRE(t >= 0.0f && t <= 1.0f, "loss.targets must be probabilities in [0, 1]");
      if (loss.kind == LossKind::Dpo) {
        require_size(loss.weights, N, "weights");
        require_size(loss.ref_chosen, b.B / 2, "refChosen");
        require_size(loss.ref_rejected, b.B / 2, "refRejected");
        RLCD_REQUIRE(loss.beta > 0.0f, "loss.beta must be > 0");
      }
      break;
    case LossKind::Policy:
      require_size(loss.old_logprobs, N, "oldLogprobs");
      require_size(loss.advantages, N, "advantages");
      require_size(loss.mask, N, "mask");
      break;
    case LossKind::Value:
      RLCD_REQUIRE(has_head, "a value loss needs a trainer created with head: 'scalar'");
      require_size(loss.returns, N, "returns");
      require_size(loss.old_values, N, "oldValues");
      require_size(loss.mask, N, "mask");
      break;
  }
  RLCD_REQUIRE(loss.cliprange >= 0.0f, "loss.cliprange must be >= 0");
}

ObjectiveStats forward_backward(TrainableModel& m, const TrainBatch& b, const LossSpec& loss, ObjectiveScratch& s) {
  check_loss(loss, b, m.head_params().size() > 0);
  switch (loss.kind) {
    case LossKind::Sft: return sft(m, b, loss, s);
    case LossKind::Preference: return preference(m, b, loss);
    case LossKind::Policy: return policy(m, b, loss, s);
    case LossKind::Value: return value(m, b, loss);
    case LossKind::Dpo: return dpo(m, b, loss, s);
  }
  return {};
}

std::vector<float> evaluate(TrainableModel& m, const TrainBatch& b, EvalKind kind, bool adapters) {
  const int N = b.rows(), T = b.T, V = m.config().vocab_size;
  const bool logits = kind == EvalKind::Logprobs || kind == EvalKind::Logits || kind == EvalKind::Entropy;
  RLCD_REQUIRE(logits || m.head_params().size() > 0, "this trainer has no head");
  m.forward(b, logits, adapters);
  std::vector<float> out;
  switch (kind) {
    case EvalKind::Logprobs: {
      auto tgt = next_tokens(b);
      out.resize(N);
      on_team(m, [&](Backend& b) { b.logprobs_forward(out.data(), m.logits(), tgt.data(), N, V); });
      for (int r = 0; r < b.B; r++) out[(size_t)r * T + T - 1] = 0.0f;
      break;
    }
    case EvalKind::Head: out.assign(m.head(), m.head() + N); break;
    case EvalKind::Rewards:
      out.resize(b.B);
      for (int r = 0; r < b.B; r++) out[r] = last_token(m.head(), b, r);
      break;
    case EvalKind::Logits: out.assign(m.logits(), m.logits() + (size_t)N * V); break;
    case EvalKind::Entropy:
      out.resize(N);
      on_team(m, [&](Backend& b) { b.entropy_forward(out.data(), m.logits(), N, V); });
      break;
  }
  return out;
}

}  // namespace rlcd
