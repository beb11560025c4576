#include "trainer_wrap.h"

#include <cstring>
#include <vector>

#include <chrono>

#include "../losses/logprobs.h"
#include "../model/objective.h"
#include "args.h"
#include "async_call.h"
#include "config_args.h"
#include "generate_args.h"

namespace rlcd::binding {

namespace {

// ---- batches and losses, parsed on the JS thread into plain structs ---------------------------

TrainBatch parse_batch(Napi::Env env, Napi::Value v) {
  if (!v.IsObject() || v.IsArray()) throw_type(env, "batch must be an object {B, T, tokens, lengths}");
  Napi::Object o = v.As<Napi::Object>();
  TrainBatch b;
  b.B = (int)get_int(o, "B", "batch", 0, 1, 1 << 20, true);
  b.T = (int)get_int(o, "T", "batch", 0, 1, 1 << 20, true);
  auto tokens = require_i32(env, o.Get("tokens"), "batch.tokens", (long)b.B * b.T);
  auto lengths = require_i32(env, o.Get("lengths"), "batch.lengths", b.B);
  b.tokens.assign(tokens.Data(), tokens.Data() + tokens.ElementLength());
  b.lengths.assign(lengths.Data(), lengths.Data() + lengths.ElementLength());
  return b;
}

std::vector<float> f32(Napi::Env env, Napi::Object o, const char* key, long n, const char* where) {
  auto a = require_f32(env, o.Get(key), std::string(where) + "." + key, n);
  return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}

// Parses the loss; sizes and ranges are checked again by check_loss() in the engine.
LossSpec parse_loss(Napi::Env env, Napi::Value v, const TrainBatch& b, bool has_head) {
  if (!v.IsObject() || v.IsArray()) throw_type(env, "loss must be an object {kind, ...}");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value k = o.Get("kind");
  std::string kind = k.IsString() ? k.As<Napi::String>().Utf8Value() : "";
  const long N = (long)b.B * b.T;
  LossSpec s;
  if (kind == "sft") {
    s.kind = LossKind::Sft;
    s.weights = f32(env, o, "weights", N, "loss");
  } else if (kind == "preference" || kind == "dpo") {
    if (kind == "preference" && !has_head) throw_type(env, "a preference loss needs a trainer created with head: 'scalar'");
    if (b.B % 2) throw_range(env, "a pair batch: B must be even (rows 2i chosen, 2i+1 rejected)");
    s.kind = kind == "dpo" ? LossKind::Dpo : LossKind::Preference;
    s.targets = f32(env, o, "targets", b.B / 2, "loss");
    for (float t : s.targets)
      if (!(t >= 0.0f && t <= 1.0f)) throw_range(env, "loss.targets must be probabilities in [0, 1]");
    if (s.kind == LossKind::Dpo) {
      s.weights = f32(env, o, "weights", N, "loss");
      s.ref_chosen = f32(env, o, "refChosen", b.B / 2, "loss");
      s.ref_rejected = f32(env, o, "refRejected", b.B / 2, "loss");
      s.beta = (float)get_number(o, "beta", "loss", 0.1);
      if (!(s.beta > 0)) throw_range(env, "loss.beta must be > 0");
      Napi::Value dk = o.Get("dpoLoss");
      std::string d = dk.IsUndefined() ? "sigmoid" : dk.IsString() ? dk.As<Napi::String>().Utf8Value() : "";
      if (d == "sigmoid") s.dpo_kind = DpoKind::Sigmoid;
      else if (d == "ipo") s.dpo_kind = DpoKind::Ipo;
      else if (d == "hinge") s.dpo_kind = DpoKind::Hinge;
      else throw_type(env, "loss.dpoLoss must be 'sigmoid', 'ipo' or 'hinge'");
    }
  } else if (kind == "policy") {
    s.kind = LossKind::Policy;
    s.old_logprobs = f32(env, o, "oldLogprobs", N, "loss");
    s.advantages = f32(env, o, "advantages", N, "loss");
    s.mask = f32(env, o, "mask", N, "loss");
    s.cliprange = (float)get_number(o, "cliprange", "loss", 0.2);
    s.entropy_coef = (float)get_number(o, "entropyCoef", "loss", 0.0);
  } else if (kind == "value") {
    if (!has_head) throw_type(env, "a value loss needs a trainer created with head: 'scalar'");
    s.kind = LossKind::Value;
    s.returns = f32(env, o, "returns", N, "loss");
    s.old_values = f32(env, o, "oldValues", N, "loss");
    s.mask = f32(env, o, "mask", N, "loss");
    s.cliprange = (float)get_number(o, "cliprange", "loss", 0.2);
    s.coef = (float)get_number(o, "coef", "loss", 1.0);
  } else {
    throw_type(env, "loss.kind must be 'sft', 'preference', 'policy', 'value' or 'dpo'");
  }
  if (s.cliprange < 0) throw_range(env, "loss.cliprange must be >= 0");
  s.scale = (float)get_number(o, "scale", "loss", 1.0);
  return s;
}

Napi::Object stats_object(Napi::Env env, const ObjectiveStats& stats) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& [k, v] : stats) o.Set(k, Napi::Number::New(env, v));
  return o;
}

