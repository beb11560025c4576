// Every op of the backend seam (backend.h) on the CUDA backend against the CPU reference, in the
// style of ggml's test-backend-ops: the same random inputs (fixed seed) go to both backends, the op
// runs on each (inside run()), and the outputs are compared with a per-op tolerance. Shapes are
// chosen to be awkward: odd sizes, GQA and plain heads, T = 1 / 5 / 70 / 130, GEMM sizes off the
// tile grid, strided views, accumulate and bias on and off, every weight type (and a K that q8_0
// turns into f16). Prints one line per check and `N passed, M failed` last; exits 1 on a failure,
// 0 with a SKIP line when there is no CUDA backend (a build without RLCD_CUDA, or no GPU).
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "../backend/backend.h"
#include "../kernels/half.h"

using namespace rlcd;

namespace {

using Vec = std::vector<float>;
using IVec = std::vector<int>;

int passed = 0, failed = 0;
std::mt19937_64 gen(20251205);
Backend* be[2];  // 0: the CPU reference, 1: CUDA

Vec randn(size_t n, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  Vec v(n);
  for (auto& x : v) x = d(gen);
  return v;
}
IVec randint(size_t n, int lo, int hi) {  // [lo, hi)
  std::uniform_int_distribution<int> d(lo, hi - 1);
  IVec v(n);
  for (auto& x : v) x = d(gen);
  return v;
}
// Distinct values from [0, hi), shuffled.
IVec distinct(int n, int hi) {
  IVec all(hi);
  for (int i = 0; i < hi; i++) all[i] = i;
  std::shuffle(all.begin(), all.end(), gen);
  all.resize(n);
  return all;
}

// One tensor on both backends.
struct Dual {
  Buffer b[2];
  size_t n = 0;
  float* f(int s) const { return b[s].f32(); }
  int* i(int s) const { return b[s].i32(); }
};
Dual upload_both(const void* host, size_t n, size_t elem) {
  Dual t;
  t.n = n;
  const size_t bytes = std::max<size_t>(1, n) * elem;
  for (int s = 0; s < 2; s++) {
    t.b[s] = Buffer(be[s], bytes);
    if (n) be[s]->upload(t.b[s].raw(), host, n * elem);
  }
  return t;
}
Dual tensor(const Vec& v) { return upload_both(v.data(), v.size(), sizeof(float)); }
Dual itensor(const IVec& v) { return upload_both(v.data(), v.size(), sizeof(int)); }
Dual zeros(size_t n) { return tensor(Vec(n, 0.0f)); }
Vec get(const Dual& t, int s) {
  Vec v(t.n);
  if (t.n) be[s]->download(v.data(), t.b[s].raw(), t.n * sizeof(float));
  return v;
}

// The op on each backend, inside its run().
void on_both(const std::function<void(Backend&, int)>& op) {
  for (int s = 0; s < 2; s++) be[s]->run(1, [&] { op(*be[s], s); });
}

// max_i |ref_i - got_i| / (|ref_i| + 1e-2 max|ref|): relative, with a floor near zero crossings.
double rel_err(const Vec& ref, const Vec& got) {
  if (ref.size() != got.size()) return INFINITY;
  double scale = 0.0;
  for (float x : ref) scale = std::max(scale, (double)std::fabs(x));
  double worst = 0.0;
  for (size_t i = 0; i < ref.size(); i++) {
    const double a = ref[i], b = got[i];
    if (!std::isfinite(a) || !std::isfinite(b)) {
      if (!(a == b)) return INFINITY;  // same infinity passes, NaN fails
      continue;
    }
    const double e = std::fabs(a - b) / (std::fabs(a) + 1e-2 * scale + 1e-30);
    worst = std::max(worst, e);
  }
  return worst;
}

void report(const std::string& name, double err, double tol) {
  const bool ok = err <= tol && !std::isnan(err);
  (ok ? passed : failed)++;
  std::printf("%s %-66s max rel err %.3g (tol %.0e)\n", ok ? "ok  " : "FAIL", name.c_str(), err, tol);
  std::fflush(stdout);
}
// Compares tensor t on both backends.
void compare(const std::string& name, const Dual& t, double tol) { report(name, rel_err(get(t, 0), get(t, 1)), tol); }

// Runs a check, turning an exception (a CUDA error, a refused shape) into a FAIL line.
void guarded(const std::string& name, const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    failed++;
    std::printf("FAIL %-66s threw: %s\n", name.c_str(), e.what());
  }
}

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(buf, sizeof buf, f, ap);
  va_end(ap);
  return buf;
}

