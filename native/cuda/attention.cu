// Attention: decoding against the KV cache (one block per row and query head, online softmax), and
// causal self-attention for training, built from the batched tiled GEMM (gemm.cu) over (sequence,
// head) plus row kernels for the softmax and its backward. The training forward keeps the full
// probabilities (B, NH, T, T), zeros above the diagonal, as the CPU kernel does.
#include "cuda_common.cuh"

namespace rlcd {
namespace cuda {

namespace {

constexpr int kDecodeWarps = 8;

// Warp w takes keys w, w + 8, ...: lanes hold the head's dimensions (lane + 32 i), the warp sums
// the score, and keeps a running max, normaliser and weighted value sum; the warps are merged at
// the end in a fixed order.
template <int NPER>
__global__ void __launch_bounds__(kDecodeWarps * 32)
    attention_decode_kernel(float* __restrict__ out, const float* __restrict__ q, long q_stride,
                            const int* __restrict__ slot, const int* __restrict__ pos, const float* __restrict__ kc,
                            const float* __restrict__ vc, int t_max, int kvd, int NH, int group, int HS, float scale) {
  __shared__ float s_acc[kDecodeWarps][NPER * 32];
  __shared__ float s_m[kDecodeWarps], s_l[kDecodeWarps];
  const long n = blockIdx.x / NH;
  const int h = blockIdx.x % NH, kvh = h / group;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

  const float* qv = q + n * q_stride + (long)h * HS;
  float qr[NPER];
#pragma unroll
  for (int i = 0; i < NPER; i++) {
    const int d = lane + 32 * i;
    qr[i] = d < HS ? qv[d] : 0.0f;
  }
  const int len = pos[n] + 1;
  const long base = (long)slot[n] * t_max * kvd + (long)kvh * HS;
  float m = -INFINITY, l = 0.0f, acc[NPER];
#pragma unroll
  for (int i = 0; i < NPER; i++) acc[i] = 0.0f;
  for (int t = warp; t < len; t += kDecodeWarps) {
    const float* kp = kc + base + (long)t * kvd;
    const float* vp = vc + base + (long)t * kvd;
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < NPER; i++) {
      const int d = lane + 32 * i;
      if (d < HS) s = fmaf(qr[i], __ldg(kp + d), s);
    }
    s = warp_sum(s) * scale;
    const float m_new = fmaxf(m, s);
    const float corr = expf(m - m_new);  // 0 on the first key (m = -inf)
    const float p = expf(s - m_new);
    l = l * corr + p;
#pragma unroll
    for (int i = 0; i < NPER; i++) {
      const int d = lane + 32 * i;
      const float v = d < HS ? __ldg(vp + d) : 0.0f;
      acc[i] = fmaf(p, v, acc[i] * corr);
    }
    m = m_new;
  }
#pragma unroll
  for (int i = 0; i < NPER; i++) s_acc[warp][lane + 32 * i] = acc[i];
  if (lane == 0) {
    s_m[warp] = m;
    s_l[warp] = l;
  }
  __syncthreads();
  float M = -INFINITY;
#pragma unroll
  for (int w = 0; w < kDecodeWarps; w++) M = fmaxf(M, s_m[w]);
  float L = 0.0f, f[kDecodeWarps];
#pragma unroll
  for (int w = 0; w < kDecodeWarps; w++) {
    f[w] = s_m[w] == -INFINITY ? 0.0f : expf(s_m[w] - M);  // a warp that saw no key adds nothing
    L += s_l[w] * f[w];
  }
  const float inv = 1.0f / L;
  float* o = out + (n * NH + h) * HS;
  for (int d = threadIdx.x; d < HS; d += blockDim.x) {
    float v = 0.0f;
#pragma unroll
    for (int w = 0; w < kDecodeWarps; w++) v += s_acc[w][d] * f[w];
    o[d] = v * inv;
  }
}

template <int NPER>
void launch_decode(const Ctx& ctx, float* out, const float* q, long q_stride, const int* slot, const int* pos,
                   const KVView& cache, int N, int NH, int NKV, int HS) {
  const float scale = 1.0f / sqrtf((float)HS);
  attention_decode_kernel<NPER><<<(unsigned)((long)N * NH), kDecodeWarps * 32, 0, ctx.stream>>>(
      out, q, q_stride, slot, pos, cache.k, cache.v, cache.t_max, cache.kvd, NH, NH / NKV, HS, scale);
  check_launch("attention_decode");
}

constexpr int kRowWarps = 8;  // rows (one a warp) per block of the row kernels

// Row t of one (sequence, head)'s scores, in place: P = softmax over keys 0..t of S * scale, zeros
// after t (as the CPU: scale, max, exp, sum, times 1 / sum).
__global__ void __launch_bounds__(kRowWarps * 32)
    causal_softmax_kernel(float* __restrict__ probs, long rows, int T, float scale) {
  const long r = (long)blockIdx.x * kRowWarps + (threadIdx.x >> 5);
  if (r >= rows) return;
  const int lane = threadIdx.x & 31;
  const int n = (int)(r % T) + 1;
  float* p = probs + r * T;
  float mx = -INFINITY;
  for (int s = lane; s < n; s += 32) mx = fmaxf(mx, p[s] * scale);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int s = lane; s < n; s += 32) {
    const float e = expf(p[s] * scale - mx);
    p[s] = e;
    sum += e;
  }
  const float inv = 1.0f / warp_sum(sum);
  for (int s = lane; s < n; s += 32) p[s] *= inv;
  for (int s = n + lane; s < T; s += 32) p[s] = 0.0f;
}

// dS = P (dP - rowsum(P dP)) * scale in place of dP, zeros after the diagonal.
__global__ void __launch_bounds__(kRowWarps * 32)
    causal_softmax_backward_kernel(float* __restrict__ ds, const float* __restrict__ probs, long rows, int T, float scale) {
  const long r = (long)blockIdx.x * kRowWarps + (threadIdx.x >> 5);
  if (r >= rows) return;
  const int lane = threadIdx.x & 31;
  const int n = (int)(r % T) + 1;
  float* d = ds + r * T;
  const float* p = probs + r * T;
  float sum = 0.0f;
  for (int s = lane; s < n; s += 32) sum = fmaf(p[s], d[s], sum);
  sum = warp_sum(sum);
  for (int s = lane; s < n; s += 32) d[s] = p[s] * (d[s] - sum) * scale;
  for (int s = n + lane; s < T; s += 32) d[s] = 0.0f;
}

unsigned row_blocks(long rows) { return (unsigned)((rows + kRowWarps - 1) / kRowWarps); }

// Scratch of the backward (dS for a chunk of sequences): at most this many floats, unless one
// sequence alone needs more.
constexpr size_t kBackwardScratchFloats = (size_t)64 << 20;  // 256 MiB

}  // namespace

