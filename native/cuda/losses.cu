// Token log-probabilities, entropy and their gradients (one block per row of logits, block
// reductions in a fixed order), the gradient sum of squares in double, and the AdamW step.
#include <cmath>

#include "cuda_common.cuh"

namespace rlcd {
namespace cuda {

namespace {

constexpr int kLossThreads = 512;

// Row statistics of softmax(row): max, sum of exp(x - max) and (when wanted) sum of exp(x - max) x.
struct RowStats {
  float mx, sum, dot;
};
template <bool WithDot>
__device__ RowStats row_stats(const float* __restrict__ row, int V, float* red) {
  float mx = -INFINITY;
  for (int i = threadIdx.x; i < V; i += blockDim.x) mx = fmaxf(mx, row[i]);
  mx = block_max(mx, red);
  float sum = 0.0f, dot = 0.0f;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    const float x = row[i], e = expf(x - mx);
    sum += e;
    if (WithDot) dot = fmaf(e, x, dot);
  }
  sum = block_sum(sum, red);
  if (WithDot) dot = block_sum(dot, red);
  return {mx, sum, dot};
}

// logprobs[n] = row[target] - logsumexp(row) (when logprobs is non-null); entropy[n] = lse - sum(e x) / sum(e)
// when wanted.
template <bool WithEntropy>
__global__ void __launch_bounds__(kLossThreads)
    logprobs_kernel(float* __restrict__ logprobs, float* __restrict__ entropy, const float* __restrict__ logits,
                    const int* __restrict__ targets, int V) {
  __shared__ float red[32];
  const long n = blockIdx.x;
  const float* row = logits + n * V;
  const RowStats st = row_stats<WithEntropy>(row, V, red);
  if (threadIdx.x != 0) return;
  const float lse = isinf(st.mx) ? st.mx : st.mx + logf(st.sum);
  if (logprobs) logprobs[n] = row[targets[n]] - lse;
  if (WithEntropy) entropy[n] = lse - (1.0f / st.sum) * st.dot;
}

// dlogits[n] = dlogprobs[n] * (onehot(target) - softmax(row)); zeros where dlogprobs[n] == 0.
__global__ void __launch_bounds__(kLossThreads)
    logprobs_backward_kernel(float* __restrict__ dlogits, const float* __restrict__ logits, const int* __restrict__ targets,
                             const float* __restrict__ dlogprobs, int V) {
  __shared__ float red[32];
  const long n = blockIdx.x;
  float* d = dlogits + n * V;
  const float g = dlogprobs[n];
  if (g == 0.0f) {
    for (int i = threadIdx.x; i < V; i += blockDim.x) d[i] = 0.0f;
    return;
  }
  const float* row = logits + n * V;
  const RowStats st = row_stats<false>(row, V, red);
  const float inv = 1.0f / st.sum;
  const int t = targets[n];
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    const float v = expf(row[i] - st.mx) * inv * -g;
    d[i] = i == t ? v + g : v;
  }
}

// dlogits[n] += dentropy[n] * dH/dz,  dH/dz_i = -p_i (z_i - lse + H); rows with dentropy 0 untouched.
__global__ void __launch_bounds__(kLossThreads)
    entropy_backward_kernel(float* __restrict__ dlogits, const float* __restrict__ logits, const float* __restrict__ dentropy,
                            int V) {
  __shared__ float red[32];
  const long n = blockIdx.x;
  const float g = dentropy[n];
  if (g == 0.0f) return;
  const float* row = logits + n * V;
  const RowStats st = row_stats<true>(row, V, red);
  const float inv = 1.0f / st.sum;
  const float lse = st.mx + logf(st.sum);
  const float h = lse - inv * st.dot, shift = h - lse, sc = -g * inv;
  float* d = dlogits + n * V;
  for (int i = threadIdx.x; i < V; i += blockDim.x) {
    const float x = row[i];
    d[i] += sc * expf(x - st.mx) * (x + shift);
  }
}

// ---- sum of squares in double: a fixed partition (depends on n only), then the partials in order
constexpr int kSumThreads = 256;
constexpr long kSumChunk = 16384;  // elements a block

__device__ double block_sum_double(double v, double* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  double t = lane < warps ? shared[lane] : 0.0;
  return warp_sum(t);
}

__global__ void __launch_bounds__(kSumThreads) sum_squares_partial_kernel(double* __restrict__ partial, const float* __restrict__ g, long n) {
  __shared__ double red[32];
  const long b0 = (long)blockIdx.x * kSumChunk, b1 = min(n, b0 + kSumChunk);
  double s = 0.0;
  for (long i = b0 + threadIdx.x; i < b1; i += blockDim.x) {
    const double x = g[i];
    s += x * x;
  }
  s = block_sum_double(s, red);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}
__global__ void __launch_bounds__(1024) sum_partials_kernel(double* __restrict__ result, const double* __restrict__ partial, long count) {
  __shared__ double red[32];
  double s = 0.0;
  for (long i = threadIdx.x; i < count; i += blockDim.x) s += partial[i];
  s = block_sum_double(s, red);
  if (threadIdx.x == 0) *result = s;
}

// ---- AdamW (optim/adamw.cpp's update, after grad *= grad_scale) ---------------------------------
__global__ void adamw_kernel(float* __restrict__ param, float* __restrict__ grad, float* __restrict__ m, float* __restrict__ v,
                             long n, float beta1, float beta2, float eps, float step_size, float inv_sqrt_bc2, float decay,
                             float grad_scale) {
  for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long)gridDim.x * blockDim.x) {
    float g = grad[i];
    if (grad_scale != 1.0f) {
      g *= grad_scale;
      grad[i] = g;
    }
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float denom = sqrtf(vi) * inv_sqrt_bc2 + eps;
    param[i] = param[i] * decay - step_size * mi / denom;
  }
}

}  // namespace

