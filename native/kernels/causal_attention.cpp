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

// R rows of a score block, S (M x cols) = (A . B) * scale, in panels of 32 columns: A's rows (a
// gathered Q or dO) read in place, B a transposed head (K x >= cols, contiguous rows, padded so a
// panel never reads past it), stores masked to `cols`. The FMA chains are gemm_serial's for a K
// within one k block, and the scale is the same one multiplication after: the same bits as
// gemm_serial followed by a scaling pass, without packing B for every block of rows.
template <int R>
inline void score_rows(int K, const float* A, long ars, const float* B, long brs, float* C, long ldc, int cols,
                       bool scaled, float scale) {
  __m512 c[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
  for (int k = 0; k < K; k++) {
    const __m512 b0 = _mm512_loadu_ps(B + (long)k * brs), b1 = _mm512_loadu_ps(B + (long)k * brs + 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const __m512 x = _mm512_set1_ps(A[(long)r * ars + k]);
      c[r][0] = _mm512_fmadd_ps(x, b0, c[r][0]);
      c[r][1] = _mm512_fmadd_ps(x, b1, c[r][1]);
    }
  }
  const __mmask16 m0 = first_lanes(cols), m1 = first_lanes(cols - 16);
  const __m512 s = _mm512_set1_ps(scale);
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    float* dst = C + (long)r * ldc;
    _mm512_mask_storeu_ps(dst, m0, scaled ? _mm512_mul_ps(c[r][0], s) : c[r][0]);
    _mm512_mask_storeu_ps(dst + 16, m1, scaled ? _mm512_mul_ps(c[r][1], s) : c[r][1]);
  }
}

// Panel by panel, every row of the block against one panel: the panel (K x 32, 4 KiB at K = 32)
// stays in L1 for all the block's rows. Row-group by row-group instead, the whole transposed head
// (34 KiB at 256 keys) was streamed again for every six rows.
void score_tiles(int M, int N, int K, const float* A, long ars, const float* B, long brs, float* C, long ldc,
                 bool scaled, float scale) {
  for (int n0 = 0; n0 < N; n0 += 32) {
    const int cols = std::min(32, N - n0);
    const float* b = B + n0;
    float* c = C + n0;
    int i = 0;
    for (; i + 6 <= M; i += 6) score_rows<6>(K, A + (long)i * ars, ars, b, brs, c + (long)i * ldc, ldc, cols, scaled, scale);
    const float* a = A + (long)i * ars;
    c += (long)i * ldc;
    switch (M - i) {
      case 5: score_rows<5>(K, a, ars, b, brs, c, ldc, cols, scaled, scale); break;
      case 4: score_rows<4>(K, a, ars, b, brs, c, ldc, cols, scaled, scale); break;
      case 3: score_rows<3>(K, a, ars, b, brs, c, ldc, cols, scaled, scale); break;
      case 2: score_rows<2>(K, a, ars, b, brs, c, ldc, cols, scaled, scale); break;
      case 1: score_rows<1>(K, a, ars, b, brs, c, ldc, cols, scaled, scale); break;
      default: break;
    }
  }
}
#endif

// C (M x N) (+)= A (M x K) . B (K x N) for the products whose N is the head size: A is a block
// of P or dS, or its transpose, read in place through strides, B has contiguous rows. With
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

// Columns of a transposed head: T rounded up to whole 32-wide panels, plus 16 so that its rows
// (HS of them, read together by a score tile) are not a multiple of 1 KiB apart: at 256 keys
// they were, and a tile's 64 lines fell into 8 L1 sets.
int transposed_cols(int T) { return (T + 31) / 32 * 32 + 16; }

// S (M x N) = A (M x K) . B (K x N) (times scale when scaled): the scores Q K^T, and dO V^T in
// the backward pass. A's rows are contiguous (stride ars), B is a transposed head (row stride brs).
void score_product(int M, int N, int K, const float* A, long ars, const float* B, long brs, float* C, long ldc,
                   bool scaled, float scale) {
#ifdef __AVX512F__
  score_tiles(M, N, K, A, ars, B, brs, C, ldc, scaled, scale);
#else
  gemm_serial(M, N, K, Strided{A, ars, 1}, Strided{B, brs, 1}, C, ldc, false);
  if (scaled)
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) C[(long)i * ldc + j] *= scale;
#endif
}

