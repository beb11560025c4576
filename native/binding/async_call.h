// Base for every engine call that runs off the event loop: Execute() runs `work` on a libuv worker
// thread with the requested OpenMP thread count, and the Promise settles with its result.
// Engine RangeErrors become JS RangeErrors; anything else becomes an Error.
#pragma once

#include <napi.h>

#include <functional>
#include <string>

#include "../common/check.h"
#include "engine_thread.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace rlcd::binding {

class AsyncCall : public Napi::AsyncWorker {
 public:
  AsyncCall(Napi::Env env, const char* name, int threads)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), threads_(threads) {}

  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  // Runs on the worker thread; may throw rlcd::RangeError / std::exception.
  virtual void work() = 0;
  // Runs on the JS thread after work() succeeded.
  virtual Napi::Value result(Napi::Env env) = 0;

  int threads() const { return threads_; }

 private:
  void Execute() override {
    try {
      EngineThread::instance().run([this] {
#ifdef _OPENMP
        omp_set_num_threads(threads_);
#endif
        work();
      });
    } catch (const RangeError& e) {
      range_ = true;
      message_ = e.what();
    } catch (const std::bad_alloc&) {
      message_ = "out of memory";
    } catch (const std::exception& e) {
      message_ = e.what();
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (!message_.empty()) {
      Napi::Error err = range_ ? Napi::RangeError::New(env, message_) : Napi::Error::New(env, message_);
      deferred_.Reject(err.Value());
      return;
    }
    try {
      deferred_.Resolve(result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

  Napi::Promise::Deferred deferred_;
  int threads_;
  bool range_ = false;
  std::string message_;
};

}  // namespace rlcd::binding
