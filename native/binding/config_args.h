// Parsing shared by the model and trainer bindings: the engine config object and thread counts.
#pragma once

#include <napi.h>

#include "../model/config.h"

namespace rlcd::binding {

ModelConfig parse_model_config(Napi::Object o);
int get_threads(Napi::Object opts, const char* where);
// A typed array argument of exactly `expected` elements (or any length when expected < 0).
Napi::Float32Array require_f32(Napi::Env env, Napi::Value v, const std::string& name, long expected = -1);
Napi::Int32Array require_i32(Napi::Env env, Napi::Value v, const std::string& name, long expected = -1);

struct AddonData {
  Napi::FunctionReference model_class;
  Napi::FunctionReference trainer_class;
};

}  // namespace rlcd::binding