// A row of P in place: row[0, n) = softmax(row[0, n)) (the scores, already scaled), row[n, end) = 0.
// Returns the row's log-sum-exp, which is all the backward pass keeps of it. On AVX-512 in 16
// lanes with a masked tail: the rows are short (n averages T / 2), and the 8-lane helpers end
// each one with up to seven scalar expf calls.
float softmax_causal_row(float* row, int n, int end) {
#ifdef __AVX512F__
  const float top = max_of16(row, n);
  const float total = exp_shifted16(row, row, top, n);
  const __m512 inv = _mm512_set1_ps(1.0f / total);
  int s = 0;
  for (; s + 16 <= n; s += 16) _mm512_storeu_ps(row + s, _mm512_mul_ps(_mm512_loadu_ps(row + s), inv));
  // the tail's lanes past n are read as zeros: they start the zeros above the diagonal
  const __m512 last = _mm512_maskz_loadu_ps(first_lanes(n - s), row + s);
  _mm512_mask_storeu_ps(row + s, first_lanes(end - s), _mm512_mul_ps(last, inv));
  for (s += 16; s < end; s += 16) _mm512_mask_storeu_ps(row + s, first_lanes(end - s), _mm512_setzero_ps());
  return top + std::log(total);
#else
  const float mx = max_of(row, n);
  const float total = exp_shifted(row, row, mx, n);
  const float inv = 1.0f / total;
  for (int s = 0; s < n; s++) row[s] *= inv;
  std::memset(row + n, 0, sizeof(float) * (end - n));
  return mx + std::log(total);
#endif
}

// A row of P again in the backward pass, from its scores (already scaled) and the forward's
// log-sum-exp: row[0, n) = exp(row - lse), row[n, end) = 0.
void probs_from_lse_row(float* row, float lse, int n, int end) {
#ifdef __AVX512F__
  const __m512 shift = _mm512_set1_ps(lse);
  int s = 0;
  for (; s + 16 <= n; s += 16) _mm512_storeu_ps(row + s, exp16(_mm512_sub_ps(_mm512_loadu_ps(row + s), shift)));
  for (; s < end; s += 16) {
    const __mmask16 valid = first_lanes(n - s);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(valid, row + s), shift));
    _mm512_mask_storeu_ps(row + s, first_lanes(end - s), _mm512_maskz_mov_ps(valid, e));
  }
#else
  for (int s = 0; s < n; s++) row[s] = std::exp(row[s] - lse);
  std::memset(row + n, 0, sizeof(float) * (end - n));
#endif
}

// A row of dS in place, from dP (in d) and P: d[0, n) = p (d - p . d) * scale, d[n, keys) = 0.
void softmax_backward_row(float* d, const float* p, int n, int keys, float scale) {
#ifdef __AVX512F__
  int s = 0;
  __m512 acc = _mm512_setzero_ps();
  for (; s + 16 <= n; s += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(p + s), _mm512_loadu_ps(d + s), acc);
  const __mmask16 tail = first_lanes(n - s);
  acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, p + s), _mm512_maskz_loadu_ps(tail, d + s), acc);
  const __m512 sum = _mm512_set1_ps(_mm512_reduce_add_ps(acc)), sc = _mm512_set1_ps(scale);
  for (s = 0; s + 16 <= n; s += 16) {
    const __m512 x = _mm512_mul_ps(_mm512_loadu_ps(p + s), _mm512_sub_ps(_mm512_loadu_ps(d + s), sum));
    _mm512_storeu_ps(d + s, _mm512_mul_ps(x, sc));
  }
  // lanes past n: p is read as 0, so they store the zeros above the diagonal
  for (; s < keys; s += 16) {
    const __mmask16 m = first_lanes(keys - s);
    const __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(first_lanes(n - s), p + s),
                                   _mm512_sub_ps(_mm512_maskz_loadu_ps(m, d + s), sum));
    _mm512_mask_storeu_ps(d + s, m, _mm512_mul_ps(x, sc));
  }
#else
  const float sum = dot(p, d, n);
  for (int s = 0; s < n; s++) d[s] = p[s] * (d[s] - sum) * scale;
  std::memset(d + n, 0, sizeof(float) * (keys - n));
#endif
}

float* thread_scratch(float* scratch, long per_thread) {
#ifdef _OPENMP
  return scratch + (long)omp_get_thread_num() * per_thread;
#else
  return scratch;
#endif
}

