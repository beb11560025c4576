// The JS class behind src/native/binding.ts's NativeTrainer: a TrainableModel and its optimizer.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <vector>

#include "../common/thread_tuner.h"
#include "../model/objective.h"
#include "../model/trainable.h"
#include "../model/transformer.h"
#include "../model/vocabulary.h"

namespace rlcd::binding {

// Calls on one trainer run one at a time, in order (they share activations and gradients).
struct TrainerState {
  explicit TrainerState(std::unique_ptr<TrainableModel> m) : model(std::move(m)) {}
  std::unique_ptr<TrainableModel> model;
  std::mutex mutex;
  ObjectiveScratch scratch;
  // Token bytes for stop and banned strings in generate() (empty when not given).
  Vocabulary vocab;
  // The frozen base as an inference engine, built on the first generate({adapters: false}) of a
  // LoRA trainer (its base never changes).
  std::unique_ptr<Transformer> reference;
  // Thread counts of forward/backward and of evaluate calls, each chosen by timing its own calls
  // (their costs per row differ; see thread_tuner.h).
  enum TunedWork { kTrain, kEvaluate };
  ThreadTuner tuners[2] = {ThreadTuner{1}, ThreadTuner{1}};
  ThreadTuner& tuner_for(TunedWork work, int threads) {
    ThreadTuner& t = tuners[work];
    if (t.max_threads() != threads) t = ThreadTuner(threads, 16);
    return t;
  }
};
using TrainerPtr = std::shared_ptr<TrainerState>;

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function define(Napi::Env env, Napi::FunctionReference* out);
  static Napi::Object wrap(Napi::Env env, TrainerPtr trainer);
  explicit TrainerWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value forward_backward(const Napi::CallbackInfo& info);
  Napi::Value evaluate(const Napi::CallbackInfo& info);
  Napi::Value step(const Napi::CallbackInfo& info);
  Napi::Value generate(const Napi::CallbackInfo& info);
  Napi::Value grad_norm(const Napi::CallbackInfo& info);
  Napi::Value zero_grad(const Napi::CallbackInfo& info);
  Napi::Value state(const Napi::CallbackInfo& info);
  Napi::Value load_state(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value info(const Napi::CallbackInfo& info);

  TrainerPtr live(Napi::Env env) const;
  TrainerPtr trainer_;
};

// createTrainer(config, weights, options?) -> Promise<NativeTrainer>
Napi::Value create_trainer(const Napi::CallbackInfo& info);

}  // namespace rlcd::binding
