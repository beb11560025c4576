// Parsing shared by the model and trainer bindings: the engine config object, thread counts, weight types.
#pragma once

#include <napi.h>

#include "../kernels/matmul_packed.h"
#include "../model/config.h"

namespace rlcd::binding {

ModelConfig parse_model_config(Napi::Object o);
int get_threads(Napi::Object opts, const char* where);
// A weight type by name: 'f32', 'bf16', 'f16', and 'q8_0' where quantised types are allowed;
// `fallback` when v is undefined.
WeightType parse_weight_type(Napi::Env env, Napi::Value v, const char* where, bool quantised, WeightType fallback);
// A model's weights: a Float32Array, or a Uint16Array of a bf16 / f16 checkpoint's bits when
// `source_type` (options.checkpointDtype) says so, holding exactly the config's parameter count.
Napi::TypedArray require_model_weights(Napi::Env env, Napi::Value v, const ModelConfig& cfg, WeightType source_type);
// The array's values as the engine reads them (while a Persistent reference keeps it alive).
SourceWeights source_of(Napi::TypedArray weights, WeightType source_type);
// A typed array argument of exactly `expected` elements (or any length when expected < 0).
Napi::Float32Array require_f32(Napi::Env env, Napi::Value v, const std::string& name, long expected = -1);
Napi::Int32Array require_i32(Napi::Env env, Napi::Value v, const std::string& name, long expected = -1);

struct AddonData {
  Napi::FunctionReference model_class;
  Napi::FunctionReference trainer_class;
};

}  // namespace rlcd::binding
