// Shared pieces of the CUDA backend: error checks, launch shapes, warp/block reductions, the grow-only
// device workspace, and the launchers each .cu file provides to cuda_backend.cu (one concern a file:
// gemm.cu, matrix.cu, elementwise.cu, attention.cu, losses.cu). Every launcher enqueues on `stream`
// and never synchronises; the backend's run() is the sync point.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "../backend/backend.h"
#include "../common/check.h"

namespace rlcd {
namespace cuda {

// Throws rlcd::Error (a std::runtime_error) naming the op and the CUDA error.
inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw Error(concat("CUDA error in ", what, ": ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ")"));
}
// After a kernel launch: a bad configuration shows up here (execution errors surface at the sync).
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

constexpr int kThreads = 256;  // threads of a 1-D elementwise launch

// Blocks for a grid-stride loop over n elements (capped: the loop covers the rest).
inline unsigned grid_for(long n, int threads = kThreads) {
  long blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > 65535L * 8) blocks = 65535L * 8;
  return (unsigned)blocks;
}

#ifdef __CUDACC__
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;  // every lane holds the same (bitwise) total: each step adds a symmetric pair
}
__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over a block of blockDim.x threads (a multiple of 32, at most 1024) in a fixed order; every
// thread gets the result. `shared` holds 32 floats; the call ends with the buffer free for reuse.
__device__ __forceinline__ float block_sum(float v, float* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // the buffer may still be read by an earlier reduction
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float t = lane < warps ? shared[lane] : 0.0f;
  return warp_sum(t);
}
__device__ __forceinline__ float block_max(float v, float* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float t = lane < warps ? shared[lane] : -INFINITY;
  return warp_max(t);
}
#endif

