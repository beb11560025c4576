// One 64-byte-aligned allocation (floats unless said otherwise). Parameters, activations and caches each live in one of
// these, with named views into it (see model/weights.h), so zeroing or an optimizer is a flat loop.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#include "check.h"
#include "huge_pages.h"
#include "weight_pool.h"

namespace rlcd {

// Zeroed memory, 64-byte aligned; free it with std::free. Large buffers (a trainer's parameters,
// gradients and moments, KV caches) sit on 2 MiB pages where the kernel allows it: a 4 KiB page
// costs a TLB miss every 64 cache lines of a stream. Packed weights use the weight pool instead
// (weight_pool.h), which puts matrices of any size on those pages.
inline void* allocate_zeroed(size_t bytes) {
  constexpr size_t kHugeThreshold = (size_t)8 << 20;
  const size_t align = bytes >= kHugeThreshold ? kHugePage : 64;
  const size_t rounded = ((bytes + align - 1) / align) * align;
  void* p = allocate_aligned(align, rounded);
  std::memset(p, 0, rounded);
  return p;
}

template <typename T>
class AlignedArray {
 public:
  AlignedArray() = default;
  explicit AlignedArray(size_t count) { resize(count); }
  AlignedArray(const AlignedArray&) = delete;
  AlignedArray& operator=(const AlignedArray&) = delete;
  AlignedArray(AlignedArray&& other) noexcept : data_(other.data_), size_(other.size_), pooled_(other.pooled_) {
    other.data_ = nullptr;
    other.size_ = 0;
  }
  AlignedArray& operator=(AlignedArray&& other) noexcept {
    if (this != &other) {
      release();
      data_ = other.data_;
      size_ = other.size_;
      pooled_ = other.pooled_;
      other.data_ = nullptr;
      other.size_ = 0;
    }
    return *this;
  }
  ~AlignedArray() { release(); }

  // Discards the contents; new memory is zeroed.
  void resize(size_t count) { reallocate(count, false); }
  // The same, in the weight pool (weight_pool.h): for packed weights that decoding streams.
  void resize_in_weight_pool(size_t count) { reallocate(count, true); }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  void release() {
    if (pooled_) weight_pool().release(data_);
    else std::free(data_);
    data_ = nullptr;
    size_ = 0;
  }
  void reallocate(size_t count, bool pooled) {
    release();
    pooled_ = pooled;
    if (count == 0) return;
    data_ = static_cast<T*>(pooled ? weight_pool().allocate(count * sizeof(T)) : allocate_zeroed(count * sizeof(T)));
    size_ = count;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  bool pooled_ = false;
};

using AlignedBuffer = AlignedArray<float>;

}  // namespace rlcd
