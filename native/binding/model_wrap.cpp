#include "model_wrap.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "../model/generate.h"
#include "../model/score.h"
#include "args.h"
#include "async_call.h"
#include "config_args.h"
#include "generate_args.h"

namespace rlcd::binding {

namespace {

class CreateModelCall : public AsyncCall {
 public:
  CreateModelCall(Napi::Env env, ModelConfig cfg, Napi::TypedArray weights, WeightType source_type, Vocabulary vocab,
                  WeightType weight_type, int cuda_device)
      : AsyncCall(env, "rlcd.createModel", 1), cfg_(cfg), weight_type_(weight_type), cuda_device_(cuda_device), vocab_(std::move(vocab)),
        source_(source_of(weights, source_type)),
        count_(weights.ElementLength()) {
    weights_ref_ = Napi::Persistent(weights);  // keeps the buffer alive while we copy it
  }

 protected:
  void work() override {
    std::unique_ptr<Backend> backend;
    if (cuda_device_ >= 0) {
      std::string why;
      backend = make_cuda_backend(cuda_device_, why);
      if (!backend) throw Error(concat("device 'cuda': ", why));
    }
    auto engine = std::make_shared<Engine>(cfg_, source_, count_, weight_type_, std::move(backend));
    engine->vocab = std::move(vocab_);
    engine_ = engine;
  }
  Napi::Value result(Napi::Env env) override { return ModelWrap::wrap(env, engine_); }

 private:
  ModelConfig cfg_;
  WeightType weight_type_;
  int cuda_device_;  // -1: the CPU
  Vocabulary vocab_;
  SourceWeights source_;
  size_t count_;
  Napi::Reference<Napi::TypedArray> weights_ref_;
  EnginePtr engine_;
};

// ---- generate -----------------------------------------------------------------------------

class GenerateCall : public AsyncCall {
 public:
  GenerateCall(Napi::Env env, EnginePtr engine, GenerateRequest req, Napi::Value on_progress, Napi::Value on_tokens,
               Napi::Value cancel)
      : AsyncCall(env, "rlcd.generate", req.threads), engine_(std::move(engine)), req_(std::move(req)) {
    if (on_progress.IsFunction()) {
      progress_ = Napi::ThreadSafeFunction::New(env, on_progress.As<Napi::Function>(), "rlcd.progress", 0, 1);
      progress_fn_ = Napi::Persistent(on_progress.As<Napi::Function>());
    }
    if (on_tokens.IsFunction()) {
      tokens_ = Napi::ThreadSafeFunction::New(env, on_tokens.As<Napi::Function>(), "rlcd.tokens", 0, 1);
      tokens_fn_ = Napi::Persistent(on_tokens.As<Napi::Function>());
      pending_ = std::make_shared<PendingTokens>();
    }
    if (cancel.IsTypedArray()) {
      // The flags live in the caller's Uint8Array, held here until the call ends.
      cancel_ref_ = Napi::Persistent(cancel.As<Napi::Object>());
      req_.cancel = cancel.As<Napi::Uint8Array>().Data();
    }
  }
  ~GenerateCall() override {
    if (progress_) progress_.Release();
    if (tokens_) tokens_.Release();
  }

