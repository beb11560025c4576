// The memory-bound ops: copies, row gathers/scatters, embeddings, RMSNorm, RoPE, SwiGLU and the
// scalar head. Reductions (row sums, column sums) run in a fixed order, so results repeat run to
// run; only embedding_backward adds with atomics (a token may repeat within a batch).
#include "cuda_common.cuh"

namespace rlcd {
namespace cuda {

namespace {

#define GRID_STRIDE(i, n) for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long)gridDim.x * blockDim.x)

__global__ void add_kernel(float* out, const float* a, const float* b, long n) {
  GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}
__global__ void scale_kernel(float* out, const float* x, float s, long n) {
  GRID_STRIDE(i, n) out[i] = x[i] * s;
}
__global__ void add_bias_kernel(float* __restrict__ y, long ldy, const float* __restrict__ bias, int M, int N) {
  const long total = (long)M * N;
  GRID_STRIDE(i, total) {
    const long r = i / N;
    const int j = (int)(i % N);
    y[r * ldy + j] += bias[j];
  }
}
// out row i = x row rows[i]  (gather_rows, embedding_forward)
__global__ void gather_kernel(float* __restrict__ out, const float* __restrict__ x, const int* __restrict__ rows, int R, int C) {
  const long total = (long)R * C;
  GRID_STRIDE(i, total) {
    const long r = i / C;
    const int c = (int)(i % C);
    out[i] = x[(long)rows[r] * C + c];
  }
}
// dx row rows[i] += src row i; rows are distinct (the contract), so no two threads meet.
__global__ void scatter_add_kernel(float* __restrict__ dx, const float* __restrict__ src, const int* __restrict__ rows, int R, int C) {
  const long total = (long)R * C;
  GRID_STRIDE(i, total) {
    const long r = i / C;
    const int c = (int)(i % C);
    dx[(long)rows[r] * C + c] += src[i];
  }
}
__global__ void embedding_backward_kernel(float* __restrict__ dtable, const float* __restrict__ dout, const int* __restrict__ tokens,
                                          int N, int C) {
  const long total = (long)N * C;
  GRID_STRIDE(i, total) {
    const long n = i / C;
    const int c = (int)(i % C);
    atomicAdd(dtable + (long)tokens[n] * C + c, dout[i]);
  }
}

// ---- column sums: dst[c] += sum_r f(r, c), in two fixed-order stages ----------------------------
// Stage 1: a block of 32 columns x 8 row lanes sums one chunk of rows (each lane every 8th row, then
// the 8 lanes in order); with one chunk it adds straight into dst, else it writes partial[chunk][c].
// Stage 2: each column sums the chunks in order into dst.
constexpr int kColRows = 8;

template <class F>
__global__ void __launch_bounds__(32 * kColRows)
    colsum_partial_kernel(float* __restrict__ dst, float* __restrict__ partial, F f, int M, int C, int chunk_rows) {
  __shared__ float sh[kColRows][33];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int c = blockIdx.x * 32 + tx;
  const long r0 = (long)blockIdx.y * chunk_rows;
  const long r1 = min((long)M, r0 + chunk_rows);
  float s = 0.0f;
  if (c < C)
    for (long r = r0 + ty; r < r1; r += kColRows) s += f(r, c);
  sh[ty][tx] = s;
  __syncthreads();
  if (ty == 0 && c < C) {
    float t = sh[0][tx];
#pragma unroll
    for (int j = 1; j < kColRows; j++) t += sh[j][tx];
    if (partial) partial[(long)blockIdx.y * C + c] = t;
    else dst[c] += t;
  }
}
__global__ void colsum_reduce_kernel(float* __restrict__ dst, const float* __restrict__ partial, int chunks, int C) {
  GRID_STRIDE(c, (long)C) {
    float t = 0.0f;
    for (int k = 0; k < chunks; k++) t += partial[(long)k * C + c];
    dst[c] += t;
  }
}

template <class F>
void column_sums_of(const Ctx& ctx, float* dst, F f, int M, int C, const char* what) {
  if (M <= 0 || C <= 0) return;
  int chunk_rows = 64;
  while ((M + chunk_rows - 1) / chunk_rows > 65535) chunk_rows *= 2;
  const int chunks = (M + chunk_rows - 1) / chunk_rows;
  float* partial = chunks > 1 ? ctx.ws->floats((size_t)chunks * C, what) : nullptr;
  const dim3 grid((unsigned)((C + 31) / 32), (unsigned)chunks);
  colsum_partial_kernel<<<grid, dim3(32, kColRows), 0, ctx.stream>>>(dst, partial, f, M, C, chunk_rows);
  check_launch(what);
  if (partial) {
    colsum_reduce_kernel<<<grid_for(C), kThreads, 0, ctx.stream>>>(dst, partial, chunks, C);
    check_launch(what);
  }
}

struct StridedRows {
  const float* __restrict__ p;
  long ld;
  __device__ __forceinline__ float operator()(long r, int c) const { return p[r * ld + c]; }
};
struct RmsWeightGrad {  // dy x rstd
  const float* __restrict__ dy;
  const float* __restrict__ x;
  const float* __restrict__ rstd;
  int C;
  __device__ __forceinline__ float operator()(long r, int c) const { return dy[r * C + c] * x[r * C + c] * rstd[r]; }
};
struct HeadWeightGrad {  // dout[r] x[r][c], and dout[r] for the bias column c == C
  const float* __restrict__ dout;
  const float* __restrict__ x;
  int C;
  __device__ __forceinline__ float operator()(long r, int c) const { return c < C ? dout[r] * x[r * C + c] : dout[r]; }
};

// ---- RMSNorm (out may be inp) -----------------------------------------------------------------------------------
constexpr int kRowThreads = 256;

__global__ void __launch_bounds__(kRowThreads)
    rmsnorm_kernel(float* out, const float* inp, const int* __restrict__ rows,
                   const float* __restrict__ weight, int C, float eps, float* __restrict__ rstd_out) {
  __shared__ float red[32];
  const long n = blockIdx.x;
  const float* x = inp + (rows ? (long)rows[n] : n) * C;
  float ss = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) ss = fmaf(x[c], x[c], ss);
  ss = block_sum(ss, red);
  const float rstd = 1.0f / sqrtf(ss / (float)C + eps);
  if (rstd_out && threadIdx.x == 0) rstd_out[n] = rstd;
  float* o = out + n * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = x[c] * rstd * weight[c];
}

// dx = r (dy w) - r^3 / C x sum(dy w x)
__global__ void __launch_bounds__(kRowThreads)
    rmsnorm_backward_kernel(float* dinp, const float* dout, const float* inp,
                            const float* __restrict__ weight, const float* __restrict__ rstd, int C) {
  __shared__ float red[32];
  const long n = blockIdx.x;
  const float* x = inp + n * C;
  const float* dy = dout + n * C;
  float s = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) s += dy[c] * weight[c] * x[c];
  s = block_sum(s, red);
  const float r = rstd[n];
  const float k = r * r * r / (float)C * s;
  float* dx = dinp + n * C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) dx[c] = r * dy[c] * weight[c] - k * x[c];
}