// Device scratch that only grows; one per backend. Ops run in stream order, so one op's scratch is
// free again when the next op starts. Growing frees the old block (cudaFree waits for the device).
class Workspace {
 public:
  ~Workspace() {
    if (ptr_) cudaFree(ptr_);
  }
  void* get(size_t bytes, const char* what) {
    if (bytes > bytes_) {
      if (ptr_) check(cudaFree(ptr_), what);
      ptr_ = nullptr;
      bytes_ = 0;
      const size_t want = bytes + bytes / 4;
      check(cudaMalloc(&ptr_, want), what);
      bytes_ = want;
    }
    return ptr_;
  }
  float* floats(size_t n, const char* what) { return static_cast<float*>(get(n * sizeof(float), what)); }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// What the launchers need of the backend.
struct Ctx {
  cudaStream_t stream;
  int sms;          // multiprocessors (tile-size choice)
  Workspace* ws;    // scratch
};

// ---- gemm.cu ---------------------------------------------------------------------------------
// Offset of batch z: (z / inner) * s_outer + ((z % inner) / div) * s_inner (elements). Covers the
// attention layouts: z = b * NH + h, with GQA's kv head h / group.
struct BatchMap {
  int inner = 1, div = 1;
  long s_outer = 0, s_inner = 0;
#ifdef __CUDACC__
  __host__ __device__ long operator()(int z) const { return (long)(z / inner) * s_outer + (long)((z % inner) / div) * s_inner; }
#endif
};

// Which k a tile sums, for the causal attention products (all exact: the skipped terms are zeros).
enum class Causal : int {
  None = 0,
  SkipUpper = 1,     // tiles wholly above the diagonal (first column > last row) are not computed
  KEndAtTile = 2,    // k < min(K, m0 + BM): rows of P / dS are zero past the diagonal
  KBeginAtTile = 3,  // k >= m0: columns of dS^T / P^T are zero before the diagonal
};

// C_z (M, N) (+)= A_z (M, K) . B_z (K, N); element (i, k) of A at A[i * a_rs + k * a_cs], (k, n) of
// B at B[k * b_rs + n * b_cs], each plus its batch offset; z < batches. Every output is one FMA
// chain over k in increasing order (deterministic; independent of the tile size chosen).
void gemm_strided(const Ctx& ctx, int M, int N, int K, const float* A, long a_rs, long a_cs, BatchMap a_map,
                  const float* B, long b_rs, long b_cs, BatchMap b_map, float* C, long ldc, BatchMap c_map,
                  int batches, bool accumulate, Causal causal, const char* what);

// ---- matrix.cu -------------------------------------------------------------------------------
// Packs on the host exactly as pack_weight does (q8_0 scales, the f16 fallback), then copies the
// row-major (N, K) result to the device.
std::unique_ptr<Matrix> pack_matrix(const Ctx& ctx, SourceWeights host, int N, int K, WeightType type);
void matmul(const Ctx& ctx, float* out, const float* inp, const Matrix& w, const float* bias, int M, bool accumulate);
void unpack(const Ctx& ctx, float* out, const Matrix& w);

// ---- elementwise.cu --------------------------------------------------------------------------
void copy(const Ctx& ctx, float* dst, const float* src, long n);
void zero(const Ctx& ctx, float* dst, long n);
void add(const Ctx& ctx, float* out, const float* a, const float* b, long n);
void scale(const Ctx& ctx, float* out, const float* x, float s, long n);
void add_bias(const Ctx& ctx, float* y, long ldy, const float* bias, int M, int N);
void column_sums(const Ctx& ctx, float* dbias, const float* dy, long lddy, int M, int N);
void gather_rows(const Ctx& ctx, float* out, const float* x, const int* rows, int R, int C);
void scatter_add_rows(const Ctx& ctx, float* dx, const float* src, const int* rows, int R, int C);
void embedding_forward(const Ctx& ctx, float* out, const int* tokens, const float* table, int N, int C);
void embedding_backward(const Ctx& ctx, float* dtable, const float* dout, const int* tokens, int N, int C);
void rmsnorm_forward(const Ctx& ctx, float* out, const float* inp, const int* rows, const float* weight, int N, int C,
                     float eps, float* rstd);
void rmsnorm_backward(const Ctx& ctx, float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int N, int C);
// cos/sin: the model's table in device memory, (positions, half) each; sign +1 forward, -1 backward.
void rope(const Ctx& ctx, float* x, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
          const float* cos, const float* sin, float sign);
void rope_and_cache(const Ctx& ctx, float* qkv, long stride, const int* pos, const int* slot, int N, int NH, int NKV,
                    int HS, RopeStyle style, const float* cos, const float* sin, const KVView& cache);
void swiglu_forward(const Ctx& ctx, float* out, const float* gate_up, int N, int H);
void swiglu_backward(const Ctx& ctx, float* dgate_up, const float* dout, const float* gate_up, int N, int H);
void head_forward(const Ctx& ctx, float* out, const float* x, const float* w, int N, int C);
void head_backward(const Ctx& ctx, float* dx, float* dw, const float* dout, const float* x, const float* w, int N, int C);

// ---- attention.cu ----------------------------------------------------------------------------
void attention_decode(const Ctx& ctx, float* out, const float* q, long q_stride, const int* slot, const int* pos,
                      const KVView& cache, int N, int NH, int NKV, int HS);
void causal_attention_forward(const Ctx& ctx, float* out, float* probs, const float* qkv, long stride, int B, int T,
                              int NH, int NKV, int HS);
void causal_attention_backward(const Ctx& ctx, float* dqkv, const float* dout, const float* probs, const float* qkv,
                               long stride, int B, int T, int NH, int NKV, int HS);

// ---- losses.cu -------------------------------------------------------------------------------
// logprobs and/or entropy (either may be null; targets is read only for logprobs).
void logprobs_forward(const Ctx& ctx, float* logprobs, float* entropy, const float* logits, const int* targets, int N,
                      int V);
void logprobs_backward(const Ctx& ctx, float* dlogits, const float* logits, const int* targets, const float* dlogprobs,
                       int N, int V);
void entropy_backward(const Ctx& ctx, float* dlogits, const float* logits, const float* dentropy, int N, int V);
double sum_squares(const Ctx& ctx, const float* g, long n);  // synchronises (returns a host value)
void adamw(const Ctx& ctx, float* param, float* grad, float* m, float* v, long n, const AdamWConfig& cfg, long step,
           float grad_scale);

}  // namespace cuda
}  // namespace rlcd