void attention_decode(const Ctx& ctx, float* out, const float* q, long q_stride, const int* slot, const int* pos,
                      const KVView& cache, int N, int NH, int NKV, int HS) {
  if (N <= 0 || NH <= 0) return;
  RLCD_REQUIRE(NKV > 0 && NH % NKV == 0, "attention_decode: NH ", NH, " is not a multiple of NKV ", NKV);
  RLCD_REQUIRE(HS > 0 && HS <= 256, "attention_decode: the CUDA backend supports head sizes up to 256, not ", HS);
  if (HS <= 32) launch_decode<1>(ctx, out, q, q_stride, slot, pos, cache, N, NH, NKV, HS);
  else if (HS <= 64) launch_decode<2>(ctx, out, q, q_stride, slot, pos, cache, N, NH, NKV, HS);
  else if (HS <= 128) launch_decode<4>(ctx, out, q, q_stride, slot, pos, cache, N, NH, NKV, HS);
  else launch_decode<8>(ctx, out, q, q_stride, slot, pos, cache, N, NH, NKV, HS);
}

// Per (sequence b, head h), z = b * NH + h, kv head h / group:
//   S = Q K^T (tiles above the diagonal skipped),  P = causal softmax(S * scale),  O = P V
void causal_attention_forward(const Ctx& ctx, float* out, float* probs, const float* qkv, long stride, int B, int T,
                              int NH, int NKV, int HS) {
  if (B <= 0 || T <= 0 || NH <= 0) return;
  RLCD_REQUIRE(NKV > 0 && NH % NKV == 0, "causal_attention_forward: NH ", NH, " is not a multiple of NKV ", NKV);
  const long QD = (long)NH * HS, KVD = (long)NKV * HS, TT = (long)T * T;
  const int group = NH / NKV;
  const float scale = 1.0f / sqrtf((float)HS);
  const BatchMap q_map{NH, 1, T * stride, HS}, kv_map{NH, group, T * stride, HS}, p_map{1, 1, TT, 0};
  gemm_strided(ctx, T, T, HS, qkv, stride, 1, q_map, qkv + QD, 1, stride, kv_map, probs, T, p_map, B * NH, false,
               Causal::SkipUpper, "causal_attention_forward");
  const long rows = (long)B * NH * T;
  causal_softmax_kernel<<<row_blocks(rows), kRowWarps * 32, 0, ctx.stream>>>(probs, rows, T, scale);
  check_launch("causal_attention_forward");
  gemm_strided(ctx, T, HS, T, probs, T, 1, p_map, qkv + QD + KVD, stride, 1, kv_map, out, QD,
               BatchMap{NH, 1, T * QD, HS}, B * NH, false, Causal::KEndAtTile, "causal_attention_forward");
}