// ---- calls ------------------------------------------------------------------------------------

class CreateTrainerCall : public AsyncCall {
 public:
  CreateTrainerCall(Napi::Env env, ModelConfig cfg, Napi::TypedArray weights, WeightType source_type, LoraConfig lora,
                    HeadKind head, std::vector<float> head_init, uint64_t seed, int threads, Vocabulary vocab,
                    WeightType base_type)
      : AsyncCall(env, "rlcd.createTrainer", threads), cfg_(cfg), lora_(lora), head_(head), base_type_(base_type),
        head_init_(std::move(head_init)), seed_(seed), vocab_(std::move(vocab)),
        source_(source_of(weights, source_type)),
        count_(weights.ElementLength()) {
    ref_ = Napi::Persistent(weights);  // keeps the buffer alive while we copy it
  }

 protected:
  void work() override {
    auto m = std::make_unique<TrainableModel>(cfg_, source_, count_, lora_, head_,
                                              head_init_.empty() ? nullptr : head_init_.data(), seed_, threads(),
                                              base_type_);
    trainer_ = std::make_shared<TrainerState>(std::move(m));
    trainer_->vocab = std::move(vocab_);
  }
  Napi::Value result(Napi::Env env) override { return TrainerWrap::wrap(env, trainer_); }

 private:
  ModelConfig cfg_;
  LoraConfig lora_;
  HeadKind head_;
  WeightType base_type_;
  std::vector<float> head_init_;
  uint64_t seed_;
  Vocabulary vocab_;
  SourceWeights source_;
  size_t count_;
  Napi::Reference<Napi::TypedArray> ref_;
  TrainerPtr trainer_;
};

class ForwardBackwardCall : public AsyncCall {
 public:
  ForwardBackwardCall(Napi::Env env, TrainerPtr t, TrainBatch b, LossSpec loss, int threads)
      : AsyncCall(env, "rlcd.forwardBackward", threads), t_(std::move(t)), b_(std::move(b)), loss_(std::move(loss)) {}

 protected:
  void work() override {
    std::lock_guard<std::mutex> lock(t_->mutex);
    tuned(t_->tuner_for(TrainerState::kTrain, threads()), b_.rows(), [&](int n) {
      t_->model->set_threads(n);
      stats_ = forward_backward(*t_->model, b_, loss_, t_->scratch);
    });
  }
  Napi::Value result(Napi::Env env) override { return stats_object(env, stats_); }

 private:
  TrainerPtr t_;
  TrainBatch b_;
  LossSpec loss_;
  ObjectiveStats stats_;
};

class EvaluateCall : public AsyncCall {
 public:
  EvaluateCall(Napi::Env env, TrainerPtr t, TrainBatch b, EvalKind kind, bool adapters, int threads)
      : AsyncCall(env, "rlcd.evaluate", threads), t_(std::move(t)), b_(std::move(b)), kind_(kind), adapters_(adapters) {}

