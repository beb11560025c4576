// The addon's entry point: the only file that registers exports with Node.
#include <napi.h>

#include "../backend/backend.h"

#include <thread>

#include "config_args.h"
#include "model_wrap.h"
#include "trainer_wrap.h"
#include "../kernels/peak.h"
#include "../optim/adamw.h"
#include "args.h"
#include "async_call.h"

namespace {

// scheduleLr(kind, baseLr, step, total, warmup, minRatio?) -> number: the engine's learning-rate
// schedules (optim/adamw.h), so the TypeScript trainers and the native code share one definition.
Napi::Value schedule_lr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString()) throw Napi::TypeError::New(env, "scheduleLr(kind, baseLr, step, total, warmup, minRatio?)");
  std::string kind = info[0].As<Napi::String>().Utf8Value();
  rlcd::Schedule s;
  if (kind == "constant") s = rlcd::Schedule::Constant;
  else if (kind == "linear") s = rlcd::Schedule::Linear;
  else if (kind == "cosine") s = rlcd::Schedule::Cosine;
  else throw Napi::TypeError::New(env, "kind must be 'constant', 'linear' or 'cosine'");
  for (size_t i = 1; i < 5; i++)
    if (!info[i].IsNumber()) throw Napi::TypeError::New(env, "scheduleLr: numeric arguments expected");
  double min_ratio = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().DoubleValue() : 0.0;
  return Napi::Number::New(env, rlcd::schedule_lr(s, info[1].As<Napi::Number>().DoubleValue(),
                                                  (long)info[2].As<Napi::Number>().DoubleValue(),
                                                  (long)info[3].As<Napi::Number>().DoubleValue(),
                                                  (long)info[4].As<Napi::Number>().DoubleValue(), min_ratio));
}

// measurePeak(threads, seconds) -> Promise<{ fmaGflops, readGBps, vectorFloats }>: the roofline's two
// limits (kernels/peak.h), measured off the event loop.
class PeakCall : public rlcd::binding::AsyncCall {
 public:
  PeakCall(Napi::Env env, int threads, double seconds) : AsyncCall(env, "rlcd.measurePeak", threads), seconds_(seconds) {}

 protected:
  void work() override { result_ = rlcd::measure_peak(threads(), seconds_, 0); }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("fmaGflops", result_.fma_gflops);
    o.Set("readGBps", result_.read_gbps);
    o.Set("vectorFloats", result_.vector_floats);
    return o;
  }

 private:
  double seconds_;
  rlcd::PeakResult result_;
};

Napi::Value measure_peak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "measurePeak(threads, seconds)");
  double threads = info[0].As<Napi::Number>().DoubleValue(), seconds = info[1].As<Napi::Number>().DoubleValue();
  if (!(threads >= 1 && threads <= 1024 && threads == (int)threads)) throw Napi::RangeError::New(env, "threads must be an integer in [1, 1024]");
  if (!(seconds > 0 && seconds <= 60)) throw Napi::RangeError::New(env, "seconds must be in (0, 60]");
  auto* call = new PeakCall(env, (int)threads, seconds);
  Napi::Promise promise = call->promise();
  call->Queue();
  return promise;
}

// cudaStatus() -> { available, device?, reason? }: whether createModel(..., { device: 'cuda' }) can work.
// Probing starts the CUDA runtime (slow on a GPU machine), so it runs once per process.
Napi::Value cuda_status(const Napi::CallbackInfo& info) {
  struct Status {
    bool available = false;
    std::string device, reason;
  };
  static const Status status = [] {
    Status s;
    try {
      std::unique_ptr<rlcd::Backend> backend = rlcd::make_cuda_backend(0, s.reason);
      s.available = backend != nullptr;
      if (backend) s.device = backend->name();
    } catch (const std::exception& e) {
      s.reason = e.what();
    }
    return s;
  }();
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("available", Napi::Boolean::New(env, status.available));
  if (status.available) out.Set("device", Napi::String::New(env, status.device));
  else out.Set("reason", Napi::String::New(env, status.reason));
  return out;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new rlcd::binding::AddonData();
  env.SetInstanceData<rlcd::binding::AddonData>(data);
  exports.Set("NativeModel", rlcd::binding::ModelWrap::define(env));
  exports.Set("createModel", Napi::Function::New(env, rlcd::binding::create_model, "createModel"));
  exports.Set("NativeTrainer", rlcd::binding::TrainerWrap::define(env, &data->trainer_class));
  exports.Set("createTrainer", Napi::Function::New(env, rlcd::binding::create_trainer, "createTrainer"));
  exports.Set("scheduleLr", Napi::Function::New(env, schedule_lr, "scheduleLr"));
  exports.Set("measurePeak", Napi::Function::New(env, measure_peak, "measurePeak"));
  exports.Set("cudaStatus", Napi::Function::New(env, cuda_status, "cudaStatus"));
#ifdef RLCD_CUDA
  exports.Set("cuda", Napi::Boolean::New(env, true));
#else
  exports.Set("cuda", Napi::Boolean::New(env, false));
#endif
  exports.Set("hardwareThreads", Napi::Number::New(env, std::thread::hardware_concurrency()));
#if defined(__AVX512F__)
  exports.Set("simd", Napi::String::New(env, "avx512"));
#elif defined(__AVX2__) && defined(__FMA__)
  exports.Set("simd", Napi::String::New(env, "avx2+fma"));
#else
  exports.Set("simd", Napi::String::New(env, "scalar"));
#endif
#ifdef _OPENMP
  exports.Set("openmp", Napi::Boolean::New(env, true));
#else
  exports.Set("openmp", Napi::Boolean::New(env, false));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(rlcd, init)
