// Every engine computation runs on ONE dedicated thread. OpenMP keeps a worker pool per thread
// that opens parallel regions; if calls ran on whichever libuv worker picked them up, each of those
// threads would grow its own pool, libgomp would count more threads than cores and stop spinning
// at barriers (sleeping and waking on every kernel: a 2-3x slowdown at batch 1 measured here).
// Calls queue here instead; the libuv worker that runs an AsyncCall just waits for its turn.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace rlcd::binding {

class EngineThread {
 public:
  static EngineThread& instance() {
    static EngineThread* t = new EngineThread();  // never destroyed: it outlives every call
    return *t;
  }

  // Runs `job` on the engine thread and returns when it has finished (exceptions propagate).
  void run(const std::function<void()>& job) {
    std::exception_ptr error;
    bool done = false;
    std::mutex m;
    std::condition_variable cv;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back([&] {
        try {
          job();
        } catch (...) {
          error = std::current_exception();
        }
        std::lock_guard<std::mutex> l(m);
        done = true;
        cv.notify_one();
      });
    }
    wake_.notify_one();
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return done; });
    if (error) std::rethrow_exception(error);
  }

 private:
  EngineThread() : thread_([this] { loop(); }) { thread_.detach(); }
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return !queue_.empty(); });
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::thread thread_;
};

}  // namespace rlcd::binding