// ---- elementwise and row ops ------------------------------------------------------------------

void check_basic() {
  for (long n : {1L, 37L, 1000L, 100003L}) {
    guarded("basic", [&] {
      Dual a = tensor(randn(n)), b = tensor(randn(n)), out = tensor(randn(n));
      on_both([&](Backend& k, int s) { k.copy(out.f(s), a.f(s), n); });
      compare(fmt("copy n=%ld", n), out, 0);
      on_both([&](Backend& k, int s) { k.add(out.f(s), a.f(s), b.f(s), n); });
      compare(fmt("add n=%ld", n), out, 1e-7);
      on_both([&](Backend& k, int s) { k.add(a.f(s), a.f(s), b.f(s), n); });  // in place
      compare(fmt("add in place n=%ld", n), a, 1e-7);
      on_both([&](Backend& k, int s) { k.scale(out.f(s), b.f(s), -0.37f, n); });
      compare(fmt("scale n=%ld", n), out, 1e-7);
      on_both([&](Backend& k, int s) { k.zero(out.f(s), n - n / 3); });
      compare(fmt("zero n=%ld (a prefix)", n), out, 0);
    });
  }
  for (auto [M, N, ld] : {std::tuple{1, 1, 1}, {7, 37, 37}, {70, 37, 41}, {300, 130, 133}, {1000, 5, 9}}) {
    guarded("bias", [&] {
      Dual y = tensor(randn((size_t)M * ld)), bias = tensor(randn(N)), db = tensor(randn(N));
      on_both([&](Backend& k, int s) { k.add_bias(y.f(s), ld, bias.f(s), M, N); });
      compare(fmt("add_bias M=%d N=%d ldy=%d", M, N, ld), y, 1e-7);
      on_both([&](Backend& k, int s) { k.column_sums(db.f(s), y.f(s), ld, M, N); });
      compare(fmt("column_sums M=%d N=%d lddy=%d (+=)", M, N, ld), db, 1e-5);
    });
  }
  for (auto [R, C, X] : {std::tuple{1, 1, 1}, {7, 37, 11}, {70, 130, 100}}) {
    guarded("rows", [&] {
      Dual x = tensor(randn((size_t)X * C)), out = tensor(randn((size_t)R * C));
      Dual rows = itensor(randint(R, 0, X)), drows = itensor(distinct(std::min(R, X), X));
      on_both([&](Backend& k, int s) { k.gather_rows(out.f(s), x.f(s), rows.i(s), R, C); });
      compare(fmt("gather_rows R=%d C=%d", R, C), out, 0);
      const int D = std::min(R, X);
      on_both([&](Backend& k, int s) { k.scatter_add_rows(x.f(s), out.f(s), drows.i(s), D, C); });
      compare(fmt("scatter_add_rows R=%d C=%d", D, C), x, 1e-7);
    });
  }
}

void check_embedding() {
  for (auto [N, C, V] : {std::tuple{1, 1, 1}, {7, 37, 5}, {130, 64, 11}, {300, 300, 1000}}) {
    guarded("embedding", [&] {
      Dual table = tensor(randn((size_t)V * C)), out = tensor(randn((size_t)N * C)), tokens = itensor(randint(N, 0, V));
      on_both([&](Backend& k, int s) { k.embedding_forward(out.f(s), tokens.i(s), table.f(s), N, C); });
      compare(fmt("embedding_forward N=%d C=%d V=%d", N, C, V), out, 0);
      Dual dtable = tensor(randn((size_t)V * C));
      on_both([&](Backend& k, int s) { k.embedding_backward(dtable.f(s), out.f(s), tokens.i(s), N, C); });
      compare(fmt("embedding_backward N=%d C=%d V=%d (repeated tokens, +=)", N, C, V), dtable, 1e-6);
    });
  }
}