 protected:
  void work() override {
    std::lock_guard<std::mutex> lock(t_->mutex);
    TrainableModel& m = *t_->model;
    tuned(t_->tuner_for(TrainerState::kEvaluate, threads()), b_.rows(), [&](int n) {
      m.set_threads(n);
      out_ = evaluate(m, b_, kind_, adapters_);
    });
  }
  Napi::Value result(Napi::Env env) override {
    auto a = Napi::Float32Array::New(env, out_.size());
    std::memcpy(a.Data(), out_.data(), sizeof(float) * out_.size());
    return a;
  }

 private:
  TrainerPtr t_;
  TrainBatch b_;
  EvalKind kind_;
  bool adapters_;
  std::vector<float> out_;
};

class StepCall : public AsyncCall {
 public:
  StepCall(Napi::Env env, TrainerPtr t, AdamWConfig opt, double max_norm, double clip_norm, bool zero_only)
      : AsyncCall(env, "rlcd.step", 1), t_(std::move(t)), opt_(opt), max_norm_(max_norm), clip_norm_(clip_norm),
        zero_only_(zero_only) {}

 protected:
  void work() override {
    std::lock_guard<std::mutex> lock(t_->mutex);
    if (zero_only_) {
      t_->model->zero_grad();
      return;
    }
    norm_ = t_->model->step(opt_, max_norm_, clip_norm_);
    steps_ = t_->model->steps_taken();
  }
  Napi::Value result(Napi::Env env) override {
    if (zero_only_) return env.Undefined();
    Napi::Object o = Napi::Object::New(env);
    o.Set("gradNorm", Napi::Number::New(env, norm_));
    o.Set("step", Napi::Number::New(env, (double)steps_));
    return o;
  }

 private:
  TrainerPtr t_;
  AdamWConfig opt_;
  double max_norm_, clip_norm_;
  bool zero_only_;
  double norm_ = 0;
  long steps_ = 0;
};

// Rollouts from the trainer's own weights (PPO): a packed inference copy, then KV-cache decoding.
class TrainerGenerateCall : public AsyncCall {
 public:
  TrainerGenerateCall(Napi::Env env, TrainerPtr t, GenerateRequest req, bool adapters)
      : AsyncCall(env, "rlcd.trainerGenerate", req.threads), t_(std::move(t)), req_(std::move(req)), adapters_(adapters) {}

 protected:
  void work() override {
    std::lock_guard<std::mutex> lock(t_->mutex);
    TrainableModel& m = *t_->model;
    const bool frozen_base = !adapters_ && m.lora_layout().cfg.rank > 0;
    auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<Transformer> fresh;
    const Transformer* engine;
    if (frozen_base) {
      if (!t_->reference) t_->reference = m.snapshot(false);
      engine = t_->reference.get();
    } else {
      fresh = m.snapshot(adapters_);
      engine = fresh.get();
    }
    pack_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    result_ = rlcd::generate(*engine, t_->vocab, req_);
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = generate_result_object(env, result_);
    o.Set("packSeconds", Napi::Number::New(env, pack_seconds_));
    return o;
  }

 private:
  TrainerPtr t_;
  GenerateRequest req_;
  bool adapters_;
  GenerateResult result_;
  double pack_seconds_ = 0;
};

class GradNormCall : public AsyncCall {
 public:
  GradNormCall(Napi::Env env, TrainerPtr t) : AsyncCall(env, "rlcd.gradNorm", 1), t_(std::move(t)) {}

 protected:
  void work() override {
    std::lock_guard<std::mutex> lock(t_->mutex);
    norm_ = t_->model->grad_norm();
  }
  Napi::Value result(Napi::Env env) override { return Napi::Number::New(env, norm_); }

 private:
  TrainerPtr t_;
  double norm_ = 0;
};

