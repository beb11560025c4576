// The backend seam (after ggml's backend split): where the engine's tensors live and what runs the
// ops the model is made of. Model code (transformer, trainable) allocates its weights, activations
// and gradients through a Backend and calls its ops; it never calls a CPU kernel or opens an
// OpenMP region itself. Two backends implement it:
//   CpuBackend  (cpu_backend.cpp): the AVX2/AVX-512 + OpenMP kernels of native/kernels, the
//               reference every other backend is tested against (native/tests/test_backend_ops).
//   CudaBackend (native/cuda/, built with -DRLCD_CUDA=ON): the same ops as CUDA kernels on one
//               stream; only token ids, sampled tokens, log-probs and scalar stats cross to the host.
//
// Execution model. Model code runs a unit of work (a decode step, a forward, a backward) as
//   backend.run(threads, [&] { ...ops... });
// The CPU backend runs the function on every thread of one OpenMP team, and each op shares out its
// loop among the team (orphaned worksharing, see common/dims.h): one fork/join per step, not per
// op. The CUDA backend runs it once on the calling thread and each op enqueues kernels on its
// stream. So a function passed to run() must consist of ops only: no loops over tensor data, no
// reads of device memory, nothing that would run once per CPU thread with side effects.
// Pointers passed to ops are the backend's own memory (Buffer::data()); shapes follow dims.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "../kernels/matmul_packed.h"
#include "../kernels/rope.h"
#include "../optim/adamw.h"

