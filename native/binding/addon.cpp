// The addon's entry point: the only file that registers exports with Node.
#include <napi.h>

#include <thread>

#include "config_args.h"
#include "model_wrap.h"
#include "trainer_wrap.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new rlcd::binding::AddonData();
  env.SetInstanceData<rlcd::binding::AddonData>(data);
  exports.Set("NativeModel", rlcd::binding::ModelWrap::define(env));
  exports.Set("createModel", Napi::Function::New(env, rlcd::binding::create_model, "createModel"));
  exports.Set("NativeTrainer", rlcd::binding::TrainerWrap::define(env, &data->trainer_class));
  exports.Set("createTrainer", Napi::Function::New(env, rlcd::binding::create_trainer, "createTrainer"));
  exports.Set("hardwareThreads", Napi::Number::New(env, std::thread::hardware_concurrency()));
#if defined(__AVX2__) && defined(__FMA__)
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