// Copies of state out (state()) or in (loadState()).
struct StatePart {
  const char* name;
  std::vector<float> data;
  bool present = false;
};

class StateCall : public AsyncCall {
 public:
  StateCall(Napi::Env env, TrainerPtr t, std::vector<std::string> parts)
      : AsyncCall(env, "rlcd.state", 1), t_(std::move(t)), parts_(std::move(parts)) {}

 protected:
  void work() override {
    std::lock_guard<std::mutex> lock(t_->mutex);
    TrainableModel& m = *t_->model;
    for (const auto& p : parts_) {
      std::vector<float> v;
      if (p == "weights") {
        v.resize(m.parameter_count());
        m.merged_weights(v.data());
      } else if (p == "baseWeights") {
        v.resize(m.parameter_count());
        m.base_weights(v.data());
      } else if (p == "lora") {
        v.assign(m.lora_params().data(), m.lora_params().data() + m.lora_params().size());
      } else if (p == "head") {
        v.assign(m.head_params().data(), m.head_params().data() + m.head_params().size());
      } else if (p == "adamM") {
        v.assign(m.adam_m().data(), m.adam_m().data() + m.adam_m().size());
      } else if (p == "adamV") {
        v.assign(m.adam_v().data(), m.adam_v().data() + m.adam_v().size());
      } else if (p == "gradients") {
        for (const auto& s : m.trainable()) v.insert(v.end(), s.grad, s.grad + s.n);
      }
      out_.emplace_back(p, std::move(v));
    }
    steps_ = m.steps_taken();
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    for (const auto& [k, v] : out_) {
      auto a = Napi::Float32Array::New(env, v.size());
      if (!v.empty()) std::memcpy(a.Data(), v.data(), sizeof(float) * v.size());
      o.Set(k, a);
    }
    o.Set("step", Napi::Number::New(env, (double)steps_));
    return o;
  }

 private:
  TrainerPtr t_;
  std::vector<std::string> parts_;
  std::vector<std::pair<std::string, std::vector<float>>> out_;
  long steps_ = 0;
};

class LoadStateCall : public AsyncCall {
 public:
  LoadStateCall(Napi::Env env, TrainerPtr t, std::vector<std::pair<std::string, std::vector<float>>> parts, long step)
      : AsyncCall(env, "rlcd.loadState", 1), t_(std::move(t)), parts_(std::move(parts)), step_(step) {}

 protected:
  void work() override {
    std::lock_guard<std::mutex> lock(t_->mutex);
    TrainableModel& m = *t_->model;
    for (auto& [k, v] : parts_) {
      float* dst = nullptr;
      size_t n = 0;
      if (k == "weights") {
        RLCD_REQUIRE(m.base_type() == WeightType::F32, "state.weights: this trainer's base is stored as ",
                     weight_type_name(m.base_type()), " and frozen; only its adapters and head load");
        dst = m.params().memory.data();
        n = m.params().total;
      }
      else if (k == "lora") { dst = m.lora_params().data(); n = m.lora_params().size(); }
      else if (k == "head") { dst = m.head_params().data(); n = m.head_params().size(); }
      else if (k == "adamM") { dst = m.adam_m().data(); n = m.adam_m().size(); }
      else if (k == "adamV") { dst = m.adam_v().data(); n = m.adam_v().size(); }
      RLCD_REQUIRE(v.size() == n, "state.", k, " has ", v.size(), " floats, this trainer needs ", n);
      if (n) std::memcpy(dst, v.data(), sizeof(float) * n);
    }
    if (step_ >= 0) m.set_steps_taken(step_);
  }
  Napi::Value result(Napi::Env env) override { return env.Undefined(); }

 private:
  TrainerPtr t_;
  std::vector<std::pair<std::string, std::vector<float>>> parts_;
  long step_;
};

template <typename Call>
Napi::Value queue(Call* call) {
  Napi::Promise p = call->promise();
  call->Queue();
  return p;
}

}  // namespace

// ---- the class --------------------------------------------------------------------------------

