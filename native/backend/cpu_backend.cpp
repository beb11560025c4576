// The CPU backend: every op is the kernel of native/kernels (or losses/, optim/) of the same name,
// called by each thread of the team that run() opens; the kernels share out their loops among it.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>


#include "../common/aligned_buffer.h"
#include "../common/check.h"
#include "../kernels/attention.h"
#include "../kernels/causal_attention.h"
#include "../kernels/embedding.h"
#include "../kernels/gemm.h"
#include "../kernels/rmsnorm.h"
#include "../kernels/simd.h"
#include "../kernels/swiglu.h"
#include "../losses/logprobs.h"
#include "backend.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlcd {

namespace {

class CpuMatrix final : public Matrix {
 public:
  PackedMatrix packed;
  int rows() const override { return packed.N; }
  int cols() const override { return packed.K; }
  WeightType type() const override { return packed.type; }
  size_t bytes() const override { return packed.bytes(); }
};

int team_size() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// Scratch for one op, shared by the team: one thread's buffer (kept for its next use), its address
// given to all (copyprivate ends in a barrier). Two teams never share one: each runs on its own threads.
float* team_scratch(size_t floats) {
  float* p = nullptr;
#pragma omp single copyprivate(p)
  {
    static thread_local std::vector<float> buffer;
    if (buffer.size() < floats) buffer.resize(floats);
    p = buffer.data();
  }
  return p;
}

class CpuBackend final : public Backend {
 public:
  DeviceKind kind() const override { return DeviceKind::Cpu; }
  std::string name() const override { return "cpu"; }

  void* allocate(size_t bytes) override { return allocate_zeroed(bytes); }
  void release(void* ptr) override { std::free(ptr); }
  void upload(void* dst, const void* host, size_t bytes) override { std::memcpy(dst, host, bytes); }
  void download(void* host, const void* src, size_t bytes) override { std::memcpy(host, src, bytes); }

  void run(int threads, const std::function<void()>& step) override {
#pragma omp parallel num_threads(std::max(threads, 1))
    step();
  }

  std::unique_ptr<Matrix> pack(SourceWeights host, int N, int K, WeightType type) override {
    auto m = std::make_unique<CpuMatrix>();
    pack_weight(m->packed, host, N, K, type);
    return m;
  }

  void copy(float* dst, const float* src, long n) override {
#pragma omp for schedule(static)
    for (long i = 0; i < n; i += 4096) std::memcpy(dst + i, src + i, sizeof(float) * std::min(4096L, n - i));
  }
  void zero(float* dst, long n) override {
#pragma omp for schedule(static)
    for (long i = 0; i < n; i += 4096) std::memset(dst + i, 0, sizeof(float) * std::min(4096L, n - i));
  }
  void add(float* out, const float* a, const float* b, long n) override {
#pragma omp for schedule(static)
    for (long i = 0; i < n; i++) out[i] = a[i] + b[i];
  }
  void scale(float* out, const float* x, float s, long n) override {
#pragma omp for schedule(static)
    for (long i = 0; i < n; i++) out[i] = x[i] * s;
  }
  void add_bias(float* y, long ldy, const float* bias, int M, int N) override {
#pragma omp for schedule(static)
    for (int n = 0; n < M; n++)
      for (int j = 0; j < N; j++) y[(long)n * ldy + j] += bias[j];
  }
  void column_sums(float* dbias, const float* dy, long lddy, int M, int N) override {
#pragma omp for schedule(static)
    for (int c = 0; c < N; c++) {
      float s = 0.0f;
      for (int n = 0; n < M; n++) s += dy[(long)n * lddy + c];
      dbias[c] += s;
    }
  }
  void gather_rows(float* out, const float* x, const int* rows, int R, int C) override {
#pragma omp for schedule(static)
    for (int i = 0; i < R; i++) std::memcpy(out + (long)i * C, x + (long)rows[i] * C, sizeof(float) * C);
  }
  void scatter_add_rows(float* dx, const float* src, const int* rows, int R, int C) override {
    // Rows are distinct (ascending positions), so rows never collide across threads.
#pragma omp for schedule(static)
    for (int i = 0; i < R; i++) {
      float* d = dx + (long)rows[i] * C;
      const float* s = src + (long)i * C;
      for (int j = 0; j < C; j++) d[j] += s[j];
    }
  }

  void gemm(int M, int N, int K, View2D A, View2D B, float* C, long ldc, bool accumulate) override {
    rlcd::gemm(M, N, K, Strided{A.data, A.rs, A.cs}, Strided{B.data, B.rs, B.cs}, C, ldc, accumulate);
  }
  void matmul(float* out, const float* inp, const Matrix& w, const float* bias, int M, bool accumulate) override {
    matmul_packed_forward(out, inp, static_cast<const CpuMatrix&>(w).packed, bias, M, accumulate);
  }
  void unpack(float* out, const Matrix& w) override { unpack_weight(out, static_cast<const CpuMatrix&>(w).packed); }

