// Chooses the thread count of repeated engine work (decode steps, training calls) by measuring
// it. On an idle machine all threads win; when another process holds a core, every OpenMP barrier
// waits for the thread that shares that core, and one thread on the free core is many times faster
// (measured: generation fell from ~11,000 to ~250 tokens/s). The tuner times both choices, keeps
// the faster, and re-measures the other now and then, so it follows the load as it changes.
// Results do not depend on the thread count (every kernel sums in a fixed order), so switching is
// free of side effects.
#pragma once

#include <chrono>

namespace rlcd {

class ThreadTuner {
 public:
  explicit ThreadTuner(int max_threads, int explore_every = 16) : max_(max_threads < 1 ? 1 : max_threads), first_(explore_every), every_(explore_every) {}

  // The thread count for the next unit of work.
  int next() {
    if (max_ == 1) return 1;
    if (cost_[0] < 0) return max_;  // measure all threads first,
    if (cost_[1] < 0) return 1;     // then one thread,
    if (++since_ >= every_) {       // and re-measure the other choice now and then
      since_ = 0;
      exploring_ = true;
      return best() == max_ ? 1 : max_;
    }
    return best();
  }

  // Seconds the work took with `threads`, for `units` of it (tokens, rows): updates that choice's cost.
  void report(int threads, double seconds, double units) {
    if (max_ == 1 || units <= 0) return;
    const int before = best();
    double& c = cost_[threads == 1 ? 1 : 0];
    const double per = seconds / units;
    c = c < 0 ? per : 0.7 * c + 0.3 * per;
    if (exploring_) {
      // A probe that confirms the choice makes the next one rarer (a probe of the losing choice can
      // cost 50 ordinary steps when a core is taken); a probe that flips it starts over.
      every_ = best() == before ? (every_ < 4096 ? every_ * 2 : every_) : first_;
      exploring_ = false;
    }
  }

  int max_threads() const { return max_; }

 private:
  int best() const { return cost_[0] <= cost_[1] ? max_ : 1; }

  int max_, first_, every_;
  long since_ = 0;
  bool exploring_ = false;
  double cost_[2] = {-1.0, -1.0};  // seconds per unit with max_ threads, with 1 thread
};

// Times one unit of work run with the tuner's choice.
template <typename F>
void tuned(ThreadTuner& tuner, double units, F work) {
  const int t = tuner.next();
  const auto start = std::chrono::steady_clock::now();
  work(t);
  tuner.report(t, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), units);
}

}  // namespace rlcd
