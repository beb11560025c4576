#include "gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "simd.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlcd {

namespace {

constexpr int kMR = 6;    // rows of the register tile
#ifdef __AVX512F__
constexpr int kNR = 32;   // columns of the register tile (two zmm)
#else
constexpr int kNR = 16;   // columns of the register tile (two ymm)
#endif
#ifdef __AVX512F__
// k per packed block. The 512 x 32 B panel (64 KiB) streams from L2 while a packed 512 x 6 A
// panel (12 KiB) stays in L1, and each C tile is read and written once per 512 k instead of once
// per 256. On Zen 4 (32 KiB L1, which a 256 x 32 panel already filled, evicting the C lines fetched
// for the tile's end) that made the 25.7M model's training GEMMs ~3% faster, on top of packing A.
constexpr int kKC = 512;
#else
constexpr int kKC = 256;  // k per packed block: the 256 x 16 B panel (16 KiB) stays in L1
#endif
constexpr int kMC = 96;   // rows of A per work item

#ifdef __AVX512F__
// r[i] (16 floats) <- column i of the 16 x 16 block held in r (row i = r[i]).
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  for (int h = 0; h < 16; h += 8)
    for (int i = 0; i < 4; i++) {
      t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
      t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
    }
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
}
#endif

// B block (kc x N) -> panels of (kc, 16), zero-padded past N.
void pack_b(float* dst, Strided B, int k0, int kc, int n0, int nc) {
  for (int j0 = 0; j0 < nc; j0 += kNR) {
    float* panel = dst + (long)(j0 / kNR) * kc * kNR;
    const int cols = std::min(kNR, nc - j0);
    if (B.rs == 1) {
      // k runs along memory (a Linear weight read as W^T): read each column contiguously.
      int j16 = 0, k16 = 0;  // columns and k done by the transposes
#ifdef __AVX512F__
      // Whole groups of 16 columns in 16 x 16 blocks transposed in registers: the element-wise
      // copy made packing W^T cost ~4% of a training step.
      j16 = cols / 16 * 16;
      k16 = kc / 16 * 16;
      __m512 r[16];
      for (int jb = 0; jb < j16; jb += 16)
        for (int kb = 0; kb < k16; kb += 16) {
          for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(B.data + (long)k0 + kb + (long)(n0 + j0 + jb + i) * B.cs);
          transpose16(r);
          for (int i = 0; i < 16; i++) _mm512_storeu_ps(panel + (long)(kb + i) * kNR + jb, r[i]);
        }
#endif
      for (int j = 0; j < kNR; j++) {
        if (j >= cols) {
          for (int k = 0; k < kc; k++) panel[(long)k * kNR + j] = 0.0f;
          continue;
        }
        const float* src = B.data + (long)k0 + (long)(n0 + j0 + j) * B.cs;
        for (int k = j < j16 ? k16 : 0; k < kc; k++) panel[(long)k * kNR + j] = src[k];
      }
      continue;
    }
    for (int k = 0; k < kc; k++) {
      const float* src = B.data + (long)(k0 + k) * B.rs + (long)(n0 + j0) * B.cs;
      float* row = panel + (long)k * kNR;
      if (B.cs == 1 && cols == kNR) {
        std::memcpy(row, src, sizeof(float) * kNR);
      } else {
        for (int j = 0; j < cols; j++) row[j] = src[(long)j * B.cs];
        for (int j = cols; j < kNR; j++) row[j] = 0.0f;
      }
    }
  }
}

