// Virtual time for the simulation. Nothing moves unless the driver runs timers: run_next() jumps time to the
// earliest deadline and runs that one timer. Ordering is total and seed-independent: (deadline, sequence).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/seam/clock.h"
#include "io_sim/inline_task.h"

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
  seam::TimerId schedule_at(std::int64_t deadline_ns, std::function<void()> fn) override {
    return schedule_task(deadline_ns, InlineTask(std::move(fn)));
  }
  void cancel(seam::TimerId id) override;
  // The same as schedule_at for io_sim's own timers, without std::function's allocation for small captures.
  seam::TimerId schedule_task(std::int64_t deadline_ns, InlineTask fn);

  // Runs the earliest pending timer (advancing time to its deadline). False if nothing is pending.
  bool run_next();
  // Runs every timer due at or before t, then sets time to t (t in the past is a no-op). Returns timers run.
  std::size_t run_until(std::int64_t t);
  std::size_t run_for(std::int64_t d) { return run_until(now_ + d); }
  // Runs until no timer is pending or limit timers ran. Returns timers run.
  std::size_t run_until_idle(std::size_t limit);

  std::size_t pending() const { return heap_.size(); }
  std::optional<std::int64_t> next_deadline() const {
    if (heap_.empty()) return std::nullopt;
    return heap_.front().deadline;
  }
  std::uint64_t timers_run() const { return timers_run_; }

  // Fault hook: the wall clock jumps by delta (NTP step, VM migration). Monotonic time is unaffected, as on a
  // real host; message timestamps and IDs see the jump.
  void jump_wall(std::int64_t delta_ns) { wall_skew_ += delta_ns; }
  // Fault hook: the whole process stalls (SIGSTOP, a VM pause, swapping) for delta: monotonic time jumps ahead
  // and every timer that came due meanwhile runs late, in deadline order, at the new time.
  void stall(std::int64_t delta_ns) { now_ += delta_ns; }

 private:
  // Pending timers live in slots_ (reused through free_); heap_ is a 4-ary min-heap over (deadline, seq) whose
  // entries know their slot and whose slots know their heap position, so cancel() removes at once.
  // A TimerId is (generation << 32) | (slot + 1): a fired or cancelled id no longer matches its slot's
  // generation and is ignored. seq counts schedule_at calls and breaks deadline ties (FIFO).
  struct Entry {
    std::int64_t deadline;
    std::uint64_t seq;
    std::uint32_t slot;
    bool before(const Entry& o) const { return deadline != o.deadline ? deadline < o.deadline : seq < o.seq; }
  };
  struct Slot {
    InlineTask fn;
    std::uint32_t generation = 0;
  };
  static constexpr std::uint32_t kFree = ~std::uint32_t{0};
  static constexpr std::size_t kArity = 4;  // shallower than binary: pops (the common case) touch fewer levels

  InlineTask take(std::uint32_t heap_pos);  // removes heap_[heap_pos], frees its slot, returns its callback
  void place(std::size_t pos, const Entry& e) {
    heap_[pos] = e;
    heap_pos_[e.slot] = static_cast<std::uint32_t>(pos);
  }
  void sift_up(std::size_t pos);
  void sift_down(std::size_t pos);

  std::int64_t now_ = kStartNs;
  std::int64_t wall_skew_ = 0;
  std::uint64_t last_seq_ = 0;
  std::uint64_t timers_run_ = 0;
  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> heap_pos_;  // per slot: its heap_ index, or kFree (apart from slots_: sifts touch it)
  std::vector<std::uint32_t> free_;
  Trace* trace_;
};

}  // namespace nsq::io_sim
