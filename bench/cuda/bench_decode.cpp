// Decoding throughput of the engine on a backend (cpu or cuda) for a random LLaMA of 134M
// parameters (hidden 768, 12 layers, 12 heads, vocab 32000): greedy, fixed length, batch 1/16/64.
// Built by plain CMake (no Node): see bench/cuda/run.sh. Prints one JSON object.
//   bench_decode [cpu|cuda] [new_tokens]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/generate.h"
#include "model/transformer.h"

using namespace rlcd;

int main(int argc, char** argv) {
  const std::string device = argc > 1 ? argv[1] : "cuda";
  const int new_tokens = argc > 2 ? std::atoi(argv[2]) : 128;
  ModelConfig c;
  c.dim = 768;
  c.hidden_dim = 2048;
  c.n_layers = 12;
  c.n_heads = 12;
  c.n_kv_heads = 12;
  c.head_dim = 64;
  c.vocab_size = 32000;
  c.max_seq_len = 1024;
  c.tied_embeddings = false;
  ParameterTensors layout;
  layout.layout(c);
  std::vector<float> w(layout.total);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (float& x : w) x = normal(rng);
  for (int index : {kAttnNorm, kMlpNorm, kFinalNorm})
    std::fill(w.begin() + layout.offsets[index], w.begin() + layout.offsets[index] + layout.sizes[index], 1.0f);

  std::unique_ptr<Backend> gpu;
  Backend* backend = &cpu_backend();
  if (device != "cpu") {
    std::string why;
    gpu = make_cuda_backend(0, why);
    if (!gpu) {
      std::printf("{\"error\": \"%s\"}\n", why.c_str());
      return 1;
    }
    backend = gpu.get();
  }
  Transformer model(c, w.data(), w.size(), WeightType::F32, *backend);
  Vocabulary vocab;
  std::printf("{\"device\": \"%s\", \"params\": %zu, \"new_tokens\": %d, \"rows\": [", backend->name().c_str(), layout.total,
              new_tokens);
  const int batches[] = {1, 16, 64};
  for (int i = 0; i < 3; i++) {
    GenerateRequest req;
    req.max_new_tokens = new_tokens;
    req.ignore_eos = true;
    req.sampling.temperature = 0.0f;
    req.threads = 16;
    for (int b = 0; b < batches[i]; b++) req.prompts.push_back({1, 100 + b, 200 + b, 300 + b});
    generate(model, vocab, req);  // warm-up
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
      const auto t0 = std::chrono::steady_clock::now();
      GenerateResult out = generate(model, vocab, req);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::printf("%s{\"batch\": %d, \"tokens_per_s\": %.1f}", i ? ", " : "", batches[i], batches[i] * new_tokens / best);
  }
  std::printf("]}\n");
  return 0;
}
