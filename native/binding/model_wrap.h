// The JS class behind src/native/binding.ts's NativeModel.
#pragma once

#include <napi.h>

#include "engine.h"

namespace rlcd::binding {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  // Wraps an engine in a new JS object (called when createModel's worker finishes).
  static Napi::Object wrap(Napi::Env env, EnginePtr engine);
  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value generate(const Napi::CallbackInfo& info);
  Napi::Value log_probs(const Napi::CallbackInfo& info);
  Napi::Value logits(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value parameter_count(const Napi::CallbackInfo& info);
  Napi::Value weight_bytes(const Napi::CallbackInfo& info);
  Napi::Value weights_dtype(const Napi::CallbackInfo& info);

  EnginePtr live(Napi::Env env) const;
  EnginePtr engine_;
};

// createModel(config, weights: Float32Array, pieces?: Uint8Array[]) -> Promise<NativeModel>
Napi::Value create_model(const Napi::CallbackInfo& info);

}  // namespace rlcd::binding
