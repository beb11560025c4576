#include "peak.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "../common/aligned_buffer.h"
#include "simd.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlcd {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Twelve independent accumulators hide the FMA latency (4 cycles) on two FMA ports. Each starts
// from its own value: identical chains would be merged into one by the compiler. Returns a value
// that depends on every accumulator, so the loop cannot be dropped.
float fma_loop(long iterations) {
#if defined(__AVX512F__)
  __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  __m512 c0 = _mm512_set1_ps(0.f), c1 = _mm512_set1_ps(1.f), c2 = _mm512_set1_ps(2.f), c3 = _mm512_set1_ps(3.f),
         c4 = _mm512_set1_ps(4.f), c5 = _mm512_set1_ps(5.f), c6 = _mm512_set1_ps(6.f), c7 = _mm512_set1_ps(7.f),
         c8 = _mm512_set1_ps(8.f), c9 = _mm512_set1_ps(9.f), c10 = _mm512_set1_ps(10.f), c11 = _mm512_set1_ps(11.f);
  for (long i = 0; i < iterations; i++) {
    c0 = _mm512_fmadd_ps(c0, a, b); c1 = _mm512_fmadd_ps(c1, a, b); c2 = _mm512_fmadd_ps(c2, a, b);
    c3 = _mm512_fmadd_ps(c3, a, b); c4 = _mm512_fmadd_ps(c4, a, b); c5 = _mm512_fmadd_ps(c5, a, b);
    c6 = _mm512_fmadd_ps(c6, a, b); c7 = _mm512_fmadd_ps(c7, a, b); c8 = _mm512_fmadd_ps(c8, a, b);
    c9 = _mm512_fmadd_ps(c9, a, b); c10 = _mm512_fmadd_ps(c10, a, b); c11 = _mm512_fmadd_ps(c11, a, b);
  }
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)), _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
  s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
#elif defined(RLCD_AVX2)
  __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  __m256 c0 = _mm256_set1_ps(0.f), c1 = _mm256_set1_ps(1.f), c2 = _mm256_set1_ps(2.f), c3 = _mm256_set1_ps(3.f),
         c4 = _mm256_set1_ps(4.f), c5 = _mm256_set1_ps(5.f), c6 = _mm256_set1_ps(6.f), c7 = _mm256_set1_ps(7.f),
         c8 = _mm256_set1_ps(8.f), c9 = _mm256_set1_ps(9.f), c10 = _mm256_set1_ps(10.f), c11 = _mm256_set1_ps(11.f);
  for (long i = 0; i < iterations; i++) {
    c0 = _mm256_fmadd_ps(c0, a, b); c1 = _mm256_fmadd_ps(c1, a, b); c2 = _mm256_fmadd_ps(c2, a, b);
    c3 = _mm256_fmadd_ps(c3, a, b); c4 = _mm256_fmadd_ps(c4, a, b); c5 = _mm256_fmadd_ps(c5, a, b);
    c6 = _mm256_fmadd_ps(c6, a, b); c7 = _mm256_fmadd_ps(c7, a, b); c8 = _mm256_fmadd_ps(c8, a, b);
    c9 = _mm256_fmadd_ps(c9, a, b); c10 = _mm256_fmadd_ps(c10, a, b); c11 = _mm256_fmadd_ps(c11, a, b);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)), _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
  return hsum8(s);
#else
  float c[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  for (long i = 0; i < iterations; i++)
    for (float& v : c) v = v * 0.999999f + 1e-7f;
  float s = 0;
  for (float v : c) s += v;
  return s;
#endif
}

constexpr int kVectorFloats =
#if defined(__AVX512F__)
    16;
#elif defined(RLCD_AVX2)
    8;
#else
    1;
#endif

// Sums floats [begin, end) with independent accumulators (a read stream, no writes).
float read_sum(const float* p, size_t n) {
#if defined(RLCD_AVX2)
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_load_ps(p + i));
    s1 = _mm256_add_ps(s1, _mm256_load_ps(p + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_load_ps(p + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_load_ps(p + i + 24));
  }
  float s = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < n; i++) s += p[i];
  return s;
#else
  float s = 0;
  for (size_t i = 0; i < n; i++) s += p[i];
  return s;
#endif
}

volatile float g_sink;  // keeps the measured loops' results alive

}  // namespace

PeakResult measure_peak(int threads, double seconds, size_t buffer_bytes) {
  threads = std::max(1, threads);
  seconds = std::max(0.01, seconds);
  PeakResult r;
  r.vector_floats = kVectorFloats;
  const double flops_per_iteration = 12.0 * 2.0 * kVectorFloats;

  // Calibrate the iteration count to the time asked for, then keep the best of three runs.
  long iterations = 1 << 16;
  for (auto t0 = Clock::now(); seconds_since(t0) < seconds / 20; iterations *= 2) g_sink = fma_loop(iterations);
  for (int rep = 0; rep < 3; rep++) {
    auto t0 = Clock::now();
#pragma omp parallel num_threads(threads)
    { g_sink = fma_loop(iterations); }
    double t = seconds_since(t0);
    r.fma_gflops = std::max(r.fma_gflops, flops_per_iteration * (double)iterations * threads / t / 1e9);
  }

  const size_t n = (buffer_bytes ? buffer_bytes : (size_t)256 << 20) / sizeof(float);
  AlignedBuffer buf;
  buf.resize(n);
  float* data = buf.data();
  // Each thread touches (and later reads) its own part, so pages sit near the thread reading them.
#pragma omp parallel for num_threads(threads) schedule(static)
  for (long i = 0; i < (long)n; i++) data[i] = 1.0f;
  const int passes = 3;
  for (int rep = 0; rep < passes; rep++) {
    auto t0 = Clock::now();
    float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
#ifdef _OPENMP
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
#else
      const int t = 0, nt = 1;
#endif
      const size_t per = (n / nt + 31) / 32 * 32;
      const size_t begin = std::min(n, per * t), end = std::min(n, begin + per);
      total += read_sum(data + begin, end - begin);
    }
    double t = seconds_since(t0);
    g_sink = total;
    r.read_gbps = std::max(r.read_gbps, (double)n * sizeof(float) / t / 1e9);
  }
  return r;
}

}  // namespace rlcd
