// Packed inference weights, back to back on 2 MiB pages in the order they are packed.
//
// Decoding at batch 1 streams every weight once a step, at the speed one core's memory reads go.
// A model's matrices are 1-13 MB each: allocated one by one, those under the 8 MiB huge-page
// threshold of allocate_zeroed sat on 4 KiB pages (a TLB miss every 64 cache lines, and hardware
// prefetchers stop at each page). Rounding each up to 2 MiB pages instead would waste up to a
// quarter of the model. The pool carves them from shared 2 MiB-aligned slabs: no rounding, every
// matrix on huge pages, and a layer's matrices follow each other in memory as decoding reads them.
// Measured on Zen 4, one thread, the 88M model's decode matmuls: f32 22.6 -> 25.1 GB/s, bf16
// 21.8 -> 24.7, q8_0 20.5 -> 24.7 (medians of 5).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "check.h"
#include "huge_pages.h"

namespace rlcd {

class WeightPool {
 public:
  static constexpr size_t kSlab = (size_t)32 << 20;  // a slab, unless one allocation needs more
  static constexpr size_t kAlign = 64;

  // `bytes` of zeroed memory, 64-byte aligned. Thread-safe.
  void* allocate(size_t bytes) {
    bytes = std::max(kAlign, (bytes + kAlign - 1) / kAlign * kAlign);
    char* p;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (slabs_.empty() || slabs_.back().size - slabs_.back().used < bytes) add_slab(bytes);
      Slab& s = slabs_.back();
      p = s.base + s.used;
      s.used += bytes;
      s.live++;
    }
    std::memset(p, 0, bytes);  // a slab's bytes are handed out once: this range is the caller's alone
    return p;
  }

  // Gives back memory from allocate(); a slab is freed when nothing in it is live.
  void release(void* ptr) {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    char* p = static_cast<char*>(ptr);
    for (size_t i = 0; i < slabs_.size(); i++) {
      Slab& s = slabs_[i];
      if (p < s.base || p >= s.base + s.size) continue;
      if (--s.live == 0) {
        std::free(s.base);
        slabs_.erase(slabs_.begin() + (long)i);
      }
      return;
    }
    RLCD_CHECK(false, "WeightPool::release: a pointer the pool did not hand out");
  }

  // Slabs held now (tests).
  size_t slabs() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return slabs_.size();
  }

 private:
  struct Slab {
    char* base;
    size_t size, used;
    long live;
  };
  void add_slab(size_t bytes) {
    const size_t size = std::max(kSlab, (bytes + kHugePage - 1) / kHugePage * kHugePage);
    void* base = allocate_aligned(kHugePage, size);
    // The slab before keeps its unused tail (never touched, so never resident) until it empties.
    slabs_.push_back(Slab{static_cast<char*>(base), size, 0, 0});
  }

  mutable std::mutex mutex_;
  std::vector<Slab> slabs_;  // the last one is the one allocated from
};

// The process's pool (one for every model: a slab empties when its models are gone).
inline WeightPool& weight_pool() {
  static WeightPool* pool = new WeightPool();  // never destroyed: matrices may outlive static teardown
  return *pool;
}

}  // namespace rlcd
