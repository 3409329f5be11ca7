// Virtual time for the simulation. Nothing moves unless the driver runs timers: run_next() jumps time to the
// earliest deadline and runs that one timer. Ordering is total and seed-independent: (deadline, sequence).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <vector>

#include "engine/seam/clock.h"

namespace nsq::io_sim {

class Trace;

class VirtualClock final : public seam::Clock {
 public:
  // Monotonic time starts well above zero so "0 = unset" bugs in the engine cannot hide behind it.
  static constexpr std::int64_t kStartNs = 1'000 * 1'000'000'000LL;
  // Wall clock at kStartNs: 2026-01-01T00:00:00Z.
  static constexpr std::int64_t kEpochWallNs = 1'767'225'600LL * 1'000'000'000LL;

  explicit VirtualClock(Trace* trace = nullptr) : trace_(trace) {}

  std::int64_t now_ns() const override { return now_; }
  std::int64_t wall_ns() const override { return kEpochWallNs + (now_ - kStartNs) + wall_skew_; }
  seam::TimerId schedule_at(std::int64_t deadline_ns, std::function<void()> fn) override;
  void cancel(seam::TimerId id) override;

  // Runs the earliest pending timer (advancing time to its deadline). False if nothing is pending.
  bool run_next();
  // Runs every timer due at or before t, then sets time to t (t in the past is a no-op). Returns timers run.
  std::size_t run_until(std::int64_t t);
  std::size_t run_for(std::int64_t d) { return run_until(now_ + d); }
  // Runs until no timer is pending or limit timers ran. Returns timers run.
  std::size_t run_until_idle(std::size_t limit);

  std::size_t pending() const { return fns_.size(); }
  std::optional<std::int64_t> next_deadline();
  std::uint64_t timers_run() const { return timers_run_; }

  // Fault hook: the wall clock jumps by delta (NTP step, VM migration). Monotonic time is unaffected, as on a
  // real host; message timestamps and IDs see the jump.
  void jump_wall(std::int64_t delta_ns) { wall_skew_ += delta_ns; }
  // Fault hook: the whole process stalls (SIGSTOP, a VM pause, swapping) for delta: monotonic time jumps ahead
  // and every timer that came due meanwhile runs late, in deadline order, at the new time.
  void stall(std::int64_t delta_ns) { now_ += delta_ns; }

 private:
  struct Entry {
    std::int64_t deadline;
    seam::TimerId id;  // ids increase with scheduling order, so they double as the tie-breaker
    bool operator>(const Entry& o) const { return deadline != o.deadline ? deadline > o.deadline : id > o.id; }
  };
  void drop_cancelled();

  std::int64_t now_ = kStartNs;
  std::int64_t wall_skew_ = 0;
  seam::TimerId last_id_ = seam::kNoTimer;
  std::uint64_t timers_run_ = 0;
  // Cancelled timers stay in the heap and are skipped when they surface; fns_ is the source of truth.
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap_;
  std::map<seam::TimerId, std::function<void()>> fns_;
  Trace* trace_;
};

}  // namespace nsq::io_sim