Napi::Function TrainerWrap::define(Napi::Env env, Napi::FunctionReference* out) {
  Napi::Function cls = DefineClass(env, "NativeTrainer",
                                   {InstanceMethod("forwardBackward", &TrainerWrap::forward_backward),
                                    InstanceMethod("evaluate", &TrainerWrap::evaluate),
                                    InstanceMethod("step", &TrainerWrap::step),
                                    InstanceMethod("generate", &TrainerWrap::generate),
                                    InstanceMethod("gradNorm", &TrainerWrap::grad_norm),
                                    InstanceMethod("zeroGrad", &TrainerWrap::zero_grad),
                                    InstanceMethod("state", &TrainerWrap::state),
                                    InstanceMethod("loadState", &TrainerWrap::load_state),
                                    InstanceMethod("dispose", &TrainerWrap::dispose),
                                    InstanceAccessor("info", &TrainerWrap::info, nullptr)});
  *out = Napi::Persistent(cls);
  return cls;
}

Napi::Object TrainerWrap::wrap(Napi::Env env, TrainerPtr trainer) {
  auto* holder = new TrainerPtr(std::move(trainer));
  auto ext = Napi::External<TrainerPtr>::New(env, holder, [](Napi::Env, TrainerPtr* p) { delete p; });
  return env.GetInstanceData<AddonData>()->trainer_class.New({ext});
}

TrainerWrap::TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw_type(info.Env(), "NativeTrainer cannot be constructed directly: use createTrainer()");
  trainer_ = *info[0].As<Napi::External<TrainerPtr>>().Data();
}

TrainerPtr TrainerWrap::live(Napi::Env env) const {
  if (!trainer_) throw Napi::Error::New(env, "this trainer was disposed");
  return trainer_;
}

// forwardBackward(batch, loss, options?) -> Promise<stats>
Napi::Value TrainerWrap::forward_backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TrainerPtr t = live(env);
  TrainBatch b = parse_batch(env, info.Length() > 0 ? info[0] : env.Undefined());
  LossSpec loss = parse_loss(env, info.Length() > 1 ? info[1] : env.Undefined(), b,
                             t->model->head_params().size() > 0);
  Napi::Object o = optional_object(info, 2, "options");
  return queue(new ForwardBackwardCall(env, t, std::move(b), std::move(loss), get_threads(o, "options")));
}

// evaluate(batch, what, options?) -> Promise<Float32Array>
Napi::Value TrainerWrap::evaluate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TrainerPtr t = live(env);
  TrainBatch b = parse_batch(env, info.Length() > 0 ? info[0] : env.Undefined());
  std::string what = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  EvalKind kind;
  if (what == "logprobs") kind = EvalKind::Logprobs;
  else if (what == "head") kind = EvalKind::Head;
  else if (what == "rewards") kind = EvalKind::Rewards;
  else if (what == "logits") kind = EvalKind::Logits;
  else if (what == "entropy") kind = EvalKind::Entropy;
  else throw_type(env, "what must be 'logprobs', 'head', 'rewards', 'logits' or 'entropy'");
  if ((kind == EvalKind::Head || kind == EvalKind::Rewards) && t->model->head_params().size() == 0)
    throw_type(env, "this trainer has no head");
  Napi::Object o = optional_object(info, 2, "options");
  bool adapters = get_bool(o, "adapters", "options", true);
  return queue(new EvaluateCall(env, t, std::move(b), kind, adapters, get_threads(o, "options")));
}

