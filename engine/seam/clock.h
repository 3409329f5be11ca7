// Seam: time and timers. The engine never reads a system clock; it asks this interface.
// io_real implements it on an Asio steady_timer queue and the system clocks; io_sim on a virtual clock.
#pragma once

#include <cstdint>
#include <functional>

namespace nsq::seam {

using TimerId = std::uint64_t;
inline constexpr TimerId kNoTimer = 0;

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic nanoseconds (never goes backwards). Deadlines are expressed in this clock.
  virtual std::int64_t now_ns() const = 0;
  // Wall clock, nanoseconds since the Unix epoch: message timestamps, IDs, start_time.
  virtual std::int64_t wall_ns() const = 0;

  // Runs fn once, on the engine's thread, when now_ns() >= deadline_ns. Timers with equal deadlines run in the
  // order they were scheduled; a deadline in the past (or now) runs after the current handler returns, never
  // inside schedule_at. Returns a non-zero id.
  virtual TimerId schedule_at(std::int64_t deadline_ns, std::function<void()> fn) = 0;
  // Cancels a pending timer; unknown or already-fired ids are ignored.
  virtual void cancel(TimerId id) = 0;

  TimerId schedule_after(std::int64_t delay_ns, std::function<void()> fn) {
    return schedule_at(now_ns() + delay_ns, std::move(fn));
  }
  // Runs fn after the current handler (and anything already posted) returns.
  TimerId post(std::function<void()> fn) { return schedule_at(now_ns(), std::move(fn)); }
};

}  // namespace nsq::seam
