// General matrix multiply for training: C[M, N] (+)= A[M, K] . B[K, N], with any strides, so the
// three products of a Linear layer need no transposed copies:
//   forward   y  = x W^T    A = x (K contiguous)        B[k, n] = W[n, k]
//   input     dx = dy W     A = dy                      B[k, n] = W[k, n]
//   weight    dW += dy^T x  A[i, k] = dy[k, i]          B = x
// Blocks of A and B are packed into contiguous panels (BLIS style) for a 6x16 AVX2 register tile.
// Each element sums k in blocks of kKC in a fixed order: results do not depend on the thread count.
#pragma once

namespace rlcd {

struct Strided {
  const float* data;
  long rs;  // distance between rows (index i for A, k for B)
  long cs;  // distance between columns (index k for A, n for B)
};

// Runs on the calling thread's OpenMP team if inside a parallel region (orphaned worksharing,
// see common/dims.h); packs into thread-local buffers.
void gemm(int M, int N, int K, Strided A, Strided B, float* C, long ldc, bool accumulate);

// The same product on the calling thread alone, with no OpenMP constructs: for small products
// inside a work item that is already one thread's share (attention per sequence and head).
void gemm_serial(int M, int N, int K, Strided A, Strided B, float* C, long ldc, bool accumulate);

// Convenience forms for Linear layers with weight W (out, in), row-major activations.
// y (M, out) (+)= x (M, in) W^T
inline void linear_forward(float* y, long ldy, const float* x, long ldx, const float* W, int M, int in, int out, bool accumulate = false) {
  gemm(M, out, in, Strided{x, ldx, 1}, Strided{W, 1, in}, y, ldy, accumulate);
}
// dx (M, in) (+)= dy (M, out) W
inline void linear_backward_input(float* dx, long lddx, const float* dy, long lddy, const float* W, int M, int in, int out, bool accumulate) {
  gemm(M, in, out, Strided{dy, lddy, 1}, Strided{W, in, 1}, dx, lddx, accumulate);
}
// dW (out, in) += dy (M, out)^T x (M, in)
inline void linear_backward_weight(float* dW, const float* dy, long lddy, const float* x, long ldx, int M, int in, int out) {
  gemm(out, in, M, Strided{dy, 1, lddy}, Strided{x, ldx, 1}, dW, in, true);
}

}  // namespace rlcd
