// Inference weights on the GPU: row-major (N, K) in their stored type (f32, bf16 bits, f16 bits, or
// q8_0: int8 plus one f32 scale per 32 consecutive k of a row, the scale rounded through f16 as
// pack_weight does). The matmul widens each weight in registers and accumulates in f32:
//   M <= 8 (decoding): one warp per output column; lanes split k in 4-wide chunks, then a fixed
//                      butterfly sum. The weight is read once for all rows.
//   larger M:          the tiled SGEMM (gemm_tile.cuh) with a loader that widens on the way to
//                      shared memory; every output one FMA chain over k in order.
// In both, a row's result does not depend on the other rows of the call (only on which of the two
// paths M selects).
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../kernels/half.h"
#include "gemm_tile.cuh"

namespace rlcd {
namespace cuda {

namespace {

class CudaMatrix final : public Matrix {
 public:
  int N = 0, K = 0;
  WeightType wtype = WeightType::F32;
  void* weights = nullptr;  // (N, K) elements of the type
  float* scales = nullptr;  // q8_0: (N, K / 32)
  size_t weight_bytes = 0, scale_bytes = 0;

  ~CudaMatrix() override {
    if (weights) cudaFree(weights);
    if (scales) cudaFree(scales);
  }
  int rows() const override { return N; }
  int cols() const override { return K; }
  WeightType type() const override { return wtype; }
  size_t bytes() const override { return weight_bytes + scale_bytes; }
};

// ---- weight loaders in (n, k) form (the tile kernel's B operand) --------------------------------

struct F32W {
  static constexpr bool kFastK = true;
  const float* __restrict__ p;
  long K;
  __device__ __forceinline__ float operator()(long n, long k) const { return __ldg(p + n * K + k); }
  __device__ __forceinline__ void load4(long n, long k, float (&w)[4]) const {
    const float4 v = __ldg(reinterpret_cast<const float4*>(p + n * K + k));
    w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
  }
  __device__ __forceinline__ F32W shifted(long) const { return *this; }
};

__device__ __forceinline__ float bf16_bits(unsigned int h) { return __uint_as_float(h << 16); }
__device__ __forceinline__ float f16_bits(unsigned short h) { return __half2float(__ushort_as_half(h)); }

struct Bf16W {
  static constexpr bool kFastK = true;
  const unsigned short* __restrict__ p;
  long K;
  __device__ __forceinline__ float operator()(long n, long k) const { return bf16_bits(__ldg(p + n * K + k)); }
  __device__ __forceinline__ void load4(long n, long k, float (&w)[4]) const {
    const uint2 v = __ldg(reinterpret_cast<const uint2*>(p + n * K + k));
    w[0] = __uint_as_float(v.x << 16), w[1] = __uint_as_float(v.x & 0xffff0000u);
    w[2] = __uint_as_float(v.y << 16), w[3] = __uint_as_float(v.y & 0xffff0000u);
  }
  __device__ __forceinline__ Bf16W shifted(long) const { return *this; }
};

struct F16W {
  static constexpr bool kFastK = true;
  const unsigned short* __restrict__ p;
  long K;
  __device__ __forceinline__ float operator()(long n, long k) const { return f16_bits(__ldg(p + n * K + k)); }
  __device__ __forceinline__ void load4(long n, long k, float (&w)[4]) const {
    const uint2 v = __ldg(reinterpret_cast<const uint2*>(p + n * K + k));
    w[0] = f16_bits((unsigned short)(v.x & 0xffffu)), w[1] = f16_bits((unsigned short)(v.x >> 16));
    w[2] = f16_bits((unsigned short)(v.y & 0xffffu)), w[3] = f16_bits((unsigned short)(v.y >> 16));
  }
  __device__ __forceinline__ F16W shifted(long) const { return *this; }
};

struct Q8W {
  static constexpr bool kFastK = true;
  const signed char* __restrict__ q;
  const float* __restrict__ s;
  long K, KB;  // KB = K / 32
  __device__ __forceinline__ float operator()(long n, long k) const {
    return (float)__ldg(q + n * K + k) * __ldg(s + n * KB + k / kQ8Block);
  }
  __device__ __forceinline__ void load4(long n, long k, float (&w)[4]) const {
    const char4 v = __ldg(reinterpret_cast<const char4*>(q + n * K + k));
    const float d = __ldg(s + n * KB + k / kQ8Block);  // k % 4 == 0: the four share one block
    w[0] = (float)v.x * d, w[1] = (float)v.y * d, w[2] = (float)v.z * d, w[3] = (float)v.w * d;
  }
  __device__ __forceinline__ Q8W shifted(long) const { return *this; }
};

// ---- small-M path -------------------------------------------------------------------------------

constexpr int kGemvWarps = 8;

template <int MR, class W>
__global__ void __launch_bounds__(kGemvWarps * 32)
    gemv_kernel(float* __restrict__ out, const float* __restrict__ inp, W w, const float* __restrict__ bias, int M,
                int N, int K, bool accumulate, bool inp_vec) {
  const int lane = threadIdx.x & 31;
  const int n = blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
  if (n >= N) return;
  float acc[MR];
#pragma unroll
  for (int m = 0; m < MR; m++) acc[m] = 0.0f;
  if ((K & 3) == 0) {
#pragma unroll 2
    for (int k = lane * 4; k < K; k += 128) {
      float wv[4];
      w.load4(n, k, wv);
#pragma unroll
      for (int m = 0; m < MR; m++) {
        if (m >= M) continue;
        const float* x = inp + (long)m * K + k;
        float xv[4];
        if (inp_vec) {
          const float4 v = __ldg(reinterpret_cast<const float4*>(x));
          xv[0] = v.x, xv[1] = v.y, xv[2] = v.z, xv[3] = v.w;
        } else {
          xv[0] = __ldg(x), xv[1] = __ldg(x + 1), xv[2] = __ldg(x + 2), xv[3] = __ldg(x + 3);
        }
        acc[m] = fmaf(xv[0], wv[0], acc[m]);
        acc[m] = fmaf(xv[1], wv[1], acc[m]);
        acc[m] = fmaf(xv[2], wv[2], acc[m]);
        acc[m] = fmaf(xv[3], wv[3], acc[m]);
      }
    }
  } else {
    for (int k = lane; k < K; k += 32) {
      const float wk = w(n, k);
#pragma unroll
      for (int m = 0; m < MR; m++) {
        if (m >= M) continue;
        acc[m] = fmaf(__ldg(inp + (long)m * K + k), wk, acc[m]);
      }
    }
  }
#pragma unroll
  for (int m = 0; m < MR; m++) {
    const float s = warp_sum(acc[m]);  // every lane takes part in the shuffles
    if (lane == 0 && m < M) {
      const float v = s + (bias ? bias[n] : 0.0f);
      float* dst = out + (long)m * N + n;
      *dst = accumulate ? *dst + v : v;
    }
  }
}

template <class W>
void launch_gemv(const Ctx& ctx, float* out, const float* inp, W w, const float* bias, int M, int N, int K,
                 bool accumulate) {
  const bool inp_vec = (reinterpret_cast<uintptr_t>(inp) & 15) == 0;  // rows then stay aligned (K % 4 == 0)
  const unsigned blocks = (unsigned)((N + kGemvWarps - 1) / kGemvWarps);
  const int threads = kGemvWarps * 32;
  if (M <= 1)
    gemv_kernel<1, W><<<blocks, threads, 0, ctx.stream>>>(out, inp, w, bias, M, N, K, accumulate, inp_vec);
  else if (M <= 2)
    gemv_kernel<2, W><<<blocks, threads, 0, ctx.stream>>>(out, inp, w, bias, M, N, K, accumulate, inp_vec);
  else if (M <= 4)
    gemv_kernel<4, W><<<blocks, threads, 0, ctx.stream>>>(out, inp, w, bias, M, N, K, accumulate, inp_vec);
  else
    gemv_kernel<8, W><<<blocks, threads, 0, ctx.stream>>>(out, inp, w, bias, M, N, K, accumulate, inp_vec);
  check_launch("matmul (gemv)");
}

template <class W>
void dispatch(const Ctx& ctx, float* out, const float* inp, W w, const float* bias, int M, int N, int K,
              bool accumulate) {
  if (M <= 8) {
    launch_gemv(ctx, out, inp, w, bias, M, N, K, accumulate);
    return;
  }
  StridedLoader<true> a{inp, (long)K, 1};
  launch_gemm(ctx, M, N, K, a, BatchMap{}, w, BatchMap{}, out, (long)N, BatchMap{}, 1, bias, accumulate, Causal::None,
              "matmul");
}

// On the backend's stream (which does not wait for the legacy default stream), then waited for:
// the host staging vectors die with pack_matrix.
void upload_sync(const Ctx& ctx, void* dst, const void* src, size_t bytes) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, ctx.stream), "pack");
  check(cudaStreamSynchronize(ctx.stream), "pack");
}