// ---- RoPE --------------------------------------------------------------------------------------
// Rotates pair i of the head at v by (c, s).
__device__ __forceinline__ void rotate_pair(float* v, int i, int half, bool interleaved, float c, float s) {
  if (!interleaved) {
    const float a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = b * c + a * s;
  } else {
    const float a = v[2 * i], b = v[2 * i + 1];
    v[2 * i] = a * c - b * s;
    v[2 * i + 1] = a * s + b * c;
  }
}

__global__ void rope_kernel(float* __restrict__ x, long stride, const int* __restrict__ pos, int N, int heads, int HS,
                            bool interleaved, const float* __restrict__ cos_t, const float* __restrict__ sin_t, float sign) {
  const int half = HS / 2;
  const long per_row = (long)heads * half, total = (long)N * per_row;
  GRID_STRIDE(idx, total) {
    const long n = idx / per_row;
    const int rem = (int)(idx % per_row), h = rem / half, i = rem % half;
    const long t = (long)pos[n] * half + i;
    rotate_pair(x + n * stride + (long)h * HS, i, half, interleaved, cos_t[t], sign * sin_t[t]);
  }
}

// One row a block: RoPE on q (NH heads) and k (NKV heads); the rotated k pairs and the row's v go
// into the cache at (slot, pos).
__global__ void rope_and_cache_kernel(float* __restrict__ qkv, long stride, const int* __restrict__ pos,
                                      const int* __restrict__ slot, int NH, int NKV, int HS, bool interleaved,
                                      const float* __restrict__ cos_t, const float* __restrict__ sin_t,
                                      float* __restrict__ kc, float* __restrict__ vc, int t_max, int kvd) {
  const int half = HS / 2;
  const long n = blockIdx.x;
  const int p = pos[n];
  float* row = qkv + n * stride;
  const long QD = (long)NH * HS;
  const long off = ((long)slot[n] * t_max + p) * kvd;
  const int pairs = (NH + NKV) * half;
  for (int j = threadIdx.x; j < pairs; j += blockDim.x) {
    const int h = j / half, i = j % half;
    const long t = (long)p * half + i;
    const bool is_k = h >= NH;
    const long head = is_k ? QD + (long)(h - NH) * HS : (long)h * HS;
    float* v = row + head;
    rotate_pair(v, i, half, interleaved, cos_t[t], sin_t[t]);
    if (is_k) {
      float* dst = kc + off + (long)(h - NH) * HS;
      const int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
      dst[a] = v[a];
      dst[b] = v[b];
    }
  }
  const float* vsrc = row + QD + kvd;
  for (int j = threadIdx.x; j < kvd; j += blockDim.x) vc[off + j] = vsrc[j];
}