namespace rlcd {

class Backend;

// Memory of a backend (device memory on a GPU), freed with the Buffer.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Backend* backend, size_t bytes);
  ~Buffer();
  Buffer(Buffer&& o) noexcept { swap(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    Buffer tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* raw() const { return ptr_; }
  float* f32() const { return static_cast<float*>(ptr_); }
  int* i32() const { return static_cast<int*>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void swap(Buffer& o) noexcept {
    std::swap(backend_, o.backend_);
    std::swap(ptr_, o.ptr_);
    std::swap(bytes_, o.bytes_);
  }
  Backend* backend_ = nullptr;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// A linear weight prepared for inference matmuls (the CPU's 16-column panels in f32/bf16/f16/q8_0;
// a GPU backend's own layout). Opaque outside its backend.
class Matrix {
 public:
  virtual ~Matrix() = default;
  virtual int rows() const = 0;     // N (outputs)
  virtual int cols() const = 0;     // K (inputs)
  virtual WeightType type() const = 0;
  virtual size_t bytes() const = 0;  // what a matmul streams
};

// One layer's key/value cache: (slots, t_max, kvd) each, in backend memory.
struct KVView {
  float* k;
  float* v;
  int t_max;
  int kvd;
};

// Strided 2-D operand of gemm(): element (i, j) at data[i * rs + j * cs].
struct View2D {
  const float* data;
  long rs;
  long cs;
};

enum class DeviceKind { Cpu, Cuda };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceKind kind() const = 0;
  virtual std::string name() const = 0;  // "cpu", "cuda:0 (NVIDIA H100 ...)"

  // ---- memory and execution ------------------------------------------------------------------
  virtual void* allocate(size_t bytes) = 0;  // zero-filled
  virtual void release(void* ptr) = 0;
  virtual void upload(void* dst, const void* host, size_t bytes) = 0;    // host -> backend
  virtual void download(void* host, const void* src, size_t bytes) = 0;  // backend -> host (waits for queued work)
  // Runs `step` as described above; returns when its work is done (the sync point).
  virtual void run(int threads, const std::function<void()>& step) = 0;

  // ---- weights -------------------------------------------------------------------------------
  // (N, K) Linear weight from host memory (f32, or a bf16/f16 checkpoint's bits), stored as `type`.
  virtual std::unique_ptr<Matrix> pack(SourceWeights host, int N, int K, WeightType type) = 0;

  // ---- ops: every pointer is backend memory, every op is called inside run() --------------------
  // dst[i] = src[i], i < n
  virtual void copy(float* dst, const float* src, long n) = 0;
  // dst[i] = 0, i < n
  virtual void zero(float* dst, long n) = 0;
  // out[i] = a[i] + b[i]
  virtual void add(float* out, const float* a, const float* b, long n) = 0;
  // out[i] = x[i] * s
  virtual void scale(float* out, const float* x, float s, long n) = 0;
  // y (M, N) rows += bias (N), row stride ldy
  virtual void add_bias(float* y, long ldy, const float* bias, int M, int N) = 0;
  // dbias[j] += sum_i dy[i * lddy + j], j < N
  virtual void column_sums(float* dbias, const float* dy, long lddy, int M, int N) = 0;
  // out (R, C) row i = x row rows[i];  rows: backend int memory
  virtual void gather_rows(float* out, const float* x, const int* rows, int R, int C) = 0;
  // dx row rows[i] += src row i
  virtual void scatter_add_rows(float* dx, const float* src, const int* rows, int R, int C) = 0;

  // C (M, N) (+)= A (M, K) . B (K, N), strided operands; every element sums k in a fixed order
  // (results do not depend on the thread count). See kernels/gemm.h for the three Linear forms.
  virtual void gemm(int M, int N, int K, View2D A, View2D B, float* C, long ldc, bool accumulate) = 0;
  // out (M, N) (+)= inp (M, K) . W^T (+ bias) with a packed inference weight.
  virtual void matmul(float* out, const float* inp, const Matrix& w, const float* bias, int M, bool accumulate) = 0;
  // out (N, K) = w's weights as matmul sees them, widened to f32 (a frozen packed base's backward).
  virtual void unpack(float* out, const Matrix& w) = 0;

  // out[n] = table[tokens[n]]  (N, C)
  virtual void embedding_forward(float* out, const int* tokens, const float* table, int N, int C) = 0;
  // dtable[tokens[n]] += dout[n]
  virtual void embedding_backward(float* dtable, const float* dout, const int* tokens, int N, int C) = 0;
  // out = inp * rstd * weight per row, rstd = 1 / sqrt(mean(inp^2) + eps) (saved when non-null)
  virtual void rmsnorm_forward(float* out, const float* inp, const float* weight, int N, int C, float eps, float* rstd) = 0;
  // The same on rows[i] of inp into row i of out (the rows whose logits are wanted).
  virtual void rmsnorm_rows(float* out, const float* inp, const int* rows, const float* weight, int R, int C, float eps) = 0;
  // dinp (=) and dweight (+=) from dout; inp, weight, rstd as in forward
  virtual void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                                const float* rstd, int N, int C) = 0;
  // In place on `heads` heads of HS in each of N rows of stride `stride`, row n at position pos[n].
  // `table` is the model's host-side cos/sin table (kernels/rope.h), built once per model: a GPU
  // backend uploads it on first use (keyed by its address) and keeps it.
  virtual void rope_forward(float* x, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
                            const RopeTable& table) = 0;
  virtual void rope_backward(float* dx, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
                             const RopeTable& table) = 0;
  // Decoding: RoPE on each row's q (NH heads) and k (NKV heads) of the fused (N, QD + 2 KVD) qkv,
  // then the row's k and v into the cache at (slot[n], pos[n]).
  virtual void rope_and_cache(float* qkv, long stride, const int* pos, const int* slot, int N, int NH, int NKV, int HS,
                              RopeStyle style, const RopeTable& table, const KVView& cache) = 0;
  // Decoding attention: row n's query against its sequence's cached keys/values 0..pos[n].
  virtual void attention_decode(float* out, const float* q, long q_stride, const int* slot, const int* pos,
                                const KVView& cache, int N, int NH, int NKV, int HS) = 0;
  // Training: causal self-attention over B sequences of T from the fused qkv (stride), saving in
  // `state` what its backward needs: the CPU keeps each row's log-sum-exp (B, NH, T) and rebuilds
  // the probabilities, the CUDA backend keeps the probabilities (B, NH, T, T).
  virtual long causal_attention_state_floats(int B, int T, int NH) const = 0;
  virtual void causal_attention_forward(float* out, float* state, const float* qkv, long stride, int B, int T, int NH,
                                        int NKV, int HS) = 0;
  virtual void causal_attention_backward(float* dqkv, const float* dout, const float* state, const float* qkv, long stride,
                                         int B, int T, int NH, int NKV, int HS) = 0;
  // out (N, H) = silu(gate) * up, gate_up (N, 2H) = [gate | up]
  virtual void swiglu_forward(float* out, const float* gate_up, int N, int H) = 0;
  virtual void swiglu_backward(float* dgate_up, const float* dout, const float* gate_up, int N, int H) = 0;
  // Scalar head: out[n] = x[n] . w[0..C) + w[C]
  virtual void head_forward(float* out, const float* x, const float* w, int N, int C) = 0;
  // dx[n] += dout[n] w;  dw[j] += sum_n dout[n] x[n][j];  dw[C] += sum_n dout[n]
  virtual void head_backward(float* dx, float* dw, const float* dout, const float* x, const float* w, int N, int C) = 0;

  // ---- losses and optimiser (see losses/logprobs.h, optim/adamw.h) ------------------------------
  virtual void logprobs_forward(float* logprobs, const float* logits, const int* targets, int N, int V) = 0;
  virtual void logprobs_backward(float* dlogits, const float* logits, const int* targets, const float* dlogprobs, int N,
                                 int V) = 0;
  virtual void logprobs_entropy_forward(float* logprobs, float* entropy, const float* logits, const int* targets, int N,
                                        int V) = 0;
  virtual void entropy_forward(float* entropy, const float* logits, int N, int V) = 0;
  virtual void entropy_backward(float* dlogits, const float* logits, const float* dentropy, int N, int V) = 0;
  // The two below run outside run(), on whole parameter sets, between steps.
  // sum of g[i]^2 over i < n, summed in double (the global gradient norm is the root of the total)
  virtual double sum_squares(const float* g, long n) = 0;
  // One AdamW step (optim/adamw.h: decoupled weight decay, bias correction with `step` counted
  // from 1) on n parameters, with each gradient first multiplied by grad_scale (clipping).
  virtual void adamw(float* param, float* grad, float* m, float* v, long n, const AdamWConfig& cfg, long step,
                     float grad_scale) = 0;
};

// The three products of a Linear layer with weight W (out, in) and row-major activations, as
// gemm() calls (see kernels/gemm.h), so model code reads as layers.
// y (M, out) (+)= x (M, in) W^T
inline void linear_forward(Backend& b, float* y, long ldy, const float* x, long ldx, const float* W, int M, int in, int out,
                           bool accumulate = false) {
  b.gemm(M, out, in, View2D{x, ldx, 1}, View2D{W, 1, in}, y, ldy, accumulate);
}
// dx (M, in) (+)= dy (M, out) W
inline void linear_backward_input(Backend& b, float* dx, long lddx, const float* dy, long lddy, const float* W, int M, int in,
                                  int out, bool accumulate) {
  b.gemm(M, in, out, View2D{dy, lddy, 1}, View2D{W, in, 1}, dx, lddx, accumulate);
}
// dW (out, in) += dy (M, out)^T x (M, in)
inline void linear_backward_weight(Backend& b, float* dW, const float* dy, long lddy, const float* x, long ldx, int M, int in,
                                   int out) {
  b.gemm(out, in, M, View2D{dy, 1, lddy}, View2D{x, ldx, 1}, dW, in, true);
}

// The CPU backend (one per process; it holds no state of a model).
Backend& cpu_backend();

// The CUDA backend on device `ordinal`, or an error naming why not: built without RLCD_CUDA, no
// driver, no visible GPU.
std::unique_ptr<Backend> make_cuda_backend(int ordinal, std::string& why_not);

inline Buffer::Buffer(Backend* backend, size_t bytes) : backend_(backend), ptr_(bytes ? backend->allocate(bytes) : nullptr), bytes_(bytes) {}
inline Buffer::~Buffer() {
  if (ptr_) backend_->release(ptr_);
}

}  // namespace rlcd