template <class W>
__global__ void unpack_kernel(float* __restrict__ out, W w, long N, long K) {
  const long i = (long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < N * K) out[i] = w(i / K, i % K);
}

template <class W>
void launch_unpack(const Ctx& ctx, float* out, W w, long N, long K) {
  const long count = N * K;
  unpack_kernel<W><<<(unsigned)((count + 255) / 256), 256, 0, ctx.stream>>>(out, w, N, K);
  check_launch("unpack");
}

}  // namespace

std::unique_ptr<Matrix> pack_matrix(const Ctx& ctx, SourceWeights host, int N, int K, WeightType type) {
  RLCD_REQUIRE(host.type == WeightType::F32 || host.type == WeightType::BF16 || host.type == WeightType::F16,
               "pack_weight: a source is f32, bf16 or f16, not ", weight_type_name(host.type));
  RLCD_REQUIRE(N >= 0 && K >= 0, "pack: bad shape ", N, " x ", K);
  if (type == WeightType::Q8_0 && K % kQ8Block != 0) type = WeightType::F16;  // as pack_weight
  auto m = std::make_unique<CudaMatrix>();
  m->N = N;
  m->K = K;
  m->wtype = type;
  const size_t count = (size_t)N * K;
  const bool same_half = host.type == type && type != WeightType::F32;
  const uint16_t* bits = static_cast<const uint16_t*>(host.data);
  switch (type) {
    case WeightType::F32: {
      std::vector<float> w(count);
      for (size_t i = 0; i < count; i++) w[i] = host.at(i);
      m->weight_bytes = count * sizeof(float);
      if (count) check(cudaMalloc(&m->weights, m->weight_bytes), "pack");
      if (count) upload_sync(ctx, m->weights, w.data(), m->weight_bytes);
      break;
    }
    case WeightType::BF16:
    case WeightType::F16: {
      std::vector<uint16_t> w(count);
      for (size_t i = 0; i < count; i++)
        w[i] = same_half ? bits[i] : type == WeightType::BF16 ? f32_to_bf16(host.at(i)) : f32_to_f16(host.at(i));
      m->weight_bytes = count * sizeof(uint16_t);
      if (count) check(cudaMalloc(&m->weights, m->weight_bytes), "pack");
      if (count) upload_sync(ctx, m->weights, w.data(), m->weight_bytes);
      break;
    }
    case WeightType::Q8_0: {
      // ggml's quantize_row_q8_0 as pack_weight does it: d = max|x| / 127, kept as f16; q = round(x / d)
      // computed as lround(x * (1 / d)) with the unrounded d.
      const int KB = K / kQ8Block;
      std::vector<int8_t> q(count);
      std::vector<float> s((size_t)N * KB);
      for (int n = 0; n < N; n++)
        for (int b = 0; b < KB; b++) {
          const size_t row = (size_t)n * K;
          float amax = 0;
          for (int k = b * kQ8Block; k < (b + 1) * kQ8Block; k++) amax = std::max(amax, std::fabs(host.at(row + k)));
          const float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
          s[(size_t)n * KB + b] = f16_to_f32(f32_to_f16(d));
          for (int k = b * kQ8Block; k < (b + 1) * kQ8Block; k++) q[row + k] = (int8_t)std::lround(host.at(row + k) * id);
        }
      m->weight_bytes = count;
      m->scale_bytes = s.size() * sizeof(float);
      if (count) {
        check(cudaMalloc(&m->weights, m->weight_bytes), "pack");
        check(cudaMalloc(reinterpret_cast<void**>(&m->scales), m->scale_bytes), "pack");
        upload_sync(ctx, m->weights, q.data(), m->weight_bytes);
        upload_sync(ctx, m->scales, s.data(), m->scale_bytes);
      }
      break;
    }
  }
  return m;
}