// ---- SwiGLU ------------------------------------------------------------------------------------
__global__ void swiglu_kernel(float* __restrict__ out, const float* __restrict__ gate_up, int N, int H) {
  const long total = (long)N * H;
  GRID_STRIDE(idx, total) {
    const long n = idx / H;
    const int i = (int)(idx % H);
    const float* row = gate_up + n * 2 * H;
    const float g = row[i];
    out[idx] = g / (1.0f + expf(-g)) * row[H + i];
  }
}
// silu(g) = g s(g); silu'(g) = s(g) (1 + g (1 - s(g)))
__global__ void swiglu_backward_kernel(float* __restrict__ dgate_up, const float* __restrict__ dout,
                                       const float* __restrict__ gate_up, int N, int H) {
  const long total = (long)N * H;
  GRID_STRIDE(idx, total) {
    const long n = idx / H;
    const int i = (int)(idx % H);
    const float g = gate_up[n * 2 * H + i], u = gate_up[n * 2 * H + H + i], dy = dout[idx];
    const float s = 1.0f / (1.0f + expf(-g));
    dgate_up[n * 2 * H + H + i] = dy * g * s;
    dgate_up[n * 2 * H + i] = dy * u * s * (1.0f + g * (1.0f - s));
  }
}

// ---- scalar head -------------------------------------------------------------------------------
__global__ void head_forward_kernel(float* __restrict__ out, const float* __restrict__ x, const float* __restrict__ w, int N, int C) {
  const int lane = threadIdx.x & 31;
  const long n = (long)blockIdx.x * (blockDim.x / 32) + (threadIdx.x >> 5);
  if (n >= N) return;
  const float* xr = x + n * C;
  float s = 0.0f;
  for (int c = lane; c < C; c += 32) s = fmaf(xr[c], w[c], s);
  s = warp_sum(s);
  if (lane == 0) out[n] = s + w[C];
}
__global__ void head_backward_dx_kernel(float* __restrict__ dx, const float* __restrict__ dout, const float* __restrict__ w, int N, int C) {
  const long total = (long)N * C;
  GRID_STRIDE(idx, total) {
    const long n = idx / C;
    const int j = (int)(idx % C);
    dx[idx] += dout[n] * w[j];
  }
}

#undef GRID_STRIDE

}  // namespace