  void embedding_forward(float* out, const int* tokens, const float* table, int N, int C) override {
    rlcd::embedding_forward(out, tokens, table, N, C);
  }
  void embedding_backward(float* dtable, const float* dout, const int* tokens, int N, int C) override {
    rlcd::embedding_backward(dtable, dout, tokens, N, C);
  }
  void rmsnorm_forward(float* out, const float* inp, const float* weight, int N, int C, float eps, float* rstd) override {
    rlcd::rmsnorm_forward(out, inp, weight, N, C, eps, rstd);
  }
  void rmsnorm_rows(float* out, const float* inp, const int* rows, const float* weight, int R, int C, float eps) override {
#pragma omp for schedule(static)
    for (int i = 0; i < R; i++) rmsnorm_row(out + (long)i * C, inp + (long)rows[i] * C, weight, C, eps);
  }
  void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                        const float* rstd, int N, int C) override {
    rlcd::rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, C);
  }
  void rope_forward(float* x, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
                    const RopeTable& table) override {
    rlcd::rope_forward(x, stride, pos, N, heads, HS, style, table);
  }
  void rope_backward(float* dx, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
                     const RopeTable& table) override {
    rlcd::rope_backward(dx, stride, pos, N, heads, HS, style, table);
  }
  void rope_and_cache(float* qkv, long stride, const int* pos, const int* slot, int N, int NH, int NKV, int HS,
                      RopeStyle style, const RopeTable& table, const KVView& cache) override {
    const int QD = NH * HS, KVD = cache.kvd;
    // One pass and one barrier: RoPE on the row's q and k, then its k and v into the cache.
#pragma omp for schedule(static)
    for (int n = 0; n < N; n++) {
      float* q = qkv + (long)n * stride;
      float* k = q + QD;
      rope_forward_row(q, pos[n], NH, HS, style, table);
      rope_forward_row(k, pos[n], NKV, HS, style, table);
      const size_t off = ((size_t)slot[n] * cache.t_max + pos[n]) * KVD;
      std::memcpy(cache.k + off, k, sizeof(float) * KVD);
      std::memcpy(cache.v + off, k + KVD, sizeof(float) * KVD);
    }
  }
  void attention_decode(float* out, const float* q, long q_stride, const int* slot, const int* pos, const KVView& cache,
                        int N, int NH, int NKV, int HS) override {
    float* scratch = team_scratch((size_t)team_size() * cache.t_max);
    attention_forward(out, q, q_stride, slot, pos, LayerCache{cache.k, cache.v, cache.t_max, cache.kvd}, N, NH, NKV, HS,
                      scratch);
  }
  long causal_attention_state_floats(int B, int T, int NH) const override { return (long)B * NH * T; }
  void causal_attention_forward(float* out, float* lse, const float* qkv, long stride, int B, int T, int NH, int NKV,
                                int HS) override {
    float* scratch = team_scratch((size_t)(team_size() + 1) * causal_attention_scratch(T, HS));
    rlcd::causal_attention_forward(out, lse, qkv, stride, B, T, NH, NKV, HS, scratch);
  }
  void causal_attention_backward(float* dqkv, const float* dout, const float* lse, const float* qkv, long stride, int B,
                                 int T, int NH, int NKV, int HS) override {
    float* scratch = team_scratch((size_t)(team_size() + 1) * causal_attention_scratch(T, HS));
    rlcd::causal_attention_backward(dqkv, dout, lse, qkv, stride, B, T, NH, NKV, HS, scratch);
  }
  void swiglu_forward(float* out, const float* gate_up, int N, int H) override { rlcd::swiglu_forward(out, gate_up, N, H); }
  void swiglu_backward(float* dgate_up, const float* dout, const float* gate_up, int N, int H) override {
    rlcd::swiglu_backward(dgate_up, dout, gate_up, N, H);
  }
  void head_forward(float* out, const float* x, const float* w, int N, int C) override {
#pragma omp for schedule(static)
    for (int n = 0; n < N; n++) out[n] = dot(x + (long)n * C, w, C) + w[C];
  }
  void head_backward(float* dx, float* dw, const float* dout, const float* x, const float* w, int N, int C) override {
#pragma omp for schedule(static)
    for (int n = 0; n < N; n++)
      for (int j = 0; j < C; j++) dx[(long)n * C + j] += dout[n] * w[j];
#pragma omp for schedule(static)
    for (int j = 0; j < C; j++) {
      float s = 0.0f;
      for (int n = 0; n < N; n++) s += dout[n] * x[(long)n * C + j];
      dw[j] += s;
    }
#pragma omp single
    {
      float s = 0.0f;
      for (int n = 0; n < N; n++) s += dout[n];
      dw[C] += s;
    }
  }

  void logprobs_forward(float* logprobs, const float* logits, const int* targets, int N, int V) override {
    rlcd::logprobs_forward(logprobs, logits, targets, N, V);
  }
  void logprobs_backward(float* dlogits, const float* logits, const int* targets, const float* dlogprobs, int N,
                         int V) override {
    rlcd::logprobs_backward(dlogits, logits, targets, dlogprobs, N, V);
  }
  void logprobs_entropy_forward(float* logprobs, float* entropy, const float* logits, const int* targets, int N,
                                int V) override {
    rlcd::logprobs_entropy_forward(logprobs, entropy, logits, targets, N, V);
  }
  void entropy_forward(float* entropy, const float* logits, int N, int V) override {
    rlcd::entropy_forward(entropy, logits, N, V);
  }
  void entropy_backward(float* dlogits, const float* logits, const float* dentropy, int N, int V) override {
    rlcd::entropy_backward(dlogits, logits, dentropy, N, V);
  }
  double sum_squares(const float* g, long n) override {
    return sum_of_squares(g, (size_t)n);
  }
  void adamw(float* param, float* grad, float* m, float* v, long n, const AdamWConfig& cfg, long step,
             float grad_scale) override {
    if (grad_scale != 1.0f)
      for (long i = 0; i < n; i++) grad[i] *= grad_scale;
    adamw_update(param, grad, m, v, (size_t)n, cfg, step);
  }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

#ifndef RLCD_CUDA
std::unique_ptr<Backend> make_cuda_backend(int, std::string& why_not) {
  why_not = "this build of rlcd has no CUDA backend (build it with `npm run build:native:cuda`, which needs nvcc)";
  return nullptr;
}
#endif

}  // namespace rlcd
