#include "generate_args.h"

#include <algorithm>

#include "args.h"
#include "config_args.h"

namespace rlcd::binding {

GenerateRequest parse_generate_request(const Napi::CallbackInfo& info, size_t prompts_at, bool have_pieces) {
  Napi::Env env = info.Env();
  GenerateRequest req;
  req.prompts = to_id_lists(info, prompts_at, "prompts");
  Napi::Object o = optional_object(info, prompts_at + 1, "options");
  const char* w = "options";
  req.max_new_tokens = (int)get_int(o, "maxNewTokens", w, 256, 0, 1 << 20);
  req.sampling.temperature = (float)get_number(o, "temperature", w, 1.0);
  if (req.sampling.temperature < 0) throw_range(env, "options.temperature must be >= 0");
  req.sampling.top_k = (int)get_int(o, "topK", w, 0, 0, 1 << 22);
  req.sampling.top_p = (float)get_number(o, "topP", w, 1.0);
  if (!(req.sampling.top_p > 0 && req.sampling.top_p <= 1)) throw_range(env, "options.topP must be in (0, 1]");
  req.seed = (uint64_t)get_int(o, "seed", w, 0, 0, 9007199254740991LL);
  req.ignore_eos = get_bool(o, "ignoreEos", w, false);
  req.stop_strings = get_strings(o, "stop", w);
  req.banned_strings = get_strings(o, "bannedStrings", w);
  req.threads = get_threads(o, w);
  Napi::Value seeds = o.Has("seeds") ? o.Get("seeds") : env.Undefined();
  if (!seeds.IsUndefined()) {
    if (!seeds.IsArray()) throw_type(env, "options.seeds must be an array of non-negative integers, one per prompt");
    Napi::Array a = seeds.As<Napi::Array>();
    if (a.Length() != req.prompts.size())
      throw_range(env, "options.seeds has " + std::to_string(a.Length()) + " entries for " + std::to_string(req.prompts.size()) + " prompts");
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value v = a.Get(i);
      double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
      if (!(d >= 0 && d <= 9007199254740991.0 && d == (double)(int64_t)d)) throw_range(env, "options.seeds[" + std::to_string(i) + "] must be a non-negative integer");
      req.seeds.push_back((uint64_t)d);
    }
  }
  if ((!req.stop_strings.empty() || !req.banned_strings.empty()) && !have_pieces)
    throw_type(env, "stop and bannedStrings need the token pieces given at creation");
  return req;
}

Napi::Object generate_result_object(Napi::Env env, const GenerateResult& r) {
  const size_t B = r.ids.size();
  Napi::Array ids = Napi::Array::New(env, B), lps = Napi::Array::New(env, B), fin = Napi::Array::New(env, B);
  for (size_t b = 0; b < B; b++) {
    auto a = Napi::Int32Array::New(env, r.ids[b].size());
    std::copy(r.ids[b].begin(), r.ids[b].end(), a.Data());
    auto l = Napi::Float32Array::New(env, r.logprobs[b].size());
    std::copy(r.logprobs[b].begin(), r.logprobs[b].end(), l.Data());
    ids.Set((uint32_t)b, a);
    lps.Set((uint32_t)b, l);
    fin.Set((uint32_t)b, Napi::String::New(env, finish_reason_name(r.finish[b])));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("ids", ids);
  out.Set("logprobs", lps);
  out.Set("finishReasons", fin);
  return out;
}

Vocabulary parse_pieces(Napi::Env env, Napi::Value v, int vocab_size) {
  Vocabulary vocab;
  if (v.IsUndefined()) return vocab;
  if (!v.IsArray()) throw_type(env, "pieces must be an array of Uint8Array");
  Napi::Array arr = v.As<Napi::Array>();
  if (arr.Length() != (uint32_t)vocab_size)
    throw_range(env, "pieces has " + std::to_string(arr.Length()) + " entries; the vocabulary has " +
                         std::to_string(vocab_size));
  vocab.pieces.resize(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value e = arr.Get(i);
    if (!e.IsTypedArray() || e.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw_type(env, "pieces[" + std::to_string(i) + "] must be a Uint8Array");
    Napi::Uint8Array b = e.As<Napi::Uint8Array>();
    vocab.pieces[i].assign(reinterpret_cast<const char*>(b.Data()), b.ElementLength());
  }
  return vocab;
}

}  // namespace rlcd::binding
