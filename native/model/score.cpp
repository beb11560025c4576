#include "score.h"

#include <algorithm>

#include "../common/check.h"
#include "../kernels/softmax.h"

namespace rlcd {

namespace {

constexpr int kRowsPerForward = 512;
// Scoring runs sequences through the cache in groups small enough to keep it under this size.
constexpr size_t kCacheBudgetFloats = (size_t)64 << 20;  // 256 MiB

void check_ids(const ModelConfig& c, const std::vector<int>& ids, const char* what, size_t index) {
  for (int t : ids)
    RLCD_REQUIRE(t >= 0 && t < c.vocab_size, what, " ", index, " has token id ", t,
                 " outside the vocabulary [0, ", c.vocab_size, ")");
}

}  // namespace

std::vector<std::vector<float>> score_continuations(const Transformer& model,
                                                    const std::vector<std::vector<int>>& prompts,
                                                    const std::vector<std::vector<int>>& continuations,
                                                    int threads) {
  const ModelConfig& c = model.config();
  RLCD_REQUIRE(prompts.size() == continuations.size(), "got ", prompts.size(), " prompts but ",
               continuations.size(), " continuations");
  const size_t B = prompts.size();
  int longest = 1;
  for (size_t i = 0; i < B; i++) {
    RLCD_REQUIRE(!prompts[i].empty(), "prompt ", i, " is empty: give at least one token (e.g. BOS)");
    check_ids(c, prompts[i], "prompt", i);
    check_ids(c, continuations[i], "continuation", i);
    size_t len = prompts[i].size() + continuations[i].size();
    RLCD_REQUIRE(len <= (size_t)c.max_seq_len, "sequence ", i, " has ", len,
                 " tokens; the model's context is ", c.max_seq_len);
    longest = std::max(longest, (int)len);
  }
  std::vector<std::vector<float>> out(B);
  const size_t per_slot = (size_t)2 * c.n_layers * longest * c.kv_dim();
  const size_t group = std::max<size_t>(1, std::min(B, kCacheBudgetFloats / std::max<size_t>(per_slot, 1)));
  Transformer::WorkspaceLease workspace = model.workspace();
  KVCache& cache = workspace.cache();
  cache.init(model.backend(), c, (int)std::min(group, std::max<size_t>(B, 1)), longest);
  Activations& acts = workspace.acts();
  TokenBatch batch;
  struct Want { size_t seq; int index; int target; };
  std::vector<Want> wants;

  for (size_t g0 = 0; g0 < B; g0 += group) {
    const size_t g1 = std::min(B, g0 + group);
    size_t i = g0;
    int t = 0;
    while (i < g1) {
      batch.clear();
      wants.clear();
      while (i < g1 && batch.size() < kRowsPerForward) {
        const auto& p = prompts[i];
        const auto& cont = continuations[i];
        const int plen = (int)p.size(), len = plen + (int)cont.size();
        if (cont.empty()) { i++; t = 0; continue; }
        int tok = t < plen ? p[t] : cont[t - plen];
        // Logits at position t predict token t + 1, which is a continuation token from plen - 1 on.
        bool want = t >= plen - 1 && t + 1 < len;
        batch.add(tok, (int)(i - g0), t, want);
        if (want) wants.push_back({i, t + 1 - plen, cont[t + 1 - plen]});
        if (++t == len - 1) { i++; t = 0; }  // the last token predicts nothing: never fed
      }
      if (batch.size() == 0) continue;
      model.forward(batch, cache, acts, threads);
      for (size_t w = 0; w < wants.size(); w++) {
        const float* row = acts.host_logits() + w * c.vocab_size;
        auto& dst = out[wants[w].seq];
        if (dst.empty()) dst.resize(continuations[wants[w].seq].size());
        dst[wants[w].index] = row[wants[w].target] - logsumexp(row, c.vocab_size);
      }
    }
  }
  return out;
}

std::vector<float> sequence_logits(const Transformer& model, const std::vector<int>& ids, int threads) {
  const ModelConfig& c = model.config();
  RLCD_REQUIRE(!ids.empty(), "ids must not be empty");
  RLCD_REQUIRE(ids.size() <= (size_t)c.max_seq_len, "sequence has ", ids.size(),
               " tokens; the model's context is ", c.max_seq_len);
  check_ids(c, ids, "sequence", 0);
  Transformer::WorkspaceLease workspace = model.workspace();
  KVCache& cache = workspace.cache();
  cache.init(model.backend(), c, 1, (int)ids.size());
  Activations& acts = workspace.acts();
  std::vector<float> out(ids.size() * (size_t)c.vocab_size);
  TokenBatch batch;
  for (size_t t0 = 0; t0 < ids.size(); t0 += kRowsPerForward) {
    batch.clear();
    for (size_t t = t0; t < std::min(ids.size(), t0 + kRowsPerForward); t++) batch.add(ids[t], 0, (int)t, true);
    model.forward(batch, cache, acts, threads);
    std::copy_n(acts.host_logits(), (size_t)batch.size() * c.vocab_size, out.data() + t0 * c.vocab_size);
  }
  return out;
}

}  // namespace rlcd
