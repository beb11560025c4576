#include "causal_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "gemm.h"
#include "simd.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlcd {

namespace {

// Rows of queries handled together: the causal structure is used block by block (a block of
// rows only needs keys up to its last row), so about half of the T x T work is skipped.
constexpr int kRows = 64;

#ifdef __AVX512F__
// R rows of C (M x 16Z) (+)= A . B: Z zmm a row, R x Z accumulators, A broadcast in place through
// its strides, B's rows (a gathered head, contiguous) loaded whole. Each element is one FMA chain
// over k, as in the AVX2 tiles below and in gemm_serial's tile for a K within one k block: the
// same bits.
template <int R, int Z>
inline void head_rows(int K, const float* A, long ars, long acs, const float* B, long brs, float* C, long ldc, bool accumulate) {
  __m512 c[R][Z];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
    for (int z = 0; z < Z; z++) c[r][z] = _mm512_setzero_ps();
  for (int k = 0; k < K; k++) {
    __m512 b[Z];
    for (int z = 0; z < Z; z++) b[z] = _mm512_loadu_ps(B + (long)k * brs + 16 * z);
    const float* a = A + (long)k * acs;
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const __m512 x = _mm512_set1_ps(a[(long)r * ars]);
      for (int z = 0; z < Z; z++) c[r][z] = _mm512_fmadd_ps(x, b[z], c[r][z]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
    for (int z = 0; z < Z; z++) {
      float* dst = C + (long)r * ldc + 16 * z;
      _mm512_storeu_ps(dst, accumulate ? _mm512_add_ps(_mm512_loadu_ps(dst), c[r][z]) : c[r][z]);
    }
}

// M rows in tiles of R, then the rest (fewer than R) as one tile of their count.
template <int R, int Z>
void head_tiles(int M, int K, const float* A, long ars, long acs, const float* B, long brs, float* C, long ldc, bool accumulate) {
  int i = 0;
  for (; i + R <= M; i += R) head_rows<R, Z>(K, A + (long)i * ars, ars, acs, B, brs, C + (long)i * ldc, ldc, accumulate);
  if constexpr (R > 1)
    if (i < M) head_tiles<R - 1, Z>(M - i, K, A + (long)i * ars, ars, acs, B, brs, C + (long)i * ldc, ldc, accumulate);
}
#endif

// C (M x N) (+)= A (M x K) . B (K x N) for the products whose N is the head size: A is a T x T
// matrix (P, dS or their transposes) read in place through strides, B has contiguous rows. With
// N this small, packing A (as the general GEMM does) would cost as much as the arithmetic.
// On AVX2, tiles of 4 rows x 16 columns keep 8 accumulators in registers.
void gemm_small_n(int M, int N, int K, const float* A, long ars, long acs, const float* B, long brs, float* C,
                  long ldc, bool accumulate) {
#ifdef __AVX512F__
  // Heads of 32 (the 25.7M model's): tiles of 6 rows x 2 zmm. Against gemm_serial, which packs A
  // (P or dS, up to 64 x 256) for each product, with the heads gathered as below: attention
  // 1.07-1.12x forward and 1.26-1.36x backward on two threads (Zen 4; the gathering alone gave
  // 1.01x and 1.07x). Heads of 16 (the built-in model's): 8 rows x 1 zmm.
  if (N == 32) return head_tiles<6, 2>(M, K, A, ars, acs, B, brs, C, ldc, accumulate);
  if (N == 16) return head_tiles<8, 1>(M, K, A, ars, acs, B, brs, C, ldc, accumulate);
#endif
#ifdef RLCD_AVX2
  if (N % 8 == 0) {
    int i = 0;
    for (; i + 4 <= M; i += 4) {
      const float* a0 = A + (long)i * ars;
      const float* a1 = a0 + ars;
      const float* a2 = a1 + ars;
      const float* a3 = a2 + ars;
      for (int j = 0; j < N; j += 16) {
        const bool two = j + 16 <= N;
        __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (int k = 0; k < K; k++) {
          const float* bk = B + (long)k * brs + j;
          const __m256 b0 = _mm256_loadu_ps(bk);
          const __m256 b1 = two ? _mm256_loadu_ps(bk + 8) : _mm256_setzero_ps();
          const long ko = (long)k * acs;
          __m256 x = _mm256_broadcast_ss(a0 + ko);
          c00 = _mm256_fmadd_ps(x, b0, c00);
          c01 = _mm256_fmadd_ps(x, b1, c01);
          x = _mm256_broadcast_ss(a1 + ko);
          c10 = _mm256_fmadd_ps(x, b0, c10);
          c11 = _mm256_fmadd_ps(x, b1, c11);
          x = _mm256_broadcast_ss(a2 + ko);
          c20 = _mm256_fmadd_ps(x, b0, c20);
          c21 = _mm256_fmadd_ps(x, b1, c21);
          x = _mm256_broadcast_ss(a3 + ko);
          c30 = _mm256_fmadd_ps(x, b0, c30);
          c31 = _mm256_fmadd_ps(x, b1, c31);
        }
        const __m256 acc[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
        for (int r = 0; r < 4; r++) {
          float* dst = C + (long)(i + r) * ldc + j;
          for (int h = 0; h < (two ? 2 : 1); h++) {
            __m256 v = acc[r][h];
            if (accumulate) v = _mm256_add_ps(_mm256_loadu_ps(dst + 8 * h), v);
            _mm256_storeu_ps(dst + 8 * h, v);
          }
        }
      }
    }
    for (; i < M; i++) {
      const float* a = A + (long)i * ars;
      for (int j = 0; j < N; j += 8) {
        __m256 c = _mm256_setzero_ps();
        for (int k = 0; k < K; k++) c = _mm256_fmadd_ps(_mm256_broadcast_ss(a + (long)k * acs), _mm256_loadu_ps(B + (long)k * brs + j), c);
        float* dst = C + (long)i * ldc + j;
        if (accumulate) c = _mm256_add_ps(_mm256_loadu_ps(dst), c);
        _mm256_storeu_ps(dst, c);
      }
    }
    return;
  }
#endif
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float acc = 0.0f;
      for (int k = 0; k < K; k++) acc += A[(long)i * ars + (long)k * acs] * B[(long)k * brs + j];
      float* dst = C + (long)i * ldc + j;
      *dst = accumulate ? *dst + acc : acc;
    }
}

// The head-size-wide products: small heads (under 32 columns, where the packed GEMM's 16/32-wide
// tiles run half empty and packing dominates; 32 too on AVX-512) go through gemm_small_n, wider
// ones through the GEMM.
void head_product(int M, int N, int K, const float* A, long ars, long acs, const float* B, long brs, float* C,
                  long ldc, bool accumulate) {
#ifdef __AVX512F__
  if (N <= 32) gemm_small_n(M, N, K, A, ars, acs, B, brs, C, ldc, accumulate);
#else
  if (N < 32) gemm_small_n(M, N, K, A, ars, acs, B, brs, C, ldc, accumulate);
#endif
  else gemm_serial(M, N, K, Strided{A, ars, acs}, Strided{B, brs, 1}, C, ldc, accumulate);
}

float* thread_scratch(float* scratch, long per_thread) {
#ifdef _OPENMP
  return scratch + (long)omp_get_thread_num() * per_thread;
#else
  return scratch;
#endif
}

// A head's rows (T, HS) of a strided view, copied together. In place they are rows of qkv or of
// the attention output, 2-4 KiB apart for the 25.7M model: all in a few L1 sets, so every product
// reading them (and every row block re-reads them) missed L1.
void gather_head(float* dst, const float* src, long stride, int T, int HS) {
  for (int t = 0; t < T; t++) std::memcpy(dst + (long)t * HS, src + (long)t * stride, sizeof(float) * HS);
}

}  // namespace

// dS (T x T) in the backward pass, and a head's Q, K, V, dO, dK and dV gathered (6 x T x HS).
long causal_attention_scratch(int T, int HS) { return (long)T * T + 6L * T * HS; }

// Per (sequence, query head), with Q, K, V (T, HS) views into qkv (row stride `stride`):
//   S = Q K^T * scale,  P = causal softmax(S),  O = P V
// computed with the GEMM kernel (gemm_serial: one work item is one thread's share) on row blocks
// of kRows queries against the keys up to the block's end. P keeps zeros above the diagonal.
void causal_attention_forward(float* out, float* probs, const float* qkv, long stride, int B, int T,
                              int NH, int NKV, int HS, float* scratch) {
  const int QD = NH * HS, KVD = NKV * HS, group = NH / NKV;
  const float scale = 1.0f / std::sqrt((float)HS);
  const long per_thread = causal_attention_scratch(T, HS);
  const long items = (long)B * NH;
#pragma omp for schedule(dynamic, 1)
  for (long item = 0; item < items; item++) {
    const int b = (int)(item / NH), h = (int)(item % NH), kvh = h / group;
    const float* base = qkv + (long)b * T * stride;
    // Q, K, V of this head, (T, HS) each, in the thread's scratch
    float* q = thread_scratch(scratch, per_thread);
    float* k = q + (long)T * HS;
    float* v = k + (long)T * HS;
    gather_head(q, base + (long)h * HS, stride, T, HS);
    gather_head(k, base + QD + (long)kvh * HS, stride, T, HS);
    gather_head(v, base + QD + KVD + (long)kvh * HS, stride, T, HS);
    float* p = probs + ((long)b * NH + h) * T * T;
    for (int r0 = 0; r0 < T; r0 += kRows) {
      const int rows = std::min(kRows, T - r0), keys = r0 + rows;
      // S rows r0.. against keys 0..keys-1: A = Q rows, B[d, s] = K[s, d]
      gemm_serial(rows, keys, HS, Strided{q + (long)r0 * HS, HS, 1}, Strided{k, 1, HS}, p + (long)r0 * T, T, false);
      for (int t = r0; t < r0 + rows; t++) {
        float* row = p + (long)t * T;
        const int n = t + 1;
        for (int s = 0; s < n; s++) row[s] *= scale;
        const float mx = max_of(row, n);
        const float inv = 1.0f / exp_shifted(row, row, mx, n);
        for (int s = 0; s < n; s++) row[s] *= inv;
        std::memset(row + n, 0, sizeof(float) * (T - n));
      }
      // O rows r0.. = P rows (keys 0..keys-1) . V
      head_product(rows, HS, keys, p + (long)r0 * T, T, 1, v, HS, out + ((long)b * T + r0) * QD + (long)h * HS, QD, false);
    }
  }
}

// With dO the output gradient of one (sequence, head):
//   dP = dO V^T,  dS = P (dP - rowsum(P dP)) * scale,  dQ = dS K,  dK += dS^T Q,  dV += P^T dO
// Query heads of a GQA group add into the same dK/dV, so one work item serves the whole group,
// one head after another. dS and the gathered heads live in the thread's scratch.
void causal_attention_backward(float* dqkv, const float* dout, const float* probs, const float* qkv,
                               long stride, int B, int T, int NH, int NKV, int HS, float* scratch) {
  const int QD = NH * HS, KVD = NKV * HS, group = NH / NKV;
  const float scale = 1.0f / std::sqrt((float)HS);
  const long per_thread = causal_attention_scratch(T, HS);
  const long items = (long)B * NKV;
#pragma omp for schedule(dynamic, 1)
  for (long item = 0; item < items; item++) {
    const int b = (int)(item / NKV), kvh = (int)(item % NKV);
    // dS (T, T), then this KV head's K, V, dK and dV and each query head's Q and dO, (T, HS) each
    float* ds = thread_scratch(scratch, per_thread);
    float* k = ds + (long)T * T;
    float* v = k + (long)T * HS;
    float* dk = v + (long)T * HS;
    float* dv = dk + (long)T * HS;
    float* q = dv + (long)T * HS;
    float* dy = q + (long)T * HS;
    const float* base = qkv + (long)b * T * stride;
    float* dbase = dqkv + (long)b * T * stride;
    gather_head(k, base + QD + (long)kvh * HS, stride, T, HS);
    gather_head(v, base + QD + KVD + (long)kvh * HS, stride, T, HS);
    std::memset(dk, 0, sizeof(float) * T * HS);
    std::memset(dv, 0, sizeof(float) * T * HS);
    for (int h = kvh * group; h < (kvh + 1) * group; h++) {
      const float* p = probs + ((long)b * NH + h) * T * T;
      gather_head(dy, dout + (long)b * T * QD + (long)h * HS, QD, T, HS);
      gather_head(q, base + (long)h * HS, stride, T, HS);
      float* dq = dbase + (long)h * HS;
      for (int r0 = 0; r0 < T; r0 += kRows) {
        const int rows = std::min(kRows, T - r0), keys = r0 + rows;
        // dP rows r0.. = dO rows . V^T (keys 0..keys-1)
        gemm_serial(rows, keys, HS, Strided{dy + (long)r0 * HS, HS, 1}, Strided{v, 1, HS}, ds + (long)r0 * T, T, false);
        for (int t = r0; t < r0 + rows; t++) {
          const float* pr = p + (long)t * T;
          float* d = ds + (long)t * T;
          const int n = t + 1;
          const float sum = dot(pr, d, n);
          for (int s = 0; s < n; s++) d[s] = pr[s] * (d[s] - sum) * scale;
          std::memset(d + n, 0, sizeof(float) * (keys - n));
        }
        // dQ rows r0.. = dS rows . K
        head_product(rows, HS, keys, ds + (long)r0 * T, T, 1, k, HS, dq + (long)r0 * stride, stride, false);
      }
      // dK rows s0.. += dS^T . Q and dV rows s0.. += P^T . dO, over the queries t >= s0.
      for (int s0 = 0; s0 < T; s0 += kRows) {
        const int rows = std::min(kRows, T - s0), queries = T - s0;
        head_product(rows, HS, queries, ds + (long)s0 * T + s0, 1, T, q + (long)s0 * HS, HS, dk + (long)s0 * HS, HS, true);
        head_product(rows, HS, queries, p + (long)s0 * T + s0, 1, T, dy + (long)s0 * HS, HS, dv + (long)s0 * HS, HS, true);
      }
    }
    for (int t = 0; t < T; t++) {
      std::memcpy(dbase + QD + (long)kvh * HS + (long)t * stride, dk + (long)t * HS, sizeof(float) * HS);
      std::memcpy(dbase + QD + KVD + (long)kvh * HS + (long)t * stride, dv + (long)t * HS, sizeof(float) * HS);
    }
  }
}

}  // namespace rlcd