 protected:
  void work() override {
    ProgressFn report;
    if (progress_) {
      // At most ~10 progress events a second, plus the final one.
      // Events go out at most every 100 ms; an event that reaches JS after the call settled is
      // dropped, so the last one a caller sees is the final count delivered in result().
      report = [this](long tokens, int running) {
        auto now = std::chrono::steady_clock::now();
        if (running == 0 || now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        auto* payload = new ProgressEvent{tokens, running, settled_};
        napi_status st = progress_.NonBlockingCall(payload, [](Napi::Env env, Napi::Function fn, ProgressEvent* p) {
          if (!p->settled->load()) fn.Call({Napi::Number::New(env, (double)p->tokens), Napi::Number::New(env, p->running)});
          delete p;
        });
        if (st != napi_ok) delete payload;
      };
    }
    StepFn on_step;
    if (tokens_) {
      // Tokens queue here; one JS call at a time drains the queue, so a busy event loop gets
      // them in fewer, larger deliveries rather than one call per decoding step.
      on_step = [this](const std::vector<std::pair<int, int>>& step) {
        bool schedule;
        {
          std::lock_guard<std::mutex> lock(pending_->mu);
          pending_->tokens.insert(pending_->tokens.end(), step.begin(), step.end());
          schedule = !pending_->scheduled;
          pending_->scheduled = true;
        }
        if (!schedule) return;
        auto pending = pending_;
        napi_status st = tokens_.NonBlockingCall([pending](Napi::Env env, Napi::Function fn) { deliver(env, fn, *pending); });
        if (st != napi_ok) {
          std::lock_guard<std::mutex> lock(pending_->mu);
          pending_->scheduled = false;
        }
      };
    }
    result_ = rlcd::generate(engine_->model, engine_->vocab, req_, report, on_step);
  }
  Napi::Value result(Napi::Env env) override {
    // Tokens not yet delivered go out before the promise settles.
    if (!tokens_fn_.IsEmpty()) deliver(env, tokens_fn_.Value(), *pending_);
    if (!progress_fn_.IsEmpty()) {
      settled_->store(true);
      long total = 0;
      for (const auto& ids : result_.ids) total += (long)ids.size();
      progress_fn_.Call({Napi::Number::New(env, (double)total), Napi::Number::New(env, 0)});
    }
    return generate_result_object(env, result_);
  }

 private:
  EnginePtr engine_;
  GenerateRequest req_;
  GenerateResult result_;
  struct ProgressEvent {
    long tokens;
    int running;
    std::shared_ptr<std::atomic<bool>> settled;
  };
  struct PendingTokens {
    std::mutex mu;
    std::vector<std::pair<int, int>> tokens;
    bool scheduled = false;
  };
  // Calls onTokens(sequences: Int32Array, tokens: Int32Array) with what the queue holds.
  static void deliver(Napi::Env env, Napi::Function fn, PendingTokens& pending) {
    std::vector<std::pair<int, int>> taken;
    {
      std::lock_guard<std::mutex> lock(pending.mu);
      taken.swap(pending.tokens);
      pending.scheduled = false;
    }
    if (taken.empty()) return;
    auto seqs = Napi::Int32Array::New(env, taken.size()), toks = Napi::Int32Array::New(env, taken.size());
    for (size_t i = 0; i < taken.size(); i++) {
      seqs[i] = taken[i].first;
      toks[i] = taken[i].second;
    }
    fn.Call({seqs, toks});
  }
  Napi::ThreadSafeFunction progress_;
  Napi::FunctionReference progress_fn_;
  Napi::ThreadSafeFunction tokens_;
  Napi::FunctionReference tokens_fn_;
  std::shared_ptr<PendingTokens> pending_;
  Napi::ObjectReference cancel_ref_;
  std::shared_ptr<std::atomic<bool>> settled_ = std::make_shared<std::atomic<bool>>(false);
  std::chrono::steady_clock::time_point last_{};
};

// ---- logProbs / logits ----------------------------------------------------------------------

class ScoreCall : public AsyncCall {
 public:
  ScoreCall(Napi::Env env, EnginePtr engine, std::vector<std::vector<int>> prompts,
            std::vector<std::vector<int>> conts, int threads)
      : AsyncCall(env, "rlcd.logProbs", threads), engine_(std::move(engine)), prompts_(std::move(prompts)),
        conts_(std::move(conts)) {}

 protected:
  void work() override { out_ = score_continuations(engine_->model, prompts_, conts_, threads()); }
  Napi::Value result(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, out_.size());
    for (size_t i = 0; i < out_.size(); i++) {
      auto a = Napi::Float32Array::New(env, out_[i].size());
      std::copy(out_[i].begin(), out_[i].end(), a.Data());
      arr.Set((uint32_t)i, a);
    }
    return arr;
  }

