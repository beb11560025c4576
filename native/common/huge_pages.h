// Aligned allocations, on 2 MiB pages where asked and the kernel allows it (transparent huge pages
// in madvise mode): a stream over 4 KiB pages takes a TLB miss every 64 cache lines.
#pragma once

#include <cstddef>
#include <cstdlib>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "check.h"

namespace rlcd {

constexpr size_t kHugePage = (size_t)2 << 20;

// `bytes` (a multiple of `align`), not zeroed; free it with std::free. Aligned to kHugePage, the
// memory is asked for on huge pages. Throws when out of memory.
inline void* allocate_aligned(size_t align, size_t bytes) {
  void* p = std::aligned_alloc(align, bytes);
  if (!p) throw Error(concat("out of memory allocating ", bytes, " bytes"));
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == kHugePage) madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

}  // namespace rlcd