void matmul(const Ctx& ctx, float* out, const float* inp, const Matrix& w, const float* bias, int M, bool accumulate) {
  const auto* m = dynamic_cast<const CudaMatrix*>(&w);
  RLCD_CHECK(m, "matmul: the weight was packed by another backend");
  const int N = m->N, K = m->K;
  if (M <= 0 || N <= 0) return;
  switch (m->wtype) {
    case WeightType::F32:
      dispatch(ctx, out, inp, F32W{static_cast<const float*>(m->weights), K}, bias, M, N, K, accumulate);
      break;
    case WeightType::BF16:
      dispatch(ctx, out, inp, Bf16W{static_cast<const unsigned short*>(m->weights), K}, bias, M, N, K, accumulate);
      break;
    case WeightType::F16:
      dispatch(ctx, out, inp, F16W{static_cast<const unsigned short*>(m->weights), K}, bias, M, N, K, accumulate);
      break;
    case WeightType::Q8_0:
      dispatch(ctx, out, inp, Q8W{static_cast<const signed char*>(m->weights), m->scales, K, K / kQ8Block}, bias, M, N,
               K, accumulate);
      break;
  }
}

void unpack(const Ctx& ctx, float* out, const Matrix& w) {
  const auto* m = dynamic_cast<const CudaMatrix*>(&w);
  RLCD_CHECK(m, "unpack: the weight was packed by another backend");
  const long N = m->N, K = m->K;
  if (N * K == 0) return;
  switch (m->wtype) {
    case WeightType::F32: launch_unpack(ctx, out, F32W{static_cast<const float*>(m->weights), K}, N, K); break;
    case WeightType::BF16: launch_unpack(ctx, out, Bf16W{static_cast<const unsigned short*>(m->weights), K}, N, K); break;
    case WeightType::F16: launch_unpack(ctx, out, F16W{static_cast<const unsigned short*>(m->weights), K}, N, K); break;
    case WeightType::Q8_0:
      launch_unpack(ctx, out, Q8W{static_cast<const signed char*>(m->weights), m->scales, K, K / kQ8Block}, N, K);
      break;
  }
}

}  // namespace cuda
}  // namespace rlcd