 private:
  EnginePtr engine_;
  std::vector<std::vector<int>> prompts_, conts_;
  std::vector<std::vector<float>> out_;
};

class LogitsCall : public AsyncCall {
 public:
  LogitsCall(Napi::Env env, EnginePtr engine, std::vector<int> ids, int threads)
      : AsyncCall(env, "rlcd.logits", threads), engine_(std::move(engine)), ids_(std::move(ids)) {}

 protected:
  void work() override { out_ = sequence_logits(engine_->model, ids_, threads()); }
  Napi::Value result(Napi::Env env) override {
    auto a = Napi::Float32Array::New(env, out_.size());
    std::copy(out_.begin(), out_.end(), a.Data());
    return a;
  }

 private:
  EnginePtr engine_;
  std::vector<int> ids_;
  std::vector<float> out_;
};

}  // namespace

// ---- the class ------------------------------------------------------------------------------

Napi::Function ModelWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "NativeModel",
                                   {InstanceMethod("generate", &ModelWrap::generate),
                                    InstanceMethod("logProbs", &ModelWrap::log_probs),
                                    InstanceMethod("logits", &ModelWrap::logits),
                                    InstanceMethod("dispose", &ModelWrap::dispose),
                                    InstanceAccessor("disposed", &ModelWrap::disposed, nullptr),
                                    InstanceAccessor("parameterCount", &ModelWrap::parameter_count, nullptr),
                                    InstanceAccessor("weightBytes", &ModelWrap::weight_bytes, nullptr),
                                    InstanceAccessor("weightsDtype", &ModelWrap::weights_dtype, nullptr)});
  env.GetInstanceData<AddonData>()->model_class = Napi::Persistent(cls);
  return cls;
}

Napi::Object ModelWrap::wrap(Napi::Env env, EnginePtr engine) {
  auto* holder = new EnginePtr(std::move(engine));
  auto ext = Napi::External<EnginePtr>::New(env, holder, [](Napi::Env, EnginePtr* p) { delete p; });
  return env.GetInstanceData<AddonData>()->model_class.New({ext});
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw_type(info.Env(), "NativeModel cannot be constructed directly: use createModel()");
  engine_ = *info[0].As<Napi::External<EnginePtr>>().Data();
}

EnginePtr ModelWrap::live(Napi::Env env) const {
  if (!engine_) throw Napi::Error::New(env, "this model was disposed");
  return engine_;
}

// generate(prompts, options?, onProgress?, stream?) -> Promise<{ids, logprobs, finishReasons}>
// stream: { onTokens?(sequences: Int32Array, tokens: Int32Array), cancel?: Uint8Array (one flag per prompt) }
Napi::Value ModelWrap::generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnginePtr engine = live(env);
  GenerateRequest req = parse_generate_request(info, 0, !engine->vocab.empty());
  Napi::Value cb = info.Length() > 2 ? info[2] : env.Undefined();
  if (!cb.IsUndefined() && !cb.IsFunction()) throw_type(env, "onProgress must be a function");
  Napi::Value on_tokens = env.Undefined(), cancel = env.Undefined();
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsObject()) throw_type(env, "stream must be an object { onTokens?, cancel? }");
    Napi::Object st = info[3].As<Napi::Object>();
    on_tokens = st.Get("onTokens");
    cancel = st.Get("cancel");
    if (!on_tokens.IsUndefined() && !on_tokens.IsFunction()) throw_type(env, "stream.onTokens must be a function");
    if (!cancel.IsUndefined()) {
      if (!cancel.IsTypedArray() || cancel.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
        throw_type(env, "stream.cancel must be a Uint8Array");
      if (cancel.As<Napi::Uint8Array>().ElementLength() != req.prompts.size())
        throw_range(env, "stream.cancel has " + std::to_string(cancel.As<Napi::Uint8Array>().ElementLength()) + " flags for " +
                             std::to_string(req.prompts.size()) + " prompts");
    }
  }
  auto* call = new GenerateCall(env, engine, std::move(req), cb, on_tokens, cancel);
  Napi::Promise p = call->promise();
  call->Queue();
  return p;
}

