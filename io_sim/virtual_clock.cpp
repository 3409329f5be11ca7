#include "io_sim/virtual_clock.h"

#include <string>
#include <utility>

#include "io_sim/trace.h"

namespace nsq::io_sim {

seam::TimerId VirtualClock::schedule_at(std::int64_t deadline_ns, std::function<void()> fn) {
  // A past deadline means "as soon as possible": clamp to now so it queues behind timers already due now
  // (the seam promises posts run in order) and never runs inside schedule_at.
  if (deadline_ns < now_) deadline_ns = now_;
  const seam::TimerId id = ++last_id_;
  heap_.push(Entry{deadline_ns, id});
  fns_.emplace(id, std::move(fn));
  return id;
}

void VirtualClock::cancel(seam::TimerId id) { fns_.erase(id); }

void VirtualClock::drop_cancelled() {
  while (!heap_.empty() && fns_.find(heap_.top().id) == fns_.end()) heap_.pop();
}

std::optional<std::int64_t> VirtualClock::next_deadline() {
  drop_cancelled();
  if (heap_.empty()) return std::nullopt;
  return heap_.top().deadline;
}

bool VirtualClock::run_next() {
  drop_cancelled();
  if (heap_.empty()) return false;
  const Entry e = heap_.top();
  heap_.pop();
  auto it = fns_.find(e.id);
  std::function<void()> fn = std::move(it->second);
  fns_.erase(it);
  if (e.deadline > now_) now_ = e.deadline;  // overdue after a stall: runs late, time never goes back
  ++timers_run_;
  if (trace_ != nullptr) trace_->record(now_, "timer", std::to_string(e.id));
  fn();
  return true;
}

std::size_t VirtualClock::run_until(std::int64_t t) {
  std::size_t n = 0;
  for (;;) {
    auto next = next_deadline();
    if (!next || *next > t) break;
    run_next();
    ++n;
  }
  if (t > now_) now_ = t;
  return n;
}

std::size_t VirtualClock::run_until_idle(std::size_t limit) {
  std::size_t n = 0;
  while (n < limit && run_next()) ++n;
  return n;
}

}  // namespace nsq::io_sim