void check_rmsnorm() {
  for (auto [N, C] : {std::tuple{1, 1}, {7, 37}, {130, 300}, {3, 4096}}) {
    guarded("rmsnorm", [&] {
      const float eps = 1e-5f;
      Dual x = tensor(randn((size_t)N * C)), w = tensor(randn(C, 0.5f)), out = tensor(randn((size_t)N * C));
      Dual rstd = tensor(randn(N));
      on_both([&](Backend& k, int s) { k.rmsnorm_forward(out.f(s), x.f(s), w.f(s), N, C, eps, rstd.f(s)); });
      compare(fmt("rmsnorm_forward N=%d C=%d out", N, C), out, 1e-6);
      compare(fmt("rmsnorm_forward N=%d C=%d rstd", N, C), rstd, 1e-6);
      Dual out2 = tensor(randn((size_t)N * C));
      on_both([&](Backend& k, int s) { k.rmsnorm_forward(out2.f(s), x.f(s), w.f(s), N, C, eps, nullptr); });
      compare(fmt("rmsnorm_forward N=%d C=%d (no rstd)", N, C), out2, 1e-6);
      const int R = std::max(1, N / 2);
      Dual rows = itensor(randint(R, 0, N)), outr = tensor(randn((size_t)R * C));
      on_both([&](Backend& k, int s) { k.rmsnorm_rows(outr.f(s), x.f(s), rows.i(s), w.f(s), R, C, eps); });
      compare(fmt("rmsnorm_rows R=%d C=%d", R, C), outr, 1e-6);
      Dual dout = tensor(randn((size_t)N * C)), dx = tensor(randn((size_t)N * C)), dw = tensor(randn(C));
      on_both([&](Backend& k, int s) { k.rmsnorm_backward(dx.f(s), dw.f(s), dout.f(s), x.f(s), w.f(s), rstd.f(s), N, C); });
      compare(fmt("rmsnorm_backward N=%d C=%d dinp", N, C), dx, 1e-5);
      compare(fmt("rmsnorm_backward N=%d C=%d dweight (+=)", N, C), dw, 1e-5);
    });
  }
}

void check_rope() {
  RopeTable table;
  table.init(96, 16, 10000.0);
  RopeTable table64;
  table64.init(200, 64, 500000.0);
  for (RopeStyle style : {RopeStyle::RotateHalf, RopeStyle::Interleaved}) {
    const char* sname = style == RopeStyle::RotateHalf ? "rotate-half" : "interleaved";
    for (auto [N, heads, HS, pad] : {std::tuple{1, 1, 16, 0}, {7, 3, 16, 5}, {70, 4, 64, 7}}) {
      guarded("rope", [&] {
        const RopeTable& tb = HS == 16 ? table : table64;
        const long stride = (long)heads * HS + pad;
        Dual x = tensor(randn((size_t)N * stride)), pos = itensor(randint(N, 0, tb.max_positions));
        on_both([&](Backend& k, int s) { k.rope_forward(x.f(s), stride, pos.i(s), N, heads, HS, style, tb); });
        compare(fmt("rope_forward %s N=%d heads=%d HS=%d stride=%ld", sname, N, heads, HS, stride), x, 1e-5);
        on_both([&](Backend& k, int s) { k.rope_backward(x.f(s), stride, pos.i(s), N, heads, HS, style, tb); });
        compare(fmt("rope_backward %s N=%d heads=%d HS=%d stride=%ld", sname, N, heads, HS, stride), x, 1e-5);
      });
    }
    for (auto [N, NH, NKV, HS] : {std::tuple{1, 2, 2, 16}, {5, 4, 2, 16}, {6, 4, 1, 64}}) {
      guarded("rope_and_cache", [&] {
        const RopeTable& tb = HS == 16 ? table : table64;
        const int QD = NH * HS, KVD = NKV * HS, slots = 3, t_max = 40;
        const long stride = QD + 2 * KVD + 3;
        Dual qkv = tensor(randn((size_t)N * stride)), pos = itensor(randint(N, 0, t_max));
        Dual slot = itensor(randint(N, 0, slots));
        // Distinct (slot, pos) pairs so no two rows write one cache row.
        {
          IVec p = randint(N, 0, t_max), sl(N);
          for (int n = 0; n < N; n++) sl[n] = n % slots, p[n] = (n / slots) + 7 * (n % 2);
          pos = itensor(p);
          slot = itensor(sl);
        }
        Dual kc = tensor(randn((size_t)slots * t_max * KVD)), vc = tensor(randn((size_t)slots * t_max * KVD));
        on_both([&](Backend& k, int s) {
          k.rope_and_cache(qkv.f(s), stride, pos.i(s), slot.i(s), N, NH, NKV, HS, style, tb,
                           KVView{kc.f(s), vc.f(s), t_max, KVD});
        });
        const std::string shape = fmt("%s N=%d NH=%d NKV=%d HS=%d", sname, N, NH, NKV, HS);
        compare("rope_and_cache qkv " + shape, qkv, 1e-5);
        compare("rope_and_cache k cache " + shape, kc, 1e-5);
        compare("rope_and_cache v cache " + shape, vc, 0);
      });
    }
  }
}

