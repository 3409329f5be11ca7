#include "io_sim/virtual_clock.h"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <utility>

#include "io_sim/trace.h"

namespace nsq::io_sim {

seam::TimerId VirtualClock::schedule_task(std::int64_t deadline_ns, InlineTask fn) {
  // A past deadline means "as soon as possible": clamp to now so it queues behind timers already due now
  // (the seam promises posts run in order) and never runs inside schedule_at.
  if (deadline_ns < now_) deadline_ns = now_;
  std::uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
    heap_pos_.push_back(kFree);
  }
  Slot& s = slots_[slot];
  s.fn = std::move(fn);
  ++s.generation;
  if (s.generation == 0) s.generation = 1;  // wrapped: generation 0 would make an id of old "unknown" ids
  heap_.push_back(Entry{deadline_ns, ++last_seq_, slot});
  heap_pos_[slot] = static_cast<std::uint32_t>(heap_.size() - 1);
  sift_up(heap_.size() - 1);
  return (static_cast<seam::TimerId>(s.generation) << 32) | (static_cast<seam::TimerId>(slot) + 1);
}

void VirtualClock::cancel(seam::TimerId id) {
  const std::uint64_t low = id & 0xffffffffULL;
  if (low == 0 || low > slots_.size()) return;
  const auto slot = static_cast<std::uint32_t>(low - 1);
  const Slot& s = slots_[slot];
  if (heap_pos_[slot] == kFree || s.generation != static_cast<std::uint32_t>(id >> 32)) return;
  // Destroy the callback only after the heap is consistent again: its captures' destructors may reenter us.
  InlineTask dead = take(heap_pos_[slot]);
}

InlineTask VirtualClock::take(std::uint32_t heap_pos) {
  const std::uint32_t slot = heap_[heap_pos].slot;
  InlineTask fn = std::move(slots_[slot].fn);
  heap_pos_[slot] = kFree;
  free_.push_back(slot);
  const std::size_t last = heap_.size() - 1;
  if (heap_pos != last) {
    const Entry moved = heap_[last];
    heap_.pop_back();
    place(heap_pos, moved);
    if (heap_pos > 0 && moved.before(heap_[(heap_pos - 1) / kArity])) {
      sift_up(heap_pos);
    } else {
      sift_down(heap_pos);
    }
  } else {
    heap_.pop_back();
  }
  return fn;
}

void VirtualClock::sift_up(std::size_t pos) {
  const Entry e = heap_[pos];
  while (pos > 0) {
    const std::size_t parent = (pos - 1) / kArity;
    if (!e.before(heap_[parent])) break;
    place(pos, heap_[parent]);
    pos = parent;
  }
  place(pos, e);
}

void VirtualClock::sift_down(std::size_t pos) {
  const Entry e = heap_[pos];
  const std::size_t n = heap_.size();
  for (;;) {
    const std::size_t first = kArity * pos + 1;
    if (first >= n) break;
    std::size_t child = first;
    const std::size_t end = std::min(first + kArity, n);
    for (std::size_t c = first + 1; c < end; ++c) {
      if (heap_[c].before(heap_[child])) child = c;
    }
    if (!heap_[child].before(e)) break;
    place(pos, heap_[child]);
    pos = child;
  }
  place(pos, e);
}

bool VirtualClock::run_next() {
  if (heap_.empty()) return false;
  const Entry e = heap_.front();
  InlineTask fn = take(0);
  if (e.deadline > now_) now_ = e.deadline;  // overdue after a stall: runs late, time never goes back
  ++timers_run_;
  if (trace_ != nullptr) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, e.seq);
    trace_->record(now_, "timer", std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
  fn();
  return true;
}

std::size_t VirtualClock::run_until(std::int64_t t) {
  std::size_t n = 0;
  while (!heap_.empty() && heap_.front().deadline <= t) {
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