// step({lr, beta1, beta2, eps, weightDecay, maxGradNorm}) -> Promise<{gradNorm, step}>
Napi::Value TrainerWrap::step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TrainerPtr t = live(env);
  Napi::Object o = require_object(info, 0, "options");
  AdamWConfig c;
  c.lr = (float)get_number(o, "lr", "options", 0, true);
  c.beta1 = (float)get_number(o, "beta1", "options", 0.9);
  c.beta2 = (float)get_number(o, "beta2", "options", 0.999);
  c.eps = (float)get_number(o, "eps", "options", 1e-8);
  c.weight_decay = (float)get_number(o, "weightDecay", "options", 0.0);
  double max_norm = get_number(o, "maxGradNorm", "options", 0.0);
  double clip_norm = get_number(o, "clipNorm", "options", -1.0);
  if (!o.Get("clipNorm").IsUndefined() && clip_norm < 0) throw_range(env, "options.clipNorm must be >= 0");
  if (c.lr < 0) throw_range(env, "options.lr must be >= 0");
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) throw_range(env, "options.beta1/beta2 must be in [0, 1)");
  if (!(c.eps > 0)) throw_range(env, "options.eps must be > 0");
  return queue(new StepCall(env, t, c, max_norm, clip_norm, false));
}

Napi::Value TrainerWrap::zero_grad(const Napi::CallbackInfo& info) {
  return queue(new StepCall(info.Env(), live(info.Env()), AdamWConfig{}, 0, -1, true));
}

// generate(prompts, options?) -> Promise<{ids, logprobs, finishReasons, packSeconds}>; options as
// NativeModel.generate plus adapters (false: the frozen base of a LoRA trainer).
Napi::Value TrainerWrap::generate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TrainerPtr t = live(env);
  GenerateRequest req = parse_generate_request(info, 0, !t->vocab.empty());
  Napi::Object o = optional_object(info, 1, "options");
  bool adapters = get_bool(o, "adapters", "options", true);
  return queue(new TrainerGenerateCall(env, t, std::move(req), adapters));
}

// gradNorm() -> Promise<number>: the norm of the accumulated gradients (for one clip over several trainers).
Napi::Value TrainerWrap::grad_norm(const Napi::CallbackInfo& info) {
  return queue(new GradNormCall(info.Env(), live(info.Env())));
}

// state(parts: string[]) -> Promise<{[part]: Float32Array, step}>
Napi::Value TrainerWrap::state(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TrainerPtr t = live(env);
  if (info.Length() < 1 || !info[0].IsArray()) throw_type(env, "parts must be an array of strings");
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<std::string> parts;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    if (s != "weights" && s != "baseWeights" && s != "lora" && s != "head" && s != "adamM" && s != "adamV" && s != "gradients")
      throw_type(env, "parts[" + std::to_string(i) + "] must be one of weights, baseWeights, lora, head, adamM, adamV, gradients");
    parts.push_back(s);
  }
  return queue(new StateCall(env, t, std::move(parts)));
}

// loadState({weights?, lora?, head?, adamM?, adamV?, step?}) -> Promise<void>
Napi::Value TrainerWrap::load_state(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TrainerPtr t = live(env);
  Napi::Object o = require_object(info, 0, "state");
  std::vector<std::pair<std::string, std::vector<float>>> parts;
  for (const char* k : {"weights", "lora", "head", "adamM", "adamV"}) {
    Napi::Value v = o.Get(k);
    if (v.IsUndefined()) continue;
    auto a = require_f32(env, v, std::string("state.") + k);
    parts.emplace_back(k, std::vector<float>(a.Data(), a.Data() + a.ElementLength()));
  }
  long step = (long)get_int(o, "step", "state", -1, -1, 1L << 50);
  return queue(new LoadStateCall(env, t, std::move(parts), step));
}

Napi::Value TrainerWrap::dispose(const Napi::CallbackInfo& info) {
  trainer_.reset();
  return info.Env().Undefined();
}

Napi::Value TrainerWrap::info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TrainerPtr t = live(env);
  Napi::Object o = Napi::Object::New(env);
  // Read without the lock: these fields never change after creation, except steps (a counter).
  TrainableModel& m = *t->model;
  o.Set("trainableCount", Napi::Number::New(env, (double)m.trainable_count()));
  o.Set("parameterCount", Napi::Number::New(env, (double)m.parameter_count()));
  o.Set("weightsDtype", Napi::String::New(env, weight_type_name(m.base_type())));
  o.Set("baseBytes", Napi::Number::New(env, (double)m.base_bytes()));
  o.Set("loraRank", Napi::Number::New(env, m.lora_layout().cfg.rank));
  o.Set("loraCount", Napi::Number::New(env, (double)m.lora_params().size()));
  o.Set("hasHead", Napi::Boolean::New(env, m.head_params().size() > 0));
  o.Set("steps", Napi::Number::New(env, (double)m.steps_taken()));
  return o;
}