void check_swiglu_head() {
  for (auto [N, H] : {std::tuple{1, 1}, {7, 37}, {130, 300}}) {
    guarded("swiglu", [&] {
      Dual gu = tensor(randn((size_t)N * 2 * H, 2.0f)), out = tensor(randn((size_t)N * H));
      on_both([&](Backend& k, int s) { k.swiglu_forward(out.f(s), gu.f(s), N, H); });
      compare(fmt("swiglu_forward N=%d H=%d", N, H), out, 1e-6);
      Dual dout = tensor(randn((size_t)N * H)), dgu = tensor(randn((size_t)N * 2 * H));
      on_both([&](Backend& k, int s) { k.swiglu_backward(dgu.f(s), dout.f(s), gu.f(s), N, H); });
      compare(fmt("swiglu_backward N=%d H=%d", N, H), dgu, 1e-6);
    });
  }
  for (auto [N, C] : {std::tuple{1, 1}, {7, 37}, {300, 130}}) {
    guarded("head", [&] {
      Dual x = tensor(randn((size_t)N * C)), w = tensor(randn(C + 1)), out = tensor(randn(N));
      on_both([&](Backend& k, int s) { k.head_forward(out.f(s), x.f(s), w.f(s), N, C); });
      compare(fmt("head_forward N=%d C=%d", N, C), out, 1e-5);
      Dual dout = tensor(randn(N)), dx = tensor(randn((size_t)N * C)), dw = tensor(randn(C + 1));
      on_both([&](Backend& k, int s) { k.head_backward(dx.f(s), dw.f(s), dout.f(s), x.f(s), w.f(s), N, C); });
      compare(fmt("head_backward N=%d C=%d dx (+=)", N, C), dx, 1e-6);
      compare(fmt("head_backward N=%d C=%d dw (+=, bias last)", N, C), dw, 1e-5);
    });
  }
}

// ---- GEMM and the packed matmul ---------------------------------------------------------------

void check_gemm() {
  struct Shape {
    int M, N, K;
  };
  for (Shape sh : {Shape{1, 1, 1}, Shape{7, 37, 5}, Shape{13, 33, 300}, Shape{70, 130, 129}, Shape{200, 150, 67},
                   Shape{65, 64, 1000}, Shape{2309, 2311, 19}}) {
    const int M = sh.M, N = sh.N, K = sh.K;
    const bool big = (long)M * N > 1000000;
    for (int variant = 0; variant < (big ? 2 : 5); variant++) {
      for (bool acc : {false, true}) {
        if (big && acc && variant == 1) continue;
        guarded("gemm", [&] {
          // 0: A, B row-major; 1: A transposed (rows fast); 2: B transposed; 3: both transposed and
          // padded; 4: neither stride 1 (every other element of a wider buffer)
          long ars = K, acs = 1, brs = N, bcs = 1, asize = (long)M * K, bsize = (long)K * N;
          const char* vname = "A(M,K) B(K,N)";
          if (variant == 1) ars = 1, acs = M, vname = "A^T B";
          if (variant == 2) brs = 1, bcs = K, vname = "A B^T";
          if (variant == 3) ars = 1, acs = M + 3, brs = 1, bcs = K + 2, asize = (long)K * (M + 3), bsize = (long)N * (K + 2), vname = "A^T B^T padded";
          if (variant == 4) ars = 2L * K + 1, acs = 2, brs = 2L * N + 3, bcs = 2, asize = M * (2L * K + 1), bsize = K * (2L * N + 3), vname = "A, B strided by 2";
          const long ldc = N + (variant >= 3 ? 5 : 0);
          Dual A = tensor(randn(asize)), B = tensor(randn(bsize)), C = tensor(randn((size_t)M * ldc));
          on_both([&](Backend& k, int s) {
            k.gemm(M, N, K, View2D{A.f(s), ars, acs}, View2D{B.f(s), brs, bcs}, C.f(s), ldc, acc);
          });
          compare(fmt("gemm M=%d N=%d K=%d %s ldc=%ld%s", M, N, K, vname, ldc, acc ? " accumulate" : ""), C,
                  K > 500 ? 3e-5 : 1e-5);
        });
      }
    }
  }
}