// logProbs(prompts, continuations, options?) -> Promise<Float32Array[]>
Napi::Value ModelWrap::log_probs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnginePtr engine = live(env);
  auto prompts = to_id_lists(info, 0, "prompts");
  auto conts = to_id_lists(info, 1, "continuations");
  if (prompts.size() != conts.size())
    throw_range(env, "prompts and continuations must have the same length");
  Napi::Object o = optional_object(info, 2, "options");
  auto* call = new ScoreCall(env, engine, std::move(prompts), std::move(conts), get_threads(o, "options"));
  Napi::Promise p = call->promise();
  call->Queue();
  return p;
}

// logits(ids, options?) -> Promise<Float32Array (T * V)>
Napi::Value ModelWrap::logits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnginePtr engine = live(env);
  if (info.Length() < 1) throw_type(env, "ids must be an Int32Array or an array of integers");
  auto ids = to_ids(env, info[0], "ids");
  Napi::Object o = optional_object(info, 1, "options");
  auto* call = new LogitsCall(env, engine, std::move(ids), get_threads(o, "options"));
  Napi::Promise p = call->promise();
  call->Queue();
  return p;
}

Napi::Value ModelWrap::dispose(const Napi::CallbackInfo& info) {
  engine_.reset();  // running calls keep their own reference
  return info.Env().Undefined();
}

Napi::Value ModelWrap::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !engine_);
}

Napi::Value ModelWrap::parameter_count(const Napi::CallbackInfo& info) {
  EnginePtr engine = live(info.Env());
  ParameterTensors layout;  // the full model's count, whatever the inference copy keeps in f32
  layout.layout(engine->model.config());
  return Napi::Number::New(info.Env(), (double)layout.total);
}

Napi::Value ModelWrap::weight_bytes(const Napi::CallbackInfo& info) {
  EnginePtr engine = live(info.Env());
  return Napi::Number::New(info.Env(), (double)engine->model.weight_bytes());
}

Napi::Value ModelWrap::weights_dtype(const Napi::CallbackInfo& info) {
  EnginePtr engine = live(info.Env());
  return Napi::String::New(info.Env(), weight_type_name(engine->model.weight_type()));
}

Napi::Value create_model(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object cfg_obj = require_object(info, 0, "config");
  ModelConfig cfg = parse_model_config(cfg_obj);
  Vocabulary vocab = parse_pieces(env, info.Length() > 2 ? info[2] : env.Undefined(), cfg.vocab_size);
  // options.weightsDtype: how the linear weights are stored for inference.
  WeightType weight_type = WeightType::F32;
  WeightType source_type = WeightType::F32;
  int cuda_device = -1;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsObject()) throw_type(env, "options must be an object { weightsDtype?, checkpointDtype?, device? }");
    Napi::Object options = info[3].As<Napi::Object>();
    cuda_device = parse_device(env, options.Get("device"), "options.device");
    weight_type = parse_weight_type(env, options.Get("weightsDtype"), "options.weightsDtype", true, weight_type);
    source_type = parse_weight_type(env, options.Get("checkpointDtype"), "options.checkpointDtype", false, source_type);
  }
  // weights: a Float32Array, or a Uint16Array of a bf16 / f16 checkpoint's bits (options.checkpointDtype).
  Napi::TypedArray weights = require_model_weights(env, info.Length() > 1 ? info[1] : env.Undefined(), cfg, source_type);
  auto* call = new CreateModelCall(env, cfg, weights, source_type, std::move(vocab), weight_type, cuda_device);
  Napi::Promise p = call->promise();
  call->Queue();
  return p;
}

}  // namespace rlcd::binding