void copy(const Ctx& ctx, float* dst, const float* src, long n) {
  if (n <= 0 || dst == src) return;
  check(cudaMemcpyAsync(dst, src, (size_t)n * sizeof(float), cudaMemcpyDeviceToDevice, ctx.stream), "copy");
}
void zero(const Ctx& ctx, float* dst, long n) {
  if (n <= 0) return;
  check(cudaMemsetAsync(dst, 0, (size_t)n * sizeof(float), ctx.stream), "zero");
}
void add(const Ctx& ctx, float* out, const float* a, const float* b, long n) {
  if (n <= 0) return;
  add_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(out, a, b, n);
  check_launch("add");
}
void scale(const Ctx& ctx, float* out, const float* x, float s, long n) {
  if (n <= 0) return;
  scale_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(out, x, s, n);
  check_launch("scale");
}
void add_bias(const Ctx& ctx, float* y, long ldy, const float* bias, int M, int N) {
  if (M <= 0 || N <= 0) return;
  add_bias_kernel<<<grid_for((long)M * N), kThreads, 0, ctx.stream>>>(y, ldy, bias, M, N);
  check_launch("add_bias");
}
void column_sums(const Ctx& ctx, float* dbias, const float* dy, long lddy, int M, int N) {
  column_sums_of(ctx, dbias, StridedRows{dy, lddy}, M, N, "column_sums");
}
void gather_rows(const Ctx& ctx, float* out, const float* x, const int* rows, int R, int C) {
  if (R <= 0 || C <= 0) return;
  gather_kernel<<<grid_for((long)R * C), kThreads, 0, ctx.stream>>>(out, x, rows, R, C);
  check_launch("gather_rows");
}
void scatter_add_rows(const Ctx& ctx, float* dx, const float* src, const int* rows, int R, int C) {
  if (R <= 0 || C <= 0) return;
  scatter_add_kernel<<<grid_for((long)R * C), kThreads, 0, ctx.stream>>>(dx, src, rows, R, C);
  check_launch("scatter_add_rows");
}
void embedding_forward(const Ctx& ctx, float* out, const int* tokens, const float* table, int N, int C) {
  if (N <= 0 || C <= 0) return;
  gather_kernel<<<grid_for((long)N * C), kThreads, 0, ctx.stream>>>(out, table, tokens, N, C);
  check_launch("embedding_forward");
}
void embedding_backward(const Ctx& ctx, float* dtable, const float* dout, const int* tokens, int N, int C) {
  if (N <= 0 || C <= 0) return;
  embedding_backward_kernel<<<grid_for((long)N * C), kThreads, 0, ctx.stream>>>(dtable, dout, tokens, N, C);
  check_launch("embedding_backward");
}
void rmsnorm_forward(const Ctx& ctx, float* out, const float* inp, const int* rows, const float* weight, int N, int C,
                     float eps, float* rstd) {
  if (N <= 0 || C <= 0) return;
  rmsnorm_kernel<<<(unsigned)N, kRowThreads, 0, ctx.stream>>>(out, inp, rows, weight, C, eps, rstd);
  check_launch(rows ? "rmsnorm_rows" : "rmsnorm_forward");
}
void rmsnorm_backward(const Ctx& ctx, float* dinp, float* dweight, const float* dout, const float* inp,
                      const float* weight, const float* rstd, int N, int C) {
  if (N <= 0 || C <= 0) return;
  rmsnorm_backward_kernel<<<(unsigned)N, kRowThreads, 0, ctx.stream>>>(dinp, dout, inp, weight, rstd, C);
  check_launch("rmsnorm_backward");
  column_sums_of(ctx, dweight, RmsWeightGrad{dout, inp, rstd, C}, N, C, "rmsnorm_backward");
}
void rope(const Ctx& ctx, float* x, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
          const float* cos, const float* sin, float sign) {
  const long total = (long)N * heads * (HS / 2);
  if (total <= 0) return;
  rope_kernel<<<grid_for(total), kThreads, 0, ctx.stream>>>(x, stride, pos, N, heads, HS, style == RopeStyle::Interleaved,
                                                            cos, sin, sign);
  check_launch(sign > 0 ? "rope_forward" : "rope_backward");
}
void rope_and_cache(const Ctx& ctx, float* qkv, long stride, const int* pos, const int* slot, int N, int NH, int NKV,
                    int HS, RopeStyle style, const float* cos, const float* sin, const KVView& cache) {
  if (N <= 0) return;
  rope_and_cache_kernel<<<(unsigned)N, 128, 0, ctx.stream>>>(qkv, stride, pos, slot, NH, NKV, HS,
                                                             style == RopeStyle::Interleaved, cos, sin, cache.k, cache.v,
                                                             cache.t_max, cache.kvd);
  check_launch("rope_and_cache");
}
void swiglu_forward(const Ctx& ctx, float* out, const float* gate_up, int N, int H) {
  if (N <= 0 || H <= 0) return;
  swiglu_kernel<<<grid_for((long)N * H), kThreads, 0, ctx.stream>>>(out, gate_up, N, H);
  check_launch("swiglu_forward");
}
void swiglu_backward(const Ctx& ctx, float* dgate_up, const float* dout, const float* gate_up, int N, int H) {
  if (N <= 0 || H <= 0) return;
  swiglu_backward_kernel<<<grid_for((long)N * H), kThreads, 0, ctx.stream>>>(dgate_up, dout, gate_up, N, H);
  check_launch("swiglu_backward");
}
void head_forward(const Ctx& ctx, float* out, const float* x, const float* w, int N, int C) {
  if (N <= 0) return;
  const int warps = kThreads / 32;
  head_forward_kernel<<<(unsigned)((N + warps - 1) / warps), kThreads, 0, ctx.stream>>>(out, x, w, N, C);
  check_launch("head_forward");
}
void head_backward(const Ctx& ctx, float* dx, float* dw, const float* dout, const float* x, const float* w, int N, int C) {
  if (N <= 0) return;
  if (C > 0) {
    head_backward_dx_kernel<<<grid_for((long)N * C), kThreads, 0, ctx.stream>>>(dx, dout, w, N, C);
    check_launch("head_backward");
  }
  column_sums_of(ctx, dw, HeadWeightGrad{dout, x, C}, N, C + 1, "head_backward");
}

}  // namespace cuda
}  // namespace rlcd