// createTrainer(config, weights, {lora?: {rank, alpha, targets}, head?: 'scalar', headWeights?, seed?, threads?, pieces?,
//                                 weightsDtype?: the frozen base's storage under LoRA,
//                                 checkpointDtype?: 'bf16' | 'f16' with weights a Uint16Array of those bits})
Napi::Value create_trainer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelConfig cfg = parse_model_config(require_object(info, 0, "config"));
  Napi::Object o = optional_object(info, 2, "options");
  // weights: a Float32Array, or a Uint16Array of a bf16 / f16 checkpoint's bits (options.checkpointDtype).
  const WeightType source_type = parse_weight_type(env, o.Get("checkpointDtype"), "options.checkpointDtype", false, WeightType::F32);
  Napi::TypedArray weights = require_model_weights(env, info.Length() > 1 ? info[1] : env.Undefined(), cfg, source_type);
  LoraConfig lora;
  Napi::Value lv = o.Get("lora");
  if (!lv.IsUndefined()) {
    if (!lv.IsObject() || lv.IsArray()) throw_type(env, "options.lora must be an object {rank, alpha, targets}");
    Napi::Object lo = lv.As<Napi::Object>();
    lora.rank = (int)get_int(lo, "rank", "options.lora", 0, 1, 4096, true);
    lora.alpha = (float)get_number(lo, "alpha", "options.lora", 2.0 * lora.rank);
    auto targets = get_strings(lo, "targets", "options.lora");
    if (targets.empty()) throw_range(env, "options.lora.targets must name at least one module");
    for (const auto& name : targets) {
      int found = -1;
      for (int t = 0; t < kNumLoraTargets; t++)
        if (name == lora_target_name(t)) found = t;
      if (found < 0) throw_range(env, "options.lora.targets: unknown module '" + name + "' (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj)");
      lora.targets |= 1u << found;
    }
  }
  HeadKind head = HeadKind::None;
  Napi::Value hv = o.Get("head");
  if (!hv.IsUndefined()) {
    if (!hv.IsString() || hv.As<Napi::String>().Utf8Value() != "scalar") throw_type(env, "options.head must be 'scalar'");
    head = HeadKind::Scalar;
  }
  std::vector<float> head_init;
  Napi::Value hw = o.Get("headWeights");
  if (!hw.IsUndefined()) {
    auto a = require_f32(env, hw, "options.headWeights", cfg.dim + 1);
    head_init.assign(a.Data(), a.Data() + a.ElementLength());
  }
  uint64_t seed = (uint64_t)get_int(o, "seed", "options", 0, 0, 9007199254740991LL);
  if (parse_device(env, o.Get("device"), "options.device") >= 0)
    throw_range(env, "options.device 'cuda': the trainer runs on the CPU backend in this version (its buffers are not yet in "
                     "device memory); decoding and scoring run on CUDA");
  Vocabulary vocab = parse_pieces(env, o.Get("pieces"), cfg.vocab_size);
  const WeightType base_type = parse_weight_type(env, o.Get("weightsDtype"), "options.weightsDtype", true, WeightType::F32);
  if (base_type != WeightType::F32 && lora.rank == 0)
    throw_range(env, std::string("options.weightsDtype '") + weight_type_name(base_type) +
                         "' stores a frozen base: it needs options.lora (the adapters are what trains)");
  return queue(new CreateTrainerCall(env, cfg, weights, source_type, lora, head, std::move(head_init), seed,
                                     get_threads(o, "options"), std::move(vocab), base_type));
}

}  // namespace rlcd::binding