void check_matmul() {
  struct Shape {
    int M, N, K;
  };
  for (WeightType type : {WeightType::F32, WeightType::BF16, WeightType::F16, WeightType::Q8_0}) {
    for (Shape sh : {Shape{1, 37, 64}, Shape{3, 70, 96}, Shape{8, 33, 128}, Shape{9, 65, 160}, Shape{70, 130, 256},
                     Shape{5, 19, 40}, Shape{4, 21, 37}, Shape{130, 140, 37}, Shape{2, 300, 1024}}) {
      const int M = sh.M, N = sh.N, K = sh.K;
      guarded("matmul", [&] {
        const Vec wsrc = randn((size_t)N * K, 0.2f);
        std::unique_ptr<Matrix> w[2];
        for (int s = 0; s < 2; s++) w[s] = be[s]->pack(SourceWeights{wsrc.data(), WeightType::F32}, N, K, type);
        const bool same = w[0]->rows() == w[1]->rows() && w[0]->cols() == w[1]->cols() && w[0]->type() == w[1]->type();
        report(fmt("pack %s N=%d K=%d -> %s", weight_type_name(type), N, K, weight_type_name(w[1]->type())), same ? 0 : 1, 0);
        if (M == 1) {  // the weights as the matmul sees them: the same values on both (the same rounding)
          Dual widened = tensor(randn((size_t)N * K));
          on_both([&](Backend& k, int s) { k.unpack(widened.f(s), *w[s]); });
          compare(fmt("unpack %s N=%d K=%d", weight_type_name(type), N, K), widened, 0.0);
        }
        Dual inp = tensor(randn((size_t)M * K)), bias = tensor(randn(N));
        for (bool with_bias : {false, true})
          for (bool acc : {false, true}) {
            Dual out = tensor(randn((size_t)M * N));
            on_both([&](Backend& k, int s) { k.matmul(out.f(s), inp.f(s), *w[s], with_bias ? bias.f(s) : nullptr, M, acc); });
            // q8_0 on the CPU multiplies int16-quantised activations (2^-16 of a block's max |x|,
            // matmul_q8.cpp); the CUDA kernel multiplies the f32 activations.
            const bool q8 = w[1]->type() == WeightType::Q8_0;
            compare(fmt("matmul %s M=%d N=%d K=%d%s%s", weight_type_name(type), M, N, K, with_bias ? " bias" : "",
                        acc ? " accumulate" : ""),
                    out, q8 ? 2e-4 : K > 500 ? 3e-5 : 1e-5);
          }
      });
    }
  }
  // bf16 / f16 checkpoint bits packed into their own type (kept bit for bit) and into q8_0.
  for (WeightType src : {WeightType::BF16, WeightType::F16})
    for (WeightType type : {src, WeightType::Q8_0, WeightType::F32}) {
      const int M = 6, N = 45, K = 96;
      guarded("matmul bits", [&] {
        const Vec wf = randn((size_t)N * K, 0.2f);
        std::vector<uint16_t> bits(wf.size());
        for (size_t i = 0; i < wf.size(); i++) bits[i] = src == WeightType::BF16 ? f32_to_bf16(wf[i]) : f32_to_f16(wf[i]);
        std::unique_ptr<Matrix> w[2];
        for (int s = 0; s < 2; s++) w[s] = be[s]->pack(SourceWeights{bits.data(), src}, N, K, type);
        for (int m : {M, 20}) {
          Dual inp = tensor(randn((size_t)m * K)), out = tensor(randn((size_t)m * N));
          on_both([&](Backend& k, int s) { k.matmul(out.f(s), inp.f(s), *w[s], nullptr, m, false); });
          compare(fmt("matmul %s source -> %s M=%d N=%d K=%d", weight_type_name(src), weight_type_name(type), m, N, K), out,
                  type == WeightType::Q8_0 ? 2e-4 : 1e-5);
        }
      });
    }
}