// n floats. On AVX-512 in zmm moves, not memcpy (which GCC makes of a plain loop): for rows of
// 16-32 floats the call cost as much as the copy.
void copy_row(float* dst, const float* src, int n) {
#ifdef __AVX512F__
  int j = 0;
  for (; j + 16 <= n; j += 16) _mm512_storeu_ps(dst + j, _mm512_loadu_ps(src + j));
  if (j < n) _mm512_mask_storeu_ps(dst + j, first_lanes(n - j), _mm512_maskz_loadu_ps(first_lanes(n - j), src + j));
#else
  std::memcpy(dst, src, sizeof(float) * n);
#endif
}

// A head's rows (T, HS) of a strided view, copied together. In place they are rows of qkv or of
// the attention output, 2-4 KiB apart for the 25.7M model: all in a few L1 sets, so every product
// reading them (and every row block re-reads them) missed L1.
void gather_head(float* dst, const float* src, long stride, int T, int HS) {
  for (int t = 0; t < T; t++) copy_row(dst + (long)t * HS, src + (long)t * stride, HS);
}

// The same head transposed, (HS, cols): dst[d * cols + t] = src[t * stride + d], zero past T.
void gather_head_transposed(float* dst, const float* src, long stride, int T, int HS, int cols) {
  for (int t = 0; t < T; t++) {
    const float* row = src + (long)t * stride;
    for (int d = 0; d < HS; d++) dst[(long)d * cols + t] = row[d];
  }
  for (int d = 0; d < HS; d++) std::memset(dst + (long)d * cols + T, 0, sizeof(float) * (cols - T));
}

}  // namespace

// A block's P and dS (2 x kRows x transposed_cols(T)), and one head's Q, K, V, dO, dK and dV
// gathered, K twice (7 x HS x at most transposed_cols(T)).
long causal_attention_scratch(int T, int HS) { return (2L * kRows + 7L * HS) * transposed_cols(T); }

// Per (sequence, query head), with Q, K, V (T, HS) views into qkv (row stride `stride`):
//   S = Q K^T * scale,  P = causal softmax(S),  O = P V,  lse = log sum_s exp(S)
// on row blocks of kRows queries against the keys up to the block's end (one work item is one
// thread's share). P lives only in a block of scratch: the backward pass rebuilds it from the
// scores and lse, as flash attention does. Keeping P (B x NH x T x T floats a layer, 268 MB for
// the 25.7M model at 8 x 256) cost more time in memory traffic than the rebuild does.
void causal_attention_forward(float* out, float* lse, const float* qkv, long stride, int B, int T,
                              int NH, int NKV, int HS, float* scratch) {
  const int QD = NH * HS, KVD = NKV * HS, group = NH / NKV, KT = transposed_cols(T);
  const float scale = 1.0f / std::sqrt((float)HS);
  const long per_thread = causal_attention_scratch(T, HS);
  const long items = (long)B * NH;
#pragma omp for schedule(dynamic, 1)
  for (long item = 0; item < items; item++) {
    const int b = (int)(item / NH), h = (int)(item % NH), kvh = h / group;
    const float* base = qkv + (long)b * T * stride;
    // Q and V of this head (T, HS), K transposed (HS, KT) and a block of P (kRows, KT), in the
    // thread's scratch
    float* q = thread_scratch(scratch, per_thread);
    float* v = q + (long)T * HS;
    float* kt = v + (long)T * HS;
    float* p = kt + (long)HS * KT;
    gather_head(q, base + (long)h * HS, stride, T, HS);
    gather_head_transposed(kt, base + QD + (long)kvh * HS, stride, T, HS, KT);
    gather_head(v, base + QD + KVD + (long)kvh * HS, stride, T, HS);
    float* row_lse = lse + ((long)b * NH + h) * T;
    for (int r0 = 0; r0 < T; r0 += kRows) {
      const int rows = std::min(kRows, T - r0), keys = r0 + rows;
      // S rows r0.. against keys 0..keys-1, then P; O rows r0.. = P . V
      score_product(rows, keys, HS, q + (long)r0 * HS, HS, kt, KT, p, KT, true, scale);
      for (int i = 0; i < rows; i++) row_lse[r0 + i] = softmax_causal_row(p + (long)i * KT, r0 + i + 1, keys);
      head_product(rows, HS, keys, p, KT, 1, v, HS, out + ((long)b * T + r0) * QD + (long)h * HS, QD, false);
    }
  }
}

