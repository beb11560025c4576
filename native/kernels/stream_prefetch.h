// Whether the batch-1 kernels (one row against a weight stream: tile1xP, the q8_0 row tile) fetch
// their stream ahead in software. Where the hardware prefetchers keep up alone, the extra
// instructions only cost; measured with the 88M model's decode matmuls on one thread:
// - the earlier machine (full-width AVX-512, 225 GFLOP/s a thread): the fetch paid, and was added.
// - Zen 4 (AMD family 0x19), weights on huge pages (weight_pool.h): without it, f32 +13-17%,
//   q8_0 +14-18%, bf16 +0-3% (alternating passes in one process), so it is off there.
// The batched tiles' fetch of the next item's weights into L2 pays on both and is not affected.
#pragma once

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace rlcd {

inline bool stream_prefetch_pays() {
  static const bool pays = [] {
#if defined(__x86_64__) || defined(__i386__)
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return true;
    const bool amd = ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163;  // "AuthenticAMD"
    if (!amd || !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return true;
    const unsigned base = (eax >> 8) & 0xf, family = base == 0xf ? base + ((eax >> 20) & 0xff) : base;
    return family != 0x19;
#else
    return true;
#endif
  }();
  return pays;
}

}  // namespace rlcd
