// The machine's limits, measured the way the benchmarks need them: the FMA throughput of every
// thread together (a register-resident loop, so nothing but the FMA units is exercised) and the
// read bandwidth from memory (a streaming sum over a buffer far larger than the caches). Every
// benchmark row divides its throughput by the roofline these give (bench/lib/roofline.ts).
#pragma once

#include <cstddef>

namespace rlcd {

struct PeakResult {
  double fma_gflops = 0;  // best of the repeats, all threads together
  double read_gbps = 0;   // GB/s (1e9 bytes), all threads together
  int vector_floats = 0;  // floats per FMA instruction used (16 AVX-512, 8 AVX2, 1 scalar)
};

// Runs each measurement for about `seconds` (best of three repeats) on `threads` threads, reading
// `buffer_bytes` of memory (0: 256 MiB).
PeakResult measure_peak(int threads, double seconds, size_t buffer_bytes);

}  // namespace rlcd
