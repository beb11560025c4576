// Chooses the thread count of repeated engine work (decode steps, training calls) by measuring
// it. On an idle machine all threads win; when another process holds a core, every OpenMP barrier
// waits for the thread that shares that core, and one thread on the free core is many times faster
// (measured: generation fell from ~11,000 to ~250 tokens/s). The tuner times both choices, keeps
// the faster, and re-measures the other now and then, so it follows the load as it changes.
// Results do not depend on the thread count (every kernel sums in a fixed order), so switching is
// free of side effects.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <map>
#include <mutex>

namespace rlcd {

class ThreadTuner {
 public:
  // `explore_every`: units between probes of the losing choice at first (the gap doubles each time
  // a probe confirms the choice). `weight`: how much one unit moves its choice's running average.
  // `probe_seconds`: the shortest time a probe measures, so that it sees a lost scheduler slice.
  explicit ThreadTuner(int max_threads, int explore_every = 16, double weight = 0.3, double probe_seconds = 0.01)
      : max_(max_threads < 1 ? 1 : max_threads), first_(explore_every), every_(explore_every),
        weight_(weight), probe_seconds_(probe_seconds) {}

  // The thread count for the next unit of work.
  int next() {
    if (max_ == 1 || disabled()) return max_;
    if (probing_ < 0) {
      if (cost_[0] < 0) start_probe(0);       // measure all threads first,
      else if (cost_[1] < 0) start_probe(1);  // then one thread,
      else if (++since_ >= every_) start_probe(best() == 0 ? 1 : 0);  // and the other now and then
    }
    return threads_of(probing_ >= 0 ? probing_ : best());
  }

  // Seconds the work took with `threads`, for `units` of it (tokens, rows): updates that choice's cost.
  void report(int threads, double seconds, double units) {
    if (max_ == 1 || units <= 0) return;
    // The first unit is a warm-up, not a measurement: it pays for first-touch page faults and cold
    // caches (a 25.7M training step: 3.0 s cold, 1.35 s warm with two threads, 2.2 s with one), and
    // counting it made the tuner pick one thread for the next 16 steps.
    if (!warmed_) {
      warmed_ = true;
      return;
    }
    const int i = threads == 1 ? 1 : 0;
    if (probing_ == i) {
      // A probe replaces its choice's cost: the old figure is stale (measured under another load).
      probe_time_ += seconds;
      probe_units_ += units;
      if (probe_time_ < probe_seconds_) return;
      const bool exploring = cost_[0] >= 0 && cost_[1] >= 0;
      const int before = best();
      cost_[i] = probe_time_ / probe_units_;
      probing_ = -1;
      // A probe that confirms the choice makes the next one rarer (a probe of the losing choice can
      // cost many ordinary units when a core is taken); a probe that flips it starts over.
      if (exploring) every_ = best() == before ? (every_ < 4096 ? every_ * 2 : every_) : first_;
      return;
    }
    // Otherwise a running average. Its weight is small for short units: under contention most
    // decode blocks run at full speed and one in several loses a whole scheduler time slice, so
    // only an average over many of them shows that all threads are slower.
    // One unit counts at most 3x the average: a single lost slice on an idle machine (node's own
    // threads share the two cores) then moves the average by a fifth, not past the 0.85 margin,
    // while a load that slows every unit still moves it there within a few units.
    const double per = cost_[i] > 0 ? std::min(seconds / units, 3 * cost_[i]) : seconds / units;
    const int before = best();
    cost_[i] = cost_[i] < 0 ? per : (1 - weight_) * cost_[i] + weight_ * per;
    // A choice flipped by the average alone (on an idle machine, one unit that lost a scheduler
    // slice can do it) is checked soon: the other choice is probed again after `explore_every`
    // units, not after the long gap that confirmed probes had grown to (up to 4096 units of one
    // thread: tinystories-656k decoding at batch 1 ran 0.82x as fast as with all threads always).
    if (best() != before && cost_[0] >= 0 && cost_[1] >= 0) {
      every_ = first_;
      since_ = 0;
    }
  }

  int max_threads() const { return max_; }

  // RLCD_FIXED_THREADS=1 turns the tuner off (every unit runs with all threads), for benchmarks
  // that compare the two.
  static bool disabled() {
    static const bool off = [] { const char* v = std::getenv("RLCD_FIXED_THREADS"); return v && *v && *v != '0'; }();
    return off;
  }

 private:
  // Choice 0 is all threads, choice 1 is one thread. All threads unless one is clearly faster: on
  // an idle machine the two can be close for tiny work, and flipping on noise costs more than it saves.
  int best() const { return cost_[1] < 0.85 * cost_[0] ? 1 : 0; }
  int threads_of(int choice) const { return choice == 1 ? 1 : max_; }
  void start_probe(int choice) {
    probing_ = choice;
    probe_time_ = probe_units_ = 0;
    since_ = 0;
  }

  int max_, first_, every_;
  double weight_, probe_seconds_;
  long since_ = 0;
  bool warmed_ = false;
  int probing_ = -1;  // the choice being measured, or -1
  double probe_time_ = 0, probe_units_ = 0;
  double cost_[2] = {-1.0, -1.0};  // seconds per unit with all threads, with one thread
};

// Tuners kept between calls (e.g. on a model, so each generate() call starts from what the last
// one learned instead of paying its probes again), one per kind of work: `key` says which, since
// the cost per unit differs with it (the number of sequences in a decode step, for one).
class TunerTable {
 public:
  ThreadTuner get(int key, int max_threads, int explore_every, double weight) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tuners_.find({key, max_threads});
    return it != tuners_.end() ? it->second : ThreadTuner(max_threads, explore_every, weight);
  }
  void put(int key, const ThreadTuner& tuner) {
    std::lock_guard<std::mutex> lock(mu_);
    tuners_.insert_or_assign({key, tuner.max_threads()}, tuner);
  }

 private:
  std::mutex mu_;
  std::map<std::pair<int, int>, ThreadTuner> tuners_;
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