// With dO the output gradient of one (sequence, head), and P rebuilt from the scores and lse:
//   dP = dO V^T,  dS = P (dP - rowsum(P dP)) * scale,  dQ = dS K,  dK += dS^T Q,  dV += P^T dO
// Query heads of a GQA group add into the same dK/dV, so one work item serves the whole group,
// one head after another, block by block of kRows queries: P and dS of the block live in the
// thread's scratch (row stride KT, so that reading their columns does not fall into a few L1
// sets) while every product that needs them runs.
void causal_attention_backward(float* dqkv, const float* dout, const float* lse, const float* qkv,
                               long stride, int B, int T, int NH, int NKV, int HS, float* scratch) {
  const int QD = NH * HS, KVD = NKV * HS, group = NH / NKV, KT = transposed_cols(T);
  const float scale = 1.0f / std::sqrt((float)HS);
  const long per_thread = causal_attention_scratch(T, HS);
  const long items = (long)B * NKV;
#pragma omp for schedule(dynamic, 1)
  for (long item = 0; item < items; item++) {
    const int b = (int)(item / NKV), kvh = (int)(item % NKV);
    // P and dS of a block (kRows, KT); this KV head's K, dK and dV and each query head's Q and dO
    // (T, HS); K and V transposed (HS, KT)
    float* p = thread_scratch(scratch, per_thread);
    float* ds = p + (long)kRows * KT;
    float* k = ds + (long)kRows * KT;
    float* dk = k + (long)T * HS;
    float* dv = dk + (long)T * HS;
    float* q = dv + (long)T * HS;
    float* dy = q + (long)T * HS;
    float* kt = dy + (long)T * HS;
    float* vt = kt + (long)HS * KT;
    const float* base = qkv + (long)b * T * stride;
    float* dbase = dqkv + (long)b * T * stride;
    gather_head(k, base + QD + (long)kvh * HS, stride, T, HS);
    gather_head_transposed(kt, base + QD + (long)kvh * HS, stride, T, HS, KT);
    gather_head_transposed(vt, base + QD + KVD + (long)kvh * HS, stride, T, HS, KT);
    std::memset(dk, 0, sizeof(float) * T * HS);
    std::memset(dv, 0, sizeof(float) * T * HS);
    for (int h = kvh * group; h < (kvh + 1) * group; h++) {
      const float* row_lse = lse + ((long)b * NH + h) * T;
      gather_head(dy, dout + (long)b * T * QD + (long)h * HS, QD, T, HS);
      gather_head(q, base + (long)h * HS, stride, T, HS);
      float* dq = dbase + (long)h * HS;
      for (int r0 = 0; r0 < T; r0 += kRows) {
        const int rows = std::min(kRows, T - r0), keys = r0 + rows;
        // P of rows r0.. (keys 0..keys-1) again; dP = dO rows r0.. . V^T, then dS in place
        score_product(rows, keys, HS, q + (long)r0 * HS, HS, kt, KT, p, KT, true, scale);
        score_product(rows, keys, HS, dy + (long)r0 * HS, HS, vt, KT, ds, KT, false, 1.0f);
        for (int i = 0; i < rows; i++) {
          probs_from_lse_row(p + (long)i * KT, row_lse[r0 + i], r0 + i + 1, keys);
          softmax_backward_row(ds + (long)i * KT, p + (long)i * KT, r0 + i + 1, keys, scale);
        }
        // dQ rows r0.. = dS . K;  dK[0, keys) += dS^T . Q rows r0..;  dV[0, keys) += P^T . dO rows r0..
        head_product(rows, HS, keys, ds, KT, 1, k, HS, dq + (long)r0 * stride, stride, false);
        head_product(keys, HS, rows, ds, 1, KT, q + (long)r0 * HS, HS, dk, HS, true);
        head_product(keys, HS, rows, p, 1, KT, dy + (long)r0 * HS, HS, dv, HS, true);
      }
    }
    for (int t = 0; t < T; t++) {
      copy_row(dbase + QD + (long)kvh * HS + (long)t * stride, dk + (long)t * HS, HS);
      copy_row(dbase + QD + KVD + (long)kvh * HS + (long)t * stride, dv + (long)t * HS, HS);
    }
  }
}

}  // namespace rlcd