#ifdef __AVX512F__
// dst[k * 6 + i] = src[i * rs + k] for 6 rows and 16 k (a packed A panel's 16 k steps): rows are
// interleaved in pairs, then the three pairs, as 64-bit elements, two permutes per output vector.
// Against the scalar copy, packing a row-major A fell from ~4% to ~1% of its GEMM's time.
inline void transpose_6x16(const float* src, long rs, float* dst) {
  static_assert(kMR == 6, "six rows a panel");
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  __m512d pair[3][2];  // [rows 2s, 2s + 1][k 0-7, 8-15]: 64-bit elements (row 2s, row 2s + 1) at one k
  for (int s = 0; s < 3; s++) {
    const __m512 a = _mm512_loadu_ps(src + 2 * s * rs), b = _mm512_loadu_ps(src + (2 * s + 1) * rs);
    pair[s][0] = _mm512_castps_pd(_mm512_permutex2var_ps(a, lo, b));
    pair[s][1] = _mm512_castps_pd(_mm512_permutex2var_ps(a, hi, b));
  }
  // Output element d of a half's 24 (as doubles) is pair d % 3 at k = d / 3; vector j holds d = 8j..8j+7.
  // Pairs 0 and 1 in one two-source permute, pair 2 merged in under a mask.
  const __m512i from01[3] = {_mm512_setr_epi64(0, 8, 0, 1, 9, 0, 2, 10), _mm512_setr_epi64(0, 3, 11, 0, 4, 12, 0, 5),
                             _mm512_setr_epi64(13, 0, 6, 14, 0, 7, 15, 0)};
  const __m512i from2[3] = {_mm512_setr_epi64(0, 0, 0, 0, 0, 1, 0, 0), _mm512_setr_epi64(2, 0, 0, 3, 0, 0, 4, 0),
                            _mm512_setr_epi64(0, 5, 0, 0, 6, 0, 0, 7)};
  const __mmask8 at2[3] = {0x24, 0x49, 0x92};
  for (int h = 0; h < 2; h++)
    for (int j = 0; j < 3; j++) {
      const __m512d t = _mm512_permutex2var_pd(pair[0][h], from01[j], pair[1][h]);
      _mm512_storeu_pd((double*)(dst + 48 * h + 16 * j), _mm512_mask_permutexvar_pd(t, at2[j], from2[j], pair[2][h]));
    }
}
#endif

// A block (mc x kc) -> panels of (kc, 6), zero-padded past mc.
void pack_a(float* dst, Strided A, int m0, int mc, int k0, int kc) {
  if (A.rs == 1 && A.cs != 1) {
    // A transposed in memory (dy^T of a weight gradient): each k's mc values are contiguous. Read
    // them in one run per k; going panel by panel would touch every row (often a page apart) once
    // per 6 values.
    const int panels = (mc + kMR - 1) / kMR;
    for (int k = 0; k < kc; k++) {
      const float* src = A.data + (long)m0 + (long)(k0 + k) * A.cs;
      float* col = dst + (long)k * kMR;
      int p = 0;
#if defined(__AVX512F__) && defined(__AVX512VL__)
      // Six floats a panel in one masked load and store (the scalar copy made packing A cost as
      // much as a tenth of a weight gradient: O(M K) moves against O(M N K) FMAs 16 wide).
      static_assert(kMR <= 8, "a panel's column fits one ymm");
      constexpr __mmask8 six = (1u << kMR) - 1;
      for (; p < mc / kMR; p++, col += (long)kc * kMR)
        _mm256_mask_storeu_ps(col, six, _mm256_maskz_loadu_ps(six, src + p * kMR));
#endif
      for (; p < panels; p++, col += (long)kc * kMR) {
        const int rows = std::min(kMR, mc - p * kMR);
        for (int i = 0; i < rows; i++) col[i] = src[p * kMR + i];
        for (int i = rows; i < kMR; i++) col[i] = 0.0f;
      }
    }
    return;
  }
  for (int i0 = 0; i0 < mc; i0 += kMR) {
    float* panel = dst + (long)(i0 / kMR) * kc * kMR;
    const int rows = std::min(kMR, mc - i0);
    if (A.cs == 1) {
      // Row-major A: read each row contiguously.
      int k16 = 0;  // k done by the transposes
#ifdef __AVX512F__
      if (rows == kMR) {
        k16 = kc / 16 * 16;
        for (int k = 0; k < k16; k += 16) transpose_6x16(A.data + (long)(m0 + i0) * A.rs + k0 + k, A.rs, panel + (long)k * kMR);
      }
#endif
      for (int i = 0; i < kMR; i++) {
        if (i >= rows) {
          for (int k = 0; k < kc; k++) panel[(long)k * kMR + i] = 0.0f;
          continue;
        }
        const float* src = A.data + (long)(m0 + i0 + i) * A.rs + k0;
        for (int k = k16; k < kc; k++) panel[(long)k * kMR + i] = src[k];
      }
      continue;
    }
    for (int k = 0; k < kc; k++) {
      float* col = panel + (long)k * kMR;
      for (int i = 0; i < rows; i++) col[i] = A.data[(long)(m0 + i0 + i) * A.rs + (long)(k0 + k) * A.cs];
      for (int i = rows; i < kMR; i++) col[i] = 0.0f;
    }
  }
}

