#include "engine/queue_scanner.h"

#include <algorithm>

#include "engine/channel.h"
#include "engine/nsqd.h"

namespace nsq {

QueueScanner::~QueueScanner() { stop(); }

void QueueScanner::stop() {
  stopped_ = true;
  if (timer_ != seam::kNoTimer) nsqd_.clock().cancel(timer_);
  timer_ = seam::kNoTimer;
  for (Channel* c : active_) c->scan_index = -1;
  active_.clear();
}

void QueueScanner::add(Channel* ch) {
  if (ch->scan_index >= 0 || stopped_) return;
  ch->scan_index = static_cast<int>(active_.size());
  active_.push_back(ch);
  arm();
}

void QueueScanner::remove(Channel* ch) {
  if (ch->scan_index < 0) return;
  auto i = static_cast<std::size_t>(ch->scan_index);
  active_[i] = active_.back();
  active_[i]->scan_index = static_cast<int>(i);
  active_.pop_back();
  ch->scan_index = -1;
}

int QueueScanner::worker_count(std::size_t channel_count) const {
  int n = static_cast<int>(static_cast<double>(channel_count) * 0.25);
  return std::clamp(n, 1, std::max(1, nsqd_.options().queue_scan_worker_pool_max));
}

void QueueScanner::arm() {
  if (timer_ != seam::kNoTimer || stopped_ || active_.empty()) return;
  timer_ = nsqd_.clock().schedule_after(nsqd_.options().queue_scan_interval, [this] {
    timer_ = seam::kNoTimer;
    nsqd_.begin_output_batch();  // redeliveries go out at the end of the scan, one write per client
    tick();
    nsqd_.end_output_batch();
    arm();
  });
}

void QueueScanner::tick() {
  const std::int64_t now = nsqd_.clock().now_ns();
  std::vector<Channel*> due;
  for (Channel* c : active_) {
    if (c->next_deadline() <= now) due.push_back(c);
  }
  const auto selection = static_cast<std::size_t>(std::max(1, nsqd_.options().queue_scan_selection_count));
  while (!due.empty()) {
    ++scans_;
    const std::size_t num = std::min(selection, due.size());
    // Pick num distinct channels at random (partial Fisher-Yates from the seam's PRNG).
    for (std::size_t i = 0; i < num; ++i) {
      std::size_t j = i + static_cast<std::size_t>(nsqd_.random().uniform(due.size() - i));
      std::swap(due[i], due[j]);
    }
    std::size_t dirty = 0;
    for (std::size_t i = 0; i < num; ++i) {
      if (due[i]->process_queues(now)) ++dirty;
    }
    due.erase(due.begin(), due.begin() + static_cast<std::ptrdiff_t>(num));
    if (static_cast<double>(dirty) / static_cast<double>(num) <= nsqd_.options().queue_scan_dirty_percent) break;
  }
}

}  // namespace nsq
