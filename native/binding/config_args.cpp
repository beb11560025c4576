#include "config_args.h"

#include <thread>

#include "../common/check.h"
#include "../model/weights.h"
#include "args.h"

namespace rlcd::binding {

ModelConfig parse_model_config(Napi::Object o) {
  const char* w = "config";
  ModelConfig c;
  c.dim = (int)get_int(o, "dim", w, 0, 1, 1 << 16, true);
  c.hidden_dim = (int)get_int(o, "hiddenDim", w, 0, 1, 1 << 18, true);
  c.n_layers = (int)get_int(o, "nLayers", w, 0, 1, 1024, true);
  c.n_heads = (int)get_int(o, "nHeads", w, 0, 1, 1024, true);
  c.n_kv_heads = (int)get_int(o, "nKvHeads", w, c.n_heads, 1, 1024);
  c.head_dim = (int)get_int(o, "headDim", w, c.dim / c.n_heads, 1, 1024);
  c.vocab_size = (int)get_int(o, "vocabSize", w, 0, 1, 1 << 22, true);
  c.max_seq_len = (int)get_int(o, "maxSeqLen", w, 0, 1, 1 << 20, true);
  c.rms_eps = (float)get_number(o, "rmsEps", w, 1e-5);
  c.rope_theta = get_number(o, "ropeTheta", w, 10000.0);
  Napi::Value style = o.Get("ropeStyle");
  if (!style.IsUndefined()) {
    std::string s = style.IsString() ? style.As<Napi::String>().Utf8Value() : "";
    if (s == "rotate-half") c.rope_style = RopeStyle::RotateHalf;
    else if (s == "interleaved") c.rope_style = RopeStyle::Interleaved;
    else throw_type(o.Env(), "config.ropeStyle must be 'rotate-half' or 'interleaved'");
  }
  c.tied_embeddings = get_bool(o, "tiedEmbeddings", w, true);
  c.qkv_bias = get_bool(o, "qkvBias", w, false);
  c.bos_id = (int)get_int(o, "bosId", w, 1, -1, c.vocab_size - 1);
  c.eos_id = (int)get_int(o, "eosId", w, 2, -1, c.vocab_size - 1);
  try {
    c.validate();
  } catch (const RangeError& e) {
    throw_range(o.Env(), e.what());
  }
  return c;
}

int get_threads(Napi::Object opts, const char* where) {
  int hw = (int)std::thread::hardware_concurrency();
  int max = hw > 0 ? hw * 4 : 64;
  return (int)get_int(opts, "threads", where, hw > 0 ? hw : 1, 1, max);
}

Napi::Float32Array require_f32(Napi::Env env, Napi::Value v, const std::string& name, long expected) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_type(env, name + " must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  if (expected >= 0 && (long)a.ElementLength() != expected)
    throw_range(env, name + " has " + std::to_string(a.ElementLength()) + " elements, expected " + std::to_string(expected));
  return a;
}

Napi::Int32Array require_i32(Napi::Env env, Napi::Value v, const std::string& name, long expected) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_type(env, name + " must be an Int32Array");
  auto a = v.As<Napi::Int32Array>();
  if (expected >= 0 && (long)a.ElementLength() != expected)
    throw_range(env, name + " has " + std::to_string(a.ElementLength()) + " elements, expected " + std::to_string(expected));
  return a;
}

// A weight type by name: 'f32', 'bf16', 'f16', and 'q8_0' where quantised types are allowed.
WeightType parse_weight_type(Napi::Env env, Napi::Value v, const char* where, bool quantised, WeightType fallback) {
  if (v.IsUndefined()) return fallback;
  const std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  for (WeightType t : {WeightType::F32, WeightType::BF16, WeightType::F16, WeightType::Q8_0})
    if (name == weight_type_name(t) && (quantised || t != WeightType::Q8_0)) return t;
  throw_type(env, std::string(where) + (quantised ? " must be 'f32', 'bf16', 'f16' or 'q8_0'" : " must be 'f32', 'bf16' or 'f16'"));
}

Napi::TypedArray require_model_weights(Napi::Env env, Napi::Value v, const ModelConfig& cfg, WeightType source_type) {
  const napi_typedarray_type array_type = v.IsTypedArray() ? v.As<Napi::TypedArray>().TypedArrayType() : napi_int8_array;
  if (array_type != napi_float32_array && array_type != napi_uint16_array)
    throw_type(env, "weights must be a Float32Array (or a Uint16Array of bf16 / f16 bits with options.checkpointDtype)");
  if ((source_type == WeightType::F32) != (array_type == napi_float32_array))
    throw_type(env, std::string("weights must be a ") + (source_type == WeightType::F32 ? "Float32Array" : "Uint16Array") +
                        " for options.checkpointDtype '" + weight_type_name(source_type) + "'");
  Napi::TypedArray weights = v.As<Napi::TypedArray>();
  ParameterTensors layout;
  layout.layout(cfg);
  if (weights.ElementLength() != layout.total)
    throw_range(env, "weights has " + std::to_string(weights.ElementLength()) + " values; this config needs " +
                         std::to_string(layout.total));
  return weights;
}

SourceWeights source_of(Napi::TypedArray weights, WeightType source_type) {
  return SourceWeights{static_cast<const char*>(weights.ArrayBuffer().Data()) + weights.ByteOffset(), source_type};
}

}  // namespace rlcd::binding