// dP = dO V^T,  dS = P (dP - rowsum(P dP)) * scale,  dQ = dS K,  dK = sum_group dS^T Q,  dV = sum_group P^T dO.
// dS lives in the workspace for a chunk of sequences at a time. dK and dV are written by the
// group's first head and added to by the others, one launch per head of the group.
void causal_attention_backward(const Ctx& ctx, float* dqkv, const float* dout, const float* probs, const float* qkv,
                               long stride, int B, int T, int NH, int NKV, int HS) {
  if (B <= 0 || T <= 0 || NH <= 0) return;
  RLCD_REQUIRE(NKV > 0 && NH % NKV == 0, "causal_attention_backward: NH ", NH, " is not a multiple of NKV ", NKV);
  const char* what = "causal_attention_backward";
  const long QD = (long)NH * HS, KVD = (long)NKV * HS, TT = (long)T * T;
  const int group = NH / NKV;
  const float scale = 1.0f / sqrtf((float)HS);
  const size_t per_seq = (size_t)NH * TT;
  const int chunk = (int)std::max<size_t>(1, std::min<size_t>((size_t)B, kBackwardScratchFloats / per_seq));
  float* ds = ctx.ws->floats(per_seq * chunk, what);
  const BatchMap seq_head_dout{NH, 1, T * QD, HS}, kv_of_head{NH, group, T * stride, HS}, tt{1, 1, TT, 0};
  for (int b0 = 0; b0 < B; b0 += chunk) {
    const int nb = std::min(chunk, B - b0);
    const float* qkv_b = qkv + (long)b0 * T * stride;
    float* dqkv_b = dqkv + (long)b0 * T * stride;
    const float* dout_b = dout + (long)b0 * T * QD;
    const float* probs_b = probs + (long)b0 * NH * TT;
    // dP (lower tiles) = dO . V^T
    gemm_strided(ctx, T, T, HS, dout_b, QD, 1, seq_head_dout, qkv_b + QD + KVD, 1, stride, kv_of_head, ds, T, tt,
                 nb * NH, false, Causal::SkipUpper, what);
    const long rows = (long)nb * NH * T;
    causal_softmax_backward_kernel<<<row_blocks(rows), kRowWarps * 32, 0, ctx.stream>>>(ds, probs_b, rows, T, scale);
    check_launch(what);
    // dQ = dS . K
    gemm_strided(ctx, T, HS, T, ds, T, 1, tt, qkv_b + QD, stride, 1, kv_of_head, dqkv_b, stride,
                 BatchMap{NH, 1, T * stride, HS}, nb * NH, false, Causal::KEndAtTile, what);
    // Per kv head z = b * NKV + kvh; head h = kvh * group + g.
    const BatchMap heads_tt{NKV, 1, NH * TT, group * TT}, kv_out{NKV, 1, T * stride, HS};
    for (int g = 0; g < group; g++) {
      // dK (+)= dS_h^T . Q_h
      gemm_strided(ctx, T, HS, T, ds + g * TT, 1, T, heads_tt, qkv_b + (long)g * HS, stride, 1,
                   BatchMap{NKV, 1, T * stride, group * (long)HS}, dqkv_b + QD, stride, kv_out, nb * NKV, g > 0,
                   Causal::KBeginAtTile, what);
      // dV (+)= P_h^T . dO_h
      gemm_strided(ctx, T, HS, T, probs_b + g * TT, 1, T, heads_tt, dout_b + (long)g * HS, QD, 1,
                   BatchMap{NKV, 1, T * QD, group * (long)HS}, dqkv_b + QD + KVD, stride, kv_out, nb * NKV, g > 0,
                   Causal::KBeginAtTile, what);
    }
  }
}

}  // namespace cuda
}  // namespace rlcd
