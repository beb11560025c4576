// The CUDA backend: device memory, one non-blocking stream, and every op of backend.h as kernels
// enqueued on it (the kernels live in gemm.cu, matrix.cu, elementwise.cu, attention.cu, losses.cu).
// run() calls the step once on the calling thread and waits for the stream; upload and download
// are ordered on the same stream and wait for it.
#include <cuda_runtime.h>

#include <exception>
#include <unordered_map>

#include "cuda_common.cuh"

namespace rlcd {

namespace {

using cuda::check;

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int ordinal) : ordinal_(ordinal) {
    check(cudaSetDevice(ordinal_), "cudaSetDevice");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, ordinal_), "cudaGetDeviceProperties");
    name_ = concat("cuda:", ordinal_, " (", prop.name, ")");
    sms_ = prop.multiProcessorCount > 0 ? prop.multiProcessorCount : 1;
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  ~CudaBackend() override {
    cudaSetDevice(ordinal_);
    if (stream_) cudaStreamSynchronize(stream_);
    for (auto& entry : rope_) {
      cudaFree(entry.second.cos);
      cudaFree(entry.second.sin);
    }
    if (stream_) cudaStreamDestroy(stream_);
  }

  DeviceKind kind() const override { return DeviceKind::Cuda; }
  std::string name() const override { return name_; }

  // ---- memory and execution ------------------------------------------------------------------
  void* allocate(size_t bytes) override {
    if (bytes == 0) return nullptr;
    bind();
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, bytes);
    if (err != cudaSuccess) {
      cudaGetLastError();
      throw Error(concat("CUDA out of memory allocating ", bytes, " bytes on ", name_, ": ", cudaGetErrorString(err)));
    }
    check(cudaMemsetAsync(p, 0, bytes, stream_), "allocate");
    return p;
  }
  void release(void* ptr) override {
    if (!ptr) return;
    bind();
    cudaFree(ptr);  // waits for the device; never throws from a destructor's path
  }
  void upload(void* dst, const void* host, size_t bytes) override {
    if (bytes == 0) return;
    bind();
    check(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, stream_), "upload");
    check(cudaStreamSynchronize(stream_), "upload");
  }
  void download(void* host, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    bind();
    check(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, stream_), "download");
    check(cudaStreamSynchronize(stream_), "download");
  }
  void run(int, const std::function<void()>& step) override {
    bind();
    try {
      step();
    } catch (...) {
      cudaStreamSynchronize(stream_);  // leave no half-enqueued work behind; the first error wins
      throw;
    }
    check(cudaStreamSynchronize(stream_), "run (a kernel of this step failed)");
  }

  std::unique_ptr<Matrix> pack(SourceWeights host, int N, int K, WeightType type) override {
    bind();
    return cuda::pack_matrix(ctx(), host, N, K, type);
  }

  // ---- ops -----------------------------------------------------------------------------------
  void copy(float* dst, const float* src, long n) override { cuda::copy(ctx(), dst, src, n); }
  void zero(float* dst, long n) override { cuda::zero(ctx(), dst, n); }
  void add(float* out, const float* a, const float* b, long n) override { cuda::add(ctx(), out, a, b, n); }
  void scale(float* out, const float* x, float s, long n) override { cuda::scale(ctx(), out, x, s, n); }
  void add_bias(float* y, long ldy, const float* bias, int M, int N) override { cuda::add_bias(ctx(), y, ldy, bias, M, N); }
  void column_sums(float* dbias, const float* dy, long lddy, int M, int N) override {
    cuda::column_sums(ctx(), dbias, dy, lddy, M, N);
  }
  void gather_rows(float* out, const float* x, const int* rows, int R, int C) override {
    cuda::gather_rows(ctx(), out, x, rows, R, C);
  }
  void scatter_add_rows(float* dx, const float* src, const int* rows, int R, int C) override {
    cuda::scatter_add_rows(ctx(), dx, src, rows, R, C);
  }

  void gemm(int M, int N, int K, View2D A, View2D B, float* C, long ldc, bool accumulate) override {
    cuda::gemm_strided(ctx(), M, N, K, A.data, A.rs, A.cs, cuda::BatchMap{}, B.data, B.rs, B.cs, cuda::BatchMap{}, C, ldc,
                       cuda::BatchMap{}, 1, accumulate, cuda::Causal::None, "gemm");
  }
  void matmul(float* out, const float* inp, const Matrix& w, const float* bias, int M, bool accumulate) override {
    cuda::matmul(ctx(), out, inp, w, bias, M, accumulate);
  }
  void unpack(float* out, const Matrix& w) override { cuda::unpack(ctx(), out, w); }

  void embedding_forward(float* out, const int* tokens, const float* table, int N, int C) override {
    cuda::embedding_forward(ctx(), out, tokens, table, N, C);
  }
  void embedding_backward(float* dtable, const float* dout, const int* tokens, int N, int C) override {
    cuda::embedding_backward(ctx(), dtable, dout, tokens, N, C);
  }
  void rmsnorm_forward(float* out, const float* inp, const float* weight, int N, int C, float eps, float* rstd) override {
    cuda::rmsnorm_forward(ctx(), out, inp, nullptr, weight, N, C, eps, rstd);
  }
  void rmsnorm_rows(float* out, const float* inp, const int* rows, const float* weight, int R, int C, float eps) override {
    cuda::rmsnorm_forward(ctx(), out, inp, rows, weight, R, C, eps, nullptr);
  }
  void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                        const float* rstd, int N, int C) override {
    cuda::rmsnorm_backward(ctx(), dinp, dweight, dout, inp, weight, rstd, N, C);
  }
  void rope_forward(float* x, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
                    const RopeTable& table) override {
    const RopeDevice& t = rope_table(table, HS);
    cuda::rope(ctx(), x, stride, pos, N, heads, HS, style, t.cos, t.sin, 1.0f);
  }
  void rope_backward(float* dx, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
                     const RopeTable& table) override {
    const RopeDevice& t = rope_table(table, HS);
    cuda::rope(ctx(), dx, stride, pos, N, heads, HS, style, t.cos, t.sin, -1.0f);
  }
  void rope_and_cache(float* qkv, long stride, const int* pos, const int* slot, int N, int NH, int NKV, int HS,
                      RopeStyle style, const RopeTable& table, const KVView& cache) override {
    RLCD_CHECK(cache.kvd == NKV * HS, "rope_and_cache: cache rows of ", cache.kvd, " floats, expected NKV * HS = ", NKV * HS);
    const RopeDevice& t = rope_table(table, HS);
    cuda::rope_and_cache(ctx(), qkv, stride, pos, slot, N, NH, NKV, HS, style, t.cos, t.sin, cache);
  }
  void attention_decode(float* out, const float* q, long q_stride, const int* slot, const int* pos, const KVView& cache,
                        int N, int NH, int NKV, int HS) override {
    cuda::attention_decode(ctx(), out, q, q_stride, slot, pos, cache, N, NH, NKV, HS);
  }
  // The probabilities themselves (B, NH, T, T), read back by the backward kernels.
  long causal_attention_state_floats(int B, int T, int NH) const override { return (long)B * NH * T * T; }
  void causal_attention_forward(float* out, float* probs, const float* qkv, long stride, int B, int T, int NH, int NKV,
                                int HS) override {
    cuda::causal_attention_forward(ctx(), out, probs, qkv, stride, B, T, NH, NKV, HS);
  }
  void causal_attention_backward(float* dqkv, const float* dout, const float* probs, const float* qkv, long stride, int B,
                                 int T, int NH, int NKV, int HS) override {
    cuda::causal_attention_backward(ctx(), dqkv, dout, probs, qkv, stride, B, T, NH, NKV, HS);
  }
  void swiglu_forward(float* out, const float* gate_up, int N, int H) override { cuda::swiglu_forward(ctx(), out, gate_up, N, H); }
  void swiglu_backward(float* dgate_up, const float* dout, const float* gate_up, int N, int H) override {
    cuda::swiglu_backward(ctx(), dgate_up, dout, gate_up, N, H);
  }
  void head_forward(float* out, const float* x, const float* w, int N, int C) override {
    cuda::head_forward(ctx(), out, x, w, N, C);
  }
  void head_backward(float* dx, float* dw, const float* dout, const float* x, const float* w, int N, int C) override {
    cuda::head_backward(ctx(), dx, dw, dout, x, w, N, C);
  }

  void logprobs_forward(float* logprobs, const float* logits, const int* targets, int N, int V) override {
    cuda::logprobs_forward(ctx(), logprobs, nullptr, logits, targets, N, V);
  }
  void logprobs_backward(float* dlogits, const float* logits, const int* targets, const float* dlogprobs, int N,
                         int V) override {
    cuda::logprobs_backward(ctx(), dlogits, logits, targets, dlogprobs, N, V);
  }
  void logprobs_entropy_forward(float* logprobs, float* entropy, const float* logits, const int* targets, int N,
                                int V) override {
    cuda::logprobs_forward(ctx(), logprobs, entropy, logits, targets, N, V);
  }
  void entropy_forward(float* entropy, const float* logits, int N, int V) override {
    cuda::logprobs_forward(ctx(), nullptr, entropy, logits, nullptr, N, V);
  }
  void entropy_backward(float* dlogits, const float* logits, const float* dentropy, int N, int V) override {
    cuda::entropy_backward(ctx(), dlogits, logits, dentropy, N, V);
  }
  double sum_squares(const float* g, long n) override {
    bind();
    return cuda::sum_squares(ctx(), g, n);
  }
  void adamw(float* param, float* grad, float* m, float* v, long n, const AdamWConfig& cfg, long step,
             float grad_scale) override {
    bind();
    cuda::adamw(ctx(), param, grad, m, v, n, cfg, step, grad_scale);
    check(cudaStreamSynchronize(stream_), "adamw");  // runs outside run(): this is its sync point
  }

 private:
  // A model's cos/sin table in device memory, uploaded on first use (keyed by the host table's
  // address; re-uploaded if the table at that address was rebuilt with another shape or buffer).
  struct RopeDevice {
    float* cos = nullptr;
    float* sin = nullptr;
    int positions = 0, half = 0;
    const float* host_cos = nullptr;
  };

  const RopeDevice& rope_table(const RopeTable& table, int HS) {
    RLCD_CHECK(table.half == HS / 2 && table.max_positions > 0, "rope: the table was built for head size ",
               2 * table.half, " and ", table.max_positions, " positions, used with head size ", HS);
    RopeDevice& d = rope_[&table];
    if (d.cos && d.positions == table.max_positions && d.half == table.half && d.host_cos == table.cos.data()) return d;
    if (d.cos) {
      check(cudaStreamSynchronize(stream_), "rope table");
      cudaFree(d.cos);
      cudaFree(d.sin);
      d = RopeDevice{};
    }
    const size_t bytes = (size_t)table.max_positions * table.half * sizeof(float);
    check(cudaMalloc(reinterpret_cast<void**>(&d.cos), bytes), "rope table");
    check(cudaMalloc(reinterpret_cast<void**>(&d.sin), bytes), "rope table");
    check(cudaMemcpyAsync(d.cos, table.cos.data(), bytes, cudaMemcpyHostToDevice, stream_), "rope table");
    check(cudaMemcpyAsync(d.sin, table.sin.data(), bytes, cudaMemcpyHostToDevice, stream_), "rope table");
    d.positions = table.max_positions;
    d.half = table.half;
    d.host_cos = table.cos.data();
    return d;
  }

  void bind() const { check(cudaSetDevice(ordinal_), "cudaSetDevice"); }
  cuda::Ctx ctx() { return cuda::Ctx{stream_, sms_, &ws_}; }

  int ordinal_ = 0;
  int sms_ = 1;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  cuda::Workspace ws_;
  std::unordered_map<const RopeTable*, RopeDevice> rope_;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int ordinal, std::string& why_not) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error state for the next caller
    why_not = concat("no usable CUDA device: cudaGetDeviceCount failed with ", cudaGetErrorName(err), " (",
                     cudaGetErrorString(err), ")");
    return nullptr;
  }
  if (count <= 0) {
    why_not = "no CUDA device is visible (cudaGetDeviceCount found none)";
    return nullptr;
  }
  if (ordinal < 0 || ordinal >= count) {
    why_not = concat("CUDA device ", ordinal, " does not exist: ", count, " device", count == 1 ? " is" : "s are",
                     " visible (ordinals 0..", count - 1, ")");
    return nullptr;
  }
  try {
    return std::make_unique<CudaBackend>(ordinal);
  } catch (const std::exception& e) {
    why_not = concat("the CUDA backend on device ", ordinal, " could not start: ", e.what());
    return nullptr;
  }
}

}  // namespace rlcd
