#include "objective.h"

#include <algorithm>

#include "../common/check.h"
#include "../losses/bradley_terry.h"
#include "../losses/logprobs.h"
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

// The reward head read at each row's last token.
float last_token(const float* per_token, const TrainBatch& b, int row) {
  return per_token[(size_t)row * b.T + b.lengths[row] - 1];
}

ObjectiveStats sft(TrainableModel& m, const TrainBatch& b, const LossSpec& loss, ObjectiveScratch& s) {
  const int N = b.rows(), V = m.config().vocab_size;
  m.forward(b, true);
  auto tgt = next_tokens(b);
  auto& lp = sized(s.logprobs, N);
  auto& dlp = sized(s.dlogprobs, N);
  auto& dlogits = sized(s.dlogits, (size_t)N * V);
  logprobs_forward(lp.data(), m.logits(), tgt.data(), N, V);
  float l = cross_entropy_loss(dlp.data(), lp.data(), loss.weights.data(), N);
  for (auto& g : dlp) g *= loss.scale;
  logprobs_backward(dlogits.data(), m.logits(), tgt.data(), dlp.data(), N, V);
  m.backward(dlogits.data(), nullptr);
  double tokens = 0;
  for (float w : loss.weights) tokens += w;
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
  const int N = b.rows(), V = m.config().vocab_size;
  m.forward(b, true);
  auto tgt = next_tokens(b);
  auto& lp = sized(s.logprobs, N);
  auto& dlp = sized(s.dlogprobs, N);
  auto& dlogits = sized(s.dlogits, (size_t)N * V);
  auto& ent = sized(s.entropy, N);
  auto& dent = sized(s.dentropy, N);
  logprobs_forward(lp.data(), m.logits(), tgt.data(), N, V);
  PolicyLossStats st = ppo_policy_loss(dlp.data(), lp.data(), loss.old_logprobs.data(), loss.advantages.data(),
                                       loss.mask.data(), N, loss.cliprange);
  for (auto& g : dlp) g *= loss.scale;
  logprobs_backward(dlogits.data(), m.logits(), tgt.data(), dlp.data(), N, V);
  entropy_forward(ent.data(), m.logits(), N, V);
  double count = 0, ent_mean = 0;
  for (int n = 0; n < N; n++) {
    count += loss.mask[n];
    ent_mean += loss.mask[n] * ent[n];
  }
  ent_mean = count > 0 ? ent_mean / count : 0;
  double total = st.loss;
  if (loss.entropy_coef != 0.0f && count > 0) {
    for (int n = 0; n < N; n++) dent[n] = (float)(-loss.entropy_coef * loss.scale * loss.mask[n] / count);
    entropy_backward(dlogits.data(), m.logits(), dent.data(), N, V);
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
  const int N = b.rows(), V = m.config().vocab_size, P = b.B / 2, T = b.T;
  m.forward(b, true);
  auto tgt = next_tokens(b);
  auto& lp = sized(s.logprobs, N);
  auto& dlp = sized(s.dlogprobs, N);
  auto& dlogits = sized(s.dlogits, (size_t)N * V);
  logprobs_forward(lp.data(), m.logits(), tgt.data(), N, V);
  std::vector<float> sums(b.B, 0.0f), dc(P), dr(P);
  for (int r = 0; r < b.B; r++) {
    double acc = 0;
    for (int t = 0; t < T; t++) acc += (double)loss.weights[(size_t)r * T + t] * lp[(size_t)r * T + t];
    sums[r] = (float)acc;
  }
  std::vector<float> pc(P), pr(P);
  for (int i = 0; i < P; i++) {
    pc[i] = sums[2 * i];
    pr[i] = sums[2 * i + 1];
  }
  DpoStats st = dpo_loss(dc.data(), dr.data(), pc.data(), pr.data(), loss.ref_chosen.data(), loss.ref_rejected.data(),
                         loss.targets.data(), P, loss.beta, loss.dpo_kind);
  for (int r = 0; r < b.B; r++) {
    const float d = (r % 2 == 0 ? dc[r / 2] : dr[r / 2]) * loss.scale;
    for (int t = 0; t < T; t++) dlp[(size_t)r * T + t] = d * loss.weights[(size_t)r * T + t];
  }
  logprobs_backward(dlogits.data(), m.logits(), tgt.data(), dlp.data(), N, V);
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

}  // namespace rlcd