// ---- attention ---------------------------------------------------------------------------------

void check_attention_decode() {
  for (auto [N, NH, NKV, HS] : {std::tuple{1, 1, 1, 16}, {6, 4, 2, 16}, {5, 4, 4, 64}, {3, 8, 2, 100}, {4, 2, 1, 256}}) {
    guarded("attention_decode", [&] {
      const int slots = 3, t_max = 300, KVD = NKV * HS;
      const long q_stride = (long)NH * HS + 2 * KVD + 1;
      Dual kc = tensor(randn((size_t)slots * t_max * KVD)), vc = tensor(randn((size_t)slots * t_max * KVD));
      Dual q = tensor(randn((size_t)N * q_stride, 0.5f)), out = tensor(randn((size_t)N * NH * HS));
      IVec p = randint(N, 0, t_max);
      p[0] = 0;
      if (N > 1) p[1] = t_max - 1;
      Dual pos = itensor(p), slot = itensor(randint(N, 0, slots));
      on_both([&](Backend& k, int s) {
        k.attention_decode(out.f(s), q.f(s), q_stride, slot.i(s), pos.i(s), KVView{kc.f(s), vc.f(s), t_max, KVD}, N, NH,
                           NKV, HS);
      });
      compare(fmt("attention_decode N=%d NH=%d NKV=%d HS=%d", N, NH, NKV, HS), out, 1e-5);
    });
  }
}

void check_causal_attention() {
  for (auto [B, T_, NH, NKV, HS] : {std::tuple{1, 1, 2, 2, 16}, {2, 5, 4, 2, 16}, {2, 70, 4, 2, 16}, {2, 70, 2, 2, 16},
                                    {1, 130, 4, 1, 64}, {3, 33, 3, 3, 37}}) {
    const int T = T_;
    guarded("causal_attention", [&] {
      const int QD = NH * HS, KVD = NKV * HS;
      const long stride = QD + 2 * KVD + 2;
      const std::string shape = fmt("B=%d T=%d NH=%d NKV=%d HS=%d", B, T, NH, NKV, HS);
      Dual qkv = tensor(randn((size_t)B * T * stride)), out = tensor(randn((size_t)B * T * QD));
      // What each backend saves for its backward is its own (the CPU: log-sum-exps, CUDA: the
      // probabilities), so only the outputs are compared, and each backward reads its own state.
      Buffer state[2];
      for (int s = 0; s < 2; s++) state[s] = Buffer(be[s], sizeof(float) * be[s]->causal_attention_state_floats(B, T, NH));
      on_both([&](Backend& k, int s) { k.causal_attention_forward(out.f(s), state[s].f32(), qkv.f(s), stride, B, T, NH, NKV, HS); });
      compare("causal_attention_forward out " + shape, out, 1e-5);
      Dual dout = tensor(randn((size_t)B * T * QD)), dqkv = tensor(randn((size_t)B * T * stride));
      on_both([&](Backend& k, int s) {
        k.causal_attention_backward(dqkv.f(s), dout.f(s), state[s].f32(), qkv.f(s), stride, B, T, NH, NKV, HS);
      });
      compare("causal_attention_backward dqkv " + shape, dqkv, T > 64 ? 3e-5 : 1e-5);
    });
  }
}

// ---- losses and optimiser ----------------------------------------------------------------------

