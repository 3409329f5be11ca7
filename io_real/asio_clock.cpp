#include "io_real/asio_clock.h"

#include <algorithm>
#include <chrono>

namespace nsq::io_real {

namespace {
// Timers due at one wake-up run in one batch, but at most this many, so a flood of posts cannot starve
// socket handlers queued on the same io_context.
constexpr std::size_t kMaxBatch = 1024;

std::chrono::steady_clock::time_point to_time_point(std::int64_t ns) {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
}
}  // namespace

AsioClock::AsioClock(boost::asio::io_context& io) : timer_(io) {}

AsioClock::~AsioClock() { *alive_ = false; }

std::int64_t AsioClock::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t AsioClock::wall_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

seam::TimerId AsioClock::schedule_at(std::int64_t deadline_ns, std::function<void()> fn) {
  const seam::TimerId id = ++last_id_;
  callbacks_.emplace(id, std::move(fn));
  heap_.push_back(Entry{deadline_ns, id});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
  // While firing, on_timer() re-arms for whatever is left when the batch ends.
  if (!firing_ && (!armed_ || deadline_ns < armed_deadline_)) arm(deadline_ns);
  return id;
}

void AsioClock::cancel(seam::TimerId id) {
  if (callbacks_.erase(id) == 0) return;
  if (callbacks_.empty()) heap_.clear();  // every entry left is a cancelled one
  drop_cancelled_top();
  maybe_compact();
  // Nothing left: disarm, so an idle clock holds no pending wait (the io_context can run out of work).
  if (heap_.empty() && armed_ && !firing_) {
    timer_.cancel();
    armed_ = false;
  }
}

void AsioClock::arm(std::int64_t deadline_ns) {
  armed_ = true;
  armed_deadline_ = deadline_ns;
  const std::uint64_t generation = ++generation_;
  // A deadline in the past completes on the next turn of the io_context: never inside schedule_at.
  timer_.expires_at(to_time_point(deadline_ns));
  timer_.async_wait([this, alive = alive_, generation](const boost::system::error_code& ec) {
    if (!*alive || ec) return;                // clock destroyed, or this wait was replaced
    if (generation != generation_) return;   // completed just before it was re-armed: stale
    on_timer();
  });
}

void AsioClock::on_timer() {
  armed_ = false;
  firing_ = true;
  const std::int64_t now = now_ns();
  std::size_t ran = 0;
  while (ran < kMaxBatch) {
    drop_cancelled_top();
    if (heap_.empty() || heap_.front().deadline > now) break;
    const seam::TimerId id = heap_.front().id;
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
    auto it = callbacks_.find(id);
    std::function<void()> fn = std::move(it->second);
    callbacks_.erase(it);
    ++ran;
    fn();  // may schedule or cancel timers, or destroy anything but this clock
  }
  firing_ = false;
  drop_cancelled_top();
  if (!heap_.empty()) arm(heap_.front().deadline);
}

void AsioClock::drop_cancelled_top() {
  while (!heap_.empty() && !callbacks_.contains(heap_.front().id)) {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }
}

// Cancelled entries deep in the heap (e.g. message timeouts cancelled by FIN) would otherwise accumulate
// until their deadline; rebuild once they outnumber the live ones.
void AsioClock::maybe_compact() {
  if (heap_.size() < 1024 || heap_.size() < 2 * callbacks_.size()) return;
  std::erase_if(heap_, [this](const Entry& e) { return !callbacks_.contains(e.id); });
  std::make_heap(heap_.begin(), heap_.end(), Later{});
}

}  // namespace nsq::io_real
