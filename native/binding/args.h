// Argument checks for the JS boundary (after better-sqlite3's REQUIRE_ARGUMENT_*): a wrong type
// throws TypeError, a value out of range throws RangeError, both naming the argument. The TS layer
// checks the same things first; these checks keep a direct caller of the addon from crashing Node.
#pragma once

#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

namespace rlcd::binding {

[[noreturn]] inline void throw_type(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, msg);
}
[[noreturn]] inline void throw_range(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, msg);
}

inline Napi::Object require_object(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsObject() || info[i].IsArray())
    throw_type(info.Env(), std::string(name) + " must be an object");
  return info[i].As<Napi::Object>();
}

// An optional object argument: undefined gives an empty object.
inline Napi::Object optional_object(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || info[i].IsUndefined()) return Napi::Object::New(info.Env());
  return require_object(info, i, name);
}

inline double get_number(Napi::Object obj, const char* key, const char* where, double fallback,
                         bool required = false) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) {
    if (required) throw_type(obj.Env(), std::string(where) + "." + key + " is required");
    return fallback;
  }
  if (!v.IsNumber()) throw_type(obj.Env(), std::string(where) + "." + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw_range(obj.Env(), std::string(where) + "." + key + " must be finite");
  return d;
}

inline long long get_int(Napi::Object obj, const char* key, const char* where, long long fallback,
                         long long lo, long long hi, bool required = false) {
  double d = get_number(obj, key, where, (double)fallback, required);
  if (d != std::floor(d)) throw_type(obj.Env(), std::string(where) + "." + key + " must be an integer");
  if (d < (double)lo || d > (double)hi)
    throw_range(obj.Env(), std::string(where) + "." + key + " must be in [" + std::to_string(lo) + ", " +
                               std::to_string(hi) + "], got " + std::to_string((long long)d));
  return (long long)d;
}

inline bool get_bool(Napi::Object obj, const char* key, const char* where, bool fallback) {
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean()) throw_type(obj.Env(), std::string(where) + "." + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

inline std::vector<std::string> get_strings(Napi::Object obj, const char* key, const char* where) {
  std::vector<std::string> out;
  Napi::Value v = obj.Get(key);
  if (v.IsUndefined()) return out;
  if (!v.IsArray()) throw_type(obj.Env(), std::string(where) + "." + key + " must be an array of strings");
  Napi::Array arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value s = arr.Get(i);
    if (!s.IsString())
      throw_type(obj.Env(), std::string(where) + "." + key + "[" + std::to_string(i) + "] must be a string");
    out.push_back(s.As<Napi::String>().Utf8Value());
  }
  return out;
}

// One token sequence: an Int32Array or an array of integers. Range against the vocabulary is
// checked by the engine, which knows the model.
// A device option: undefined or 'cpu' -> -1, 'cuda' -> 0, 'cuda:N' -> N.
inline int parse_device(Napi::Env env, Napi::Value v, const char* where) {
  if (v.IsUndefined()) return -1;
  const std::string name = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (name == "cpu") return -1;
  if (name == "cuda") return 0;
  if (name.rfind("cuda:", 0) == 0 && name.size() > 5 && name.size() < 9 &&
      name.find_first_not_of("0123456789", 5) == std::string::npos)
    return std::stoi(name.substr(5));
  throw_type(env, std::string(where) + " must be 'cpu', 'cuda' or 'cuda:N'");
}

inline std::vector<int> to_ids(Napi::Env env, Napi::Value v, const std::string& where) {
  std::vector<int> ids;
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_int32_array) throw_type(env, where + " must be an Int32Array or an array of integers");
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    ids.assign(a.Data(), a.Data() + a.ElementLength());
    return ids;
  }
  if (!v.IsArray()) throw_type(env, where + " must be an Int32Array or an array of integers");
  Napi::Array arr = v.As<Napi::Array>();
  ids.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value e = arr.Get(i);
    if (!e.IsNumber()) throw_type(env, where + "[" + std::to_string(i) + "] must be an integer");
    double d = e.As<Napi::Number>().DoubleValue();
    if (d != std::floor(d) || !std::isfinite(d)) throw_type(env, where + "[" + std::to_string(i) + "] must be an integer");
    if (d < INT32_MIN || d > INT32_MAX) throw_range(env, where + "[" + std::to_string(i) + "] is out of range");
    ids.push_back((int)d);
  }
  return ids;
}

// A list of token sequences.
inline std::vector<std::vector<int>> to_id_lists(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info.Length() <= i || !info[i].IsArray())
    throw_type(info.Env(), std::string(name) + " must be an array of token-id sequences");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<std::vector<int>> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++)
    out.push_back(to_ids(info.Env(), arr.Get(k), std::string(name) + "[" + std::to_string(k) + "]"));
  return out;
}

}  // namespace rlcd::binding