void check_losses() {
  for (auto [N, V] : {std::tuple{1, 1}, {7, 37}, {3, 5000}, {4, 50000}}) {
    guarded("losses", [&] {
      const std::string shape = fmt("N=%d V=%d", N, V);
      Dual logits = tensor(randn((size_t)N * V, 3.0f)), targets = itensor(randint(N, 0, V));
      Dual lp = tensor(randn(N)), ent = tensor(randn(N));
      on_both([&](Backend& k, int s) { k.logprobs_forward(lp.f(s), logits.f(s), targets.i(s), N, V); });
      compare("logprobs_forward " + shape, lp, 1e-5);
      on_both([&](Backend& k, int s) { k.logprobs_entropy_forward(lp.f(s), ent.f(s), logits.f(s), targets.i(s), N, V); });
      compare("logprobs_entropy_forward logprobs " + shape, lp, 1e-5);
      compare("logprobs_entropy_forward entropy " + shape, ent, 1e-5);
      Dual ent2 = tensor(randn(N));
      on_both([&](Backend& k, int s) { k.entropy_forward(ent2.f(s), logits.f(s), N, V); });
      compare("entropy_forward " + shape, ent2, 1e-5);
      Vec g = randn(N);
      g[0] = 0.0f;  // a row with no gradient: zeros, no softmax
      Dual dlp = tensor(g), dlogits = tensor(randn((size_t)N * V));
      on_both([&](Backend& k, int s) { k.logprobs_backward(dlogits.f(s), logits.f(s), targets.i(s), dlp.f(s), N, V); });
      compare("logprobs_backward " + shape, dlogits, 1e-5);
      Vec ge = randn(N);
      if (N > 1) ge[N - 1] = 0.0f;  // a row left untouched
      Dual dent = tensor(ge);
      on_both([&](Backend& k, int s) { k.entropy_backward(dlogits.f(s), logits.f(s), dent.f(s), N, V); });
      compare("entropy_backward (+=) " + shape, dlogits, 1e-5);
    });
  }
}

void check_optimizer() {
  for (long n : {1L, 37L, 100003L, 3000000L}) {
    guarded("sum_squares", [&] {
      Dual g = tensor(randn(n));
      const double a = be[0]->sum_squares(g.f(0), n), b = be[1]->sum_squares(g.f(1), n);
      report(fmt("sum_squares n=%ld", n), std::fabs(a - b) / std::max(1e-300, std::fabs(a)), 1e-12);
    });
  }
  for (long n : {1L, 1000L, 100003L}) {
    for (float grad_scale : {1.0f, 0.37f}) {
      guarded("adamw", [&] {
        AdamWConfig cfg;
        cfg.lr = 3e-3f;
        cfg.weight_decay = 0.1f;
        Dual p = tensor(randn(n)), g = tensor(randn(n)), m = tensor(randn(n, 0.1f)), v = zeros(n);
        {
          Vec vv = randn(n, 0.1f);
          for (auto& x : vv) x = x * x;
          v = tensor(vv);
        }
        for (long step : {1L, 7L})
          for (int s = 0; s < 2; s++) be[s]->adamw(p.f(s), g.f(s), m.f(s), v.f(s), n, cfg, step, grad_scale);
        const std::string shape = fmt("n=%ld grad_scale=%g", n, grad_scale);
        compare("adamw param " + shape, p, 1e-6);
        compare("adamw grad (scaled in place) " + shape, g, 1e-6);
        compare("adamw m " + shape, m, 1e-6);
        compare("adamw v " + shape, v, 1e-6);
      });
    }
  }
}

}  // namespace

int main() {
  std::string why;
  std::unique_ptr<Backend> cuda = make_cuda_backend(0, why);
  if (!cuda) {
    std::printf("SKIP test_backend_ops: %s\n", why.c_str());
    return 0;
  }
  be[0] = &cpu_backend();
  be[1] = cuda.get();
  std::printf("test_backend_ops: %s against %s\n", be[1]->name().c_str(), be[0]->name().c_str());
  check_basic();
  check_embedding();
  check_rmsnorm();
  check_rope();
  check_swiglu_head();
  check_gemm();
  check_matmul();
  check_attention_decode();
  check_causal_attention();
  check_losses();
  check_optimizer();
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