// tile (6 x 16) = a_panel (kc x 6)^T . b_panel (kc x 16); then C (+)= tile on the valid part.
// A's element (i, k) is at a[i * ars + k * aks]: a packed panel (ars 1, aks 6), or on AVX-512 the
// rows of a row-major A read in place (ars = its row stride, aks 1), which saves packing it.
void micro_kernel(const float* a, long ars, long aks, const float* b, int kc, float* C, long ldc, int rows, int cols, bool add) {
  alignas(64) float tile[kMR][kNR];
  // The tile's rows of C, fetched now so that they arrive while the k loop runs: a C larger than
  // the caches (the 25.7M model's 2048 x 3072 gate|up) otherwise stalls every tile's store on
  // memory (measured on Zen 4, one thread: 95-100 -> 105-108 GFLOP/s of 118).
  for (int i = 0; i < rows; i++) {
    __builtin_prefetch(C + (long)i * ldc, 0, 3);
    __builtin_prefetch(C + (long)i * ldc + kNR - 1, 0, 3);
  }
#if defined(__AVX512F__)
  // Rows past the matrix's end read the last valid row again (computed, never stored).
  const float* a0 = a;
  const float* a1 = a + (rows > 1 ? 1 : 0) * ars;
  const float* a2 = a + (rows > 2 ? 2 : rows - 1) * ars;
  const float* a3 = a + (rows > 3 ? 3 : rows - 1) * ars;
  const float* a4 = a + (rows > 4 ? 4 : rows - 1) * ars;
  const float* a5 = a + (rows > 5 ? 5 : rows - 1) * ars;
  // Twelve named zmm accumulators (6 rows x 32 columns): with an array the compiler keeps them in
  // memory. Built with -march=native on a machine with AVX-512; AVX2 below otherwise.
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  // At most 16 columns (a LoRA rank, the last panel of a narrow matrix): the upper half of the
  // panel is zeros, so only the lower half is multiplied (the same sums, half the FMAs).
  const int k_full = cols <= 16 ? 0 : kc;
  for (int k = k_full; k < kc; k++) {
    const __m512 b0 = _mm512_loadu_ps(b + (long)k * kNR);
    const long ak = (long)k * aks;
    c00 = _mm512_fmadd_ps(_mm512_set1_ps(a0[ak]), b0, c00);
    c10 = _mm512_fmadd_ps(_mm512_set1_ps(a1[ak]), b0, c10);
    c20 = _mm512_fmadd_ps(_mm512_set1_ps(a2[ak]), b0, c20);
    c30 = _mm512_fmadd_ps(_mm512_set1_ps(a3[ak]), b0, c30);
    c40 = _mm512_fmadd_ps(_mm512_set1_ps(a4[ak]), b0, c40);
    c50 = _mm512_fmadd_ps(_mm512_set1_ps(a5[ak]), b0, c50);
  }
  for (int k = 0; k < k_full; k++) {
    const __m512 b0 = _mm512_loadu_ps(b + (long)k * kNR);
    const __m512 b1 = _mm512_loadu_ps(b + (long)k * kNR + 16);
    const long ak = (long)k * aks;
    __m512 ai = _mm512_set1_ps(a0[ak]);
    c00 = _mm512_fmadd_ps(ai, b0, c00);
    c01 = _mm512_fmadd_ps(ai, b1, c01);
    ai = _mm512_set1_ps(a1[ak]);
    c10 = _mm512_fmadd_ps(ai, b0, c10);
    c11 = _mm512_fmadd_ps(ai, b1, c11);
    ai = _mm512_set1_ps(a2[ak]);
    c20 = _mm512_fmadd_ps(ai, b0, c20);
    c21 = _mm512_fmadd_ps(ai, b1, c21);
    ai = _mm512_set1_ps(a3[ak]);
    c30 = _mm512_fmadd_ps(ai, b0, c30);
    c31 = _mm512_fmadd_ps(ai, b1, c31);
    ai = _mm512_set1_ps(a4[ak]);
    c40 = _mm512_fmadd_ps(ai, b0, c40);
    c41 = _mm512_fmadd_ps(ai, b1, c41);
    ai = _mm512_set1_ps(a5[ak]);
    c50 = _mm512_fmadd_ps(ai, b0, c50);
    c51 = _mm512_fmadd_ps(ai, b1, c51);
  }
  const __m512 acc[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (rows == kMR && cols == kNR) {
    for (int i = 0; i < kMR; i++) {
      float* dst = C + (long)i * ldc;
      __m512 lo = acc[i][0], hi = acc[i][1];
      if (add) {
        lo = _mm512_add_ps(_mm512_loadu_ps(dst), lo);
        hi = _mm512_add_ps(_mm512_loadu_ps(dst + 16), hi);
      }
      _mm512_storeu_ps(dst, lo);
      _mm512_storeu_ps(dst + 16, hi);
    }
    return;
  }
  for (int i = 0; i < kMR; i++) {
    _mm512_storeu_ps(tile[i], acc[i][0]);
    _mm512_storeu_ps(tile[i] + 16, acc[i][1]);
  }
#elif defined(RLCD_AVX2)
  // Twelve named accumulators: with an array the compiler keeps them in memory (a store per FMA).
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(b + (long)k * kNR);
    const __m256 b1 = _mm256_loadu_ps(b + (long)k * kNR + 8);
    const float* ak = a + (long)k * aks;  // packed on AVX2 (ars 1)
    __m256 ai = _mm256_broadcast_ss(ak + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(ak + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(ak + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(ak + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(ak + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(ak + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
  }
  const __m256 acc[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (rows == kMR && cols == kNR) {
    // Full tile: update C straight from the registers.
    for (int i = 0; i < kMR; i++) {
      float* dst = C + (long)i * ldc;
      __m256 lo = acc[i][0], hi = acc[i][1];
      if (add) {
        lo = _mm256_add_ps(_mm256_loadu_ps(dst), lo);
        hi = _mm256_add_ps(_mm256_loadu_ps(dst + 8), hi);
      }
      _mm256_storeu_ps(dst, lo);
      _mm256_storeu_ps(dst + 8, hi);
    }
    return;
  }
  for (int i = 0; i < kMR; i++) {
    _mm256_store_ps(tile[i], acc[i][0]);
    _mm256_store_ps(tile[i] + 8, acc[i][1]);
  }
#else
  for (int i = 0; i < kMR; i++)
    for (int j = 0; j < kNR; j++) tile[i][j] = 0.0f;
  for (int k = 0; k < kc; k++)
    for (int i = 0; i < kMR; i++)
      for (int j = 0; j < kNR; j++) tile[i][j] += a[(long)k * aks + (long)i * ars] * b[(long)k * kNR + j];
#endif
  for (int i = 0; i < rows; i++) {
    float* dst = C + (long)i * ldc;
    if (add)
      for (int j = 0; j < cols; j++) dst[j] += tile[i][j];
    else
      for (int j = 0; j < cols; j++) dst[j] = tile[i][j];
  }
}

}  // namespace

void gemm(int M, int N, int K, Strided A, Strided B, float* C, long ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) {
#pragma omp for schedule(static)
      for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(long)i * ldc + j] = 0.0f;
    }
    return;
  }
  // Work items: (row block of kMC) x (column chunk of panels), enough items for every thread.
  const int n_panels = (N + kNR - 1) / kNR;
  const int m_blocks = (M + kMC - 1) / kMC;
  int chunk_panels = n_panels;
#ifdef _OPENMP
  const int team = omp_get_num_threads();  // 1 outside a parallel region
#else
  const int team = 1;
#endif
  // Down to one panel a chunk: a weight gradient of a small matrix (128 x 128 over 2048 tokens)
  // has two row blocks of 96 and 32, and split no further left one thread a quarter of the work
  // (130 -> 175 GFLOP/s on two threads, Zen 4).
  while (chunk_panels > 1 && (long)m_blocks * ((n_panels + chunk_panels - 1) / chunk_panels) < 4L * team)
    chunk_panels = (chunk_panels + 1) / 2;
  const int n_chunks = (n_panels + chunk_panels - 1) / chunk_panels;
  const long items = (long)m_blocks * n_chunks;
#if defined(__AVX512F__)
  // A is read in place or packed. Packed, the six broadcasts of a k come from one 24-byte run of an
  // L1-resident panel instead of six rows: the micro-kernel runs ~5% faster, which repays the
  // packing (vectorised for a row-major A) when the k blocks are long and many panels reuse each
  // A panel. Otherwise a row-major A (x, dy) is read as six sequential row streams, and a
  // transposed one (dy^T of a weight gradient) as one stream of six consecutive values per k,
  // unless its k stride is a multiple of 4 KiB: then every k lands in the same L1 set (a 2048-wide
  // dy fell from 168 to 135 GFLOP/s) and packing wins.
  const bool direct_a = A.cs == 1 ? (K < 256 || N < 512) : (A.rs == 1 && A.cs % 1024 != 0);
#else
  const bool direct_a = false;
#endif
  // A packed A block is packed by the item that uses it, while it is hot in that thread's cache,
  // unless several column chunks share it (few rows: a 256-row weight gradient on two threads
  // has four): then A's row blocks are packed once per k block beside B, and read by every chunk.
  const bool share_a = !direct_a && n_chunks > 1;
  // B (kc x N) and a shared A (M x kc) are one thread's buffers, their addresses given to the team
  // (copyprivate ends in a barrier).
  const size_t b_size = (size_t)n_panels * kKC * kNR, a_size = share_a ? (size_t)m_blocks * kMC * kKC : 0;
  float* b_pack = nullptr;
  float* a_shared = nullptr;
#pragma omp single copyprivate(b_pack, a_shared)
  {
    static thread_local std::vector<float> b_buffer, a_buffer;
    if (b_buffer.size() < b_size) b_buffer.resize(b_size);
    if (a_buffer.size() < a_size) a_buffer.resize(a_size);
    b_pack = b_buffer.data();
    a_shared = a_buffer.data();
  }
  static thread_local std::vector<float> a_own;  // this thread's A block, when not shared
  if (!direct_a && !share_a && a_own.size() < (size_t)kMC * kKC) a_own.resize((size_t)kMC * kKC);

  for (int k0 = 0; k0 < K; k0 += kKC) {
    const int kc = std::min(kKC, K - k0);
    const bool add = accumulate || k0 > 0;
    const int pack_tasks = n_panels + (share_a ? m_blocks : 0);
#pragma omp for schedule(static)
    for (int t = 0; t < pack_tasks; t++) {
      if (t < n_panels) {
        pack_b(b_pack + (long)t * kc * kNR, B, k0, kc, t * kNR, std::min(kNR, N - t * kNR));
      } else {
        const int mb = t - n_panels;
        pack_a(a_shared + (long)mb * kMC * kc, A, mb * kMC, std::min(kMC, M - mb * kMC), k0, kc);
      }
    }
    // (implicit barrier: every panel is packed before any tile reads it)
#pragma omp for schedule(dynamic, 1)
    for (long item = 0; item < items; item++) {
      const int mb = (int)(item / n_chunks), nb = (int)(item % n_chunks);
      const int m0 = mb * kMC, mc = std::min(kMC, M - m0);
      const float* a_block = share_a ? a_shared + (long)mb * kMC * kc : a_own.data();
      if (!direct_a && !share_a) pack_a(a_own.data(), A, m0, mc, k0, kc);
      const int p1 = std::min(n_panels, (nb + 1) * chunk_panels);
      for (int p = nb * chunk_panels; p < p1; p++) {
        const int n0 = p * kNR, cols = std::min(kNR, N - n0);
        for (int i0 = 0; i0 < mc; i0 += kMR) {
          const float* a = direct_a ? A.data + (long)(m0 + i0) * A.rs + (long)k0 * A.cs : a_block + (long)(i0 / kMR) * kc * kMR;
          micro_kernel(a, direct_a ? A.rs : 1, direct_a ? A.cs : kMR, b_pack + (long)p * kc * kNR, kc,
                       C + (long)(m0 + i0) * ldc + n0, ldc, std::min(kMR, mc - i0), cols, add);
        }
      }
    }
  }
}

void gemm_serial(int M, int N, int K, Strided A, Strided B, float* C, long ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) C[(long)i * ldc + j] = 0.0f;
    return;
  }
  static thread_local std::vector<float> a_pack, b_pack;
  const int n_panels = (N + kNR - 1) / kNR;
  if (b_pack.size() < (size_t)n_panels * kKC * kNR) b_pack.resize((size_t)n_panels * kKC * kNR);
  if (a_pack.size() < (size_t)kMC * kKC) a_pack.resize((size_t)kMC * kKC);
  for (int k0 = 0; k0 < K; k0 += kKC) {
    const int kc = std::min(kKC, K - k0);
    const bool add = accumulate || k0 > 0;
    for (int p = 0; p < n_panels; p++)
      pack_b(b_pack.data() + (long)p * kc * kNR, B, k0, kc, p * kNR, std::min(kNR, N - p * kNR));
    for (int m0 = 0; m0 < M; m0 += kMC) {
      const int mc = std::min(kMC, M - m0);
      pack_a(a_pack.data(), A, m0, mc, k0, kc);
      for (int p = 0; p < n_panels; p++) {
        const int n0 = p * kNR, cols = std::min(kNR, N - n0);
        for (int i0 = 0; i0 < mc; i0 += kMR)
          micro_kernel(a_pack.data() + (long)(i0 / kMR) * kc * kMR, 1, kMR, b_pack.data() + (long)p * kc * kNR, kc,
                       C + (long)(m0 + i0) * ldc + n0, ldc, std::min(kMR, mc - i0), cols, add);
      }
    }
  }
}

}  // namespace rlcd