void logprobs_forward(const Ctx& ctx, float* logprobs, float* entropy, const float* logits, const int* targets, int N,
                      int V) {
  if (N <= 0) return;
  if (entropy)
    logprobs_kernel<true><<<(unsigned)N, kLossThreads, 0, ctx.stream>>>(logprobs, entropy, logits, targets, V);
  else
    logprobs_kernel<false><<<(unsigned)N, kLossThreads, 0, ctx.stream>>>(logprobs, nullptr, logits, targets, V);
  check_launch(!logprobs ? "entropy_forward" : entropy ? "logprobs_entropy_forward" : "logprobs_forward");
}
void logprobs_backward(const Ctx& ctx, float* dlogits, const float* logits, const int* targets, const float* dlogprobs,
                       int N, int V) {
  if (N <= 0) return;
  logprobs_backward_kernel<<<(unsigned)N, kLossThreads, 0, ctx.stream>>>(dlogits, logits, targets, dlogprobs, V);
  check_launch("logprobs_backward");
}
void entropy_backward(const Ctx& ctx, float* dlogits, const float* logits, const float* dentropy, int N, int V) {
  if (N <= 0) return;
  entropy_backward_kernel<<<(unsigned)N, kLossThreads, 0, ctx.stream>>>(dlogits, logits, dentropy, V);
  check_launch("entropy_backward");
}

double sum_squares(const Ctx& ctx, const float* g, long n) {
  if (n <= 0) return 0.0;
  const long blocks = (n + kSumChunk - 1) / kSumChunk;
  RLCD_CHECK(blocks <= 0x7fffffffL, "sum_squares: ", n, " elements is too many for one launch");
  double* partial = static_cast<double*>(ctx.ws->get(sizeof(double) * (size_t)(blocks + 1), "sum_squares"));
  double* result = partial + blocks;
  sum_squares_partial_kernel<<<(unsigned)blocks, kSumThreads, 0, ctx.stream>>>(partial, g, n);
  check_launch("sum_squares");
  sum_partials_kernel<<<1, 1024, 0, ctx.stream>>>(result, partial, blocks);
  check_launch("sum_squares");
  double host = 0.0;
  check(cudaMemcpyAsync(&host, result, sizeof(double), cudaMemcpyDeviceToHost, ctx.stream), "sum_squares");
  check(cudaStreamSynchronize(ctx.stream), "sum_squares");
  return host;
}

void adamw(const Ctx& ctx, float* param, float* grad, float* m, float* v, long n, const AdamWConfig& c, long step,
           float grad_scale) {
  if (n <= 0) return;
  // The scalars exactly as adamw_update computes them.
  const double bc1 = 1.0 - std::pow((double)c.beta1, (double)step);
  const double bc2 = 1.0 - std::pow((double)c.beta2, (double)step);
  const float step_size = (float)(c.lr / bc1);
  const float inv_sqrt_bc2 = (float)(1.0 / std::sqrt(bc2));
  const float decay = 1.0f - c.lr * c.weight_decay;
  adamw_kernel<<<grid_for(n), kThreads, 0, ctx.stream>>>(param, grad, m, v, n, c.beta1, c.beta2, c.eps, step_size,
                                                         inv_sqrt_bc2, decay, grad_scale);
  check_launch("adamw");
}

}  // namespace cuda
}  // namespace rlcd
