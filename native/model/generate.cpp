#include "generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "../common/check.h"
#include "../kernels/softmax.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlcd {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Eos: return "eos";
    case FinishReason::Stop: return "stop";
    default: return "length";
  }
}

namespace {

// Rows per forward call while prefilling, to bound activation memory on long prompts.
constexpr int kPrefillRows = 512;

// Decode steps timed together by the thread tuner: one step of a small model takes tens of
// microseconds, and a block smooths out a single descheduled step.
constexpr int kTuneBlock = 8;

// The tuner's key: sequences per step, in powers of two (the cost per token falls as they grow).
int batch_bucket(int n_active) {
  int k = 0;
  while ((2 << k) <= n_active) k++;
  return k;
}

bool contains_new_stop(const std::string& text, size_t old_len, const std::vector<std::string>& stops) {
  for (const auto& s : stops) {
    if (s.empty() || text.size() < s.size()) continue;
    size_t from = old_len >= s.size() ? old_len - s.size() + 1 : 0;
    if (text.find(s, from) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

GenerateResult generate(const Transformer& model, const Vocabulary& vocab, const GenerateRequest& req,
                        const ProgressFn& progress, const StepFn& on_step) {
  const ModelConfig& c = model.config();
  const int B = (int)req.prompts.size();
  GenerateResult out;
  out.ids.resize(B);
  out.logprobs.resize(B);
  out.finish.assign(B, FinishReason::Length);
  if (B == 0) return out;

  int longest = 0;
  for (int b = 0; b < B; b++) {
    const auto& p = req.prompts[b];
    RLCD_REQUIRE(!p.empty(), "prompt ", b, " is empty: give at least one token (e.g. BOS)");
    RLCD_REQUIRE((int)p.size() < c.max_seq_len, "prompt ", b, " has ", p.size(),
                 " tokens; the model's context is ", c.max_seq_len);
    for (int t : p)
      RLCD_REQUIRE(t >= 0 && t < c.vocab_size, "prompt ", b, " has token id ", t,
                   " outside the vocabulary [0, ", c.vocab_size, ")");
    longest = std::max(longest, (int)p.size());
  }
  const int t_max = std::min(c.max_seq_len, longest + std::max(req.max_new_tokens, 0));

  std::vector<uint8_t> banned = vocab.tokens_containing(req.banned_strings, c.vocab_size);
  if (req.ignore_eos && c.eos_id >= 0) banned[c.eos_id] = 1;
  // One sampler (it holds scratch buffers) per thread: sequences are sampled in parallel.
  const int threads = std::max(1, req.threads);
  std::vector<Sampler> samplers;
  for (int i = 0; i < threads; i++) samplers.emplace_back(c.vocab_size, req.sampling, banned);
  std::vector<Rng> rngs;
  RLCD_REQUIRE(req.seeds.empty() || (int)req.seeds.size() == B, "seeds has ", req.seeds.size(), " entries for ", B, " prompts");
  for (int b = 0; b < B; b++) rngs.emplace_back(req.seeds.empty() ? req.seed + (uint64_t)b : req.seeds[b]);

  Transformer::WorkspaceLease workspace = model.workspace();
  KVCache& cache = workspace.cache();
  cache.init(model.backend(), c, B, t_max);
  Activations& acts = workspace.acts();
  TokenBatch batch;

  // Prefill: every prompt token, in chunks; the last token of each prompt yields logits.
  std::vector<float> logits((size_t)B * c.vocab_size);
  {
    int b = 0, t = 0;
    while (b < B) {
      batch.clear();
      std::vector<int> owners;  // sequence of each logit row
      while (b < B && batch.size() < kPrefillRows) {
        const auto& p = req.prompts[b];
        bool last = t == (int)p.size() - 1;
        batch.add(p[t], b, t, last);
        if (last) owners.push_back(b);
        if (++t == (int)p.size()) { b++; t = 0; }
      }
      model.forward(batch, cache, acts, req.threads);
      for (size_t i = 0; i < owners.size(); i++)
        std::copy_n(acts.host_logits() + i * c.vocab_size, c.vocab_size,
                    logits.data() + (size_t)owners[i] * c.vocab_size);
    }
  }

  std::vector<int> active(B);
  for (int b = 0; b < B; b++) active[b] = b;
  std::vector<std::string> text(B);
  std::vector<int> length(B);
  for (int b = 0; b < B; b++) length[b] = (int)req.prompts[b].size();
  long generated = 0;
  if (req.max_new_tokens <= 0) active.clear();

  // Decode steps run with the thread count the model's tuner finds fastest under the current load
  // (all threads on an idle machine, one when another process holds a core; see thread_tuner.h).
  TunerTable& tuners = model.decode_tuners();
  int bucket = -1, t = threads, block_steps = 0;
  long block_tokens = 0;
  ThreadTuner tuner(threads);
  auto block_start = std::chrono::steady_clock::now();
  auto end_block = [&]() {
    if (bucket < 0) return;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - block_start).count();
    tuner.report(t, s, (double)block_tokens);
    tuners.put(bucket, tuner);
    bucket = -1;
  };

  std::vector<std::pair<int, int>> step_tokens;
  while (!active.empty()) {
    if (req.cancel) {
      // Cancelled sequences leave before sampling; the rest go on exactly as before.
      std::vector<int> kept;
      for (int b : active) {
        if (req.cancel[b]) out.finish[b] = FinishReason::Length;
        else kept.push_back(b);
      }
      if (kept.size() != active.size()) {
        active.swap(kept);
        if (active.empty()) break;
        // The logits rows of the others are unchanged; only the batch shrank.
      }
    }
    if (bucket != batch_bucket((int)active.size()) || block_steps == kTuneBlock) {
      end_block();
      bucket = batch_bucket((int)active.size());
      tuner = tuners.get(bucket, threads, 16, 0.07);
      t = tuner.next();
      block_steps = 0;
      block_tokens = 0;
      block_start = std::chrono::steady_clock::now();
    }
    block_steps++;
    block_tokens += (long)active.size();
    // Sample one token for each running sequence, then decide whether it goes on.
    std::vector<int> next_active;
    batch.clear();
    const int n_active = (int)active.size();
#pragma omp parallel for num_threads(t) schedule(static) if (n_active > 1)
    for (int i = 0; i < n_active; i++) {
      int b = active[i];
      const float* row = logits.data() + (size_t)b * c.vocab_size;
#ifdef _OPENMP
      Sampler& sampler = samplers[omp_get_thread_num()];
#else
      Sampler& sampler = samplers[0];
#endif
      float lse = NAN;
      int tok = sampler.sample(row, rngs[b], &lse);
      if (std::isnan(lse)) lse = logsumexp(row, c.vocab_size);
      out.ids[b].push_back(tok);
      out.logprobs[b].push_back(row[tok] - lse);
    }
    for (int b : active) {
      int tok = out.ids[b].back();
      generated++;
      if (tok == c.eos_id && !req.ignore_eos) {
        out.finish[b] = FinishReason::Eos;
        continue;
      }
      if (!req.stop_strings.empty() && tok < (int)vocab.pieces.size()) {
        size_t old_len = text[b].size();
        text[b] += vocab.pieces[tok];
        if (contains_new_stop(text[b], old_len, req.stop_strings)) {
          out.finish[b] = FinishReason::Stop;
          continue;
        }
      }
      if ((int)out.ids[b].size() >= req.max_new_tokens || length[b] >= t_max) {
        out.finish[b] = FinishReason::Length;
        continue;
      }
      batch.add(tok, b, length[b]++, true);
      next_active.push_back(b);
    }
    if (on_step) {
      step_tokens.clear();
      for (int i = 0; i < n_active; i++) step_tokens.emplace_back(active[i], out.ids[active[i]].back());
      on_step(step_tokens);
    }
    active.swap(next_active);
    if (progress) progress(generated, (int)active.size());
    if (active.empty()) break;
    model.forward(batch, cache, acts, t);
    for (size_t i = 0; i < active.size(); i++)
      std::copy_n(acts.host_logits() + i * c.vocab_size, c.vocab_size,
                  logits.data() + (size_t)active[i] * c.vocab_size);
  }
  end_block();
  return out;
}

}  // namespace rlcd
