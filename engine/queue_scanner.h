// The queue scan, as nsqd's queueScanLoop: every scan interval, pick up to selection-count channels at random,
// expire their in-flight messages and release their due deferred ones, and pick again at once while more than
// dirty-percent of the picked channels had work.
//
// Where nsqd hurts its users we differ, without changing what a client sees on the wire:
// - nsqd samples from all channels, refreshed every 5 s, so with thousands of channels (or a channel created
//   since the last refresh) a timeout fires seconds to tens of seconds late. We sample from the channels whose
//   earliest deadline has passed, kept current as messages come and go, so every due deadline is handled within
//   one scan interval however many channels exist.
//   queue-scan-refresh-interval is accepted for parity but has nothing to refresh: the list is never stale.
// - nsqd's ticker runs while idle; ours is armed only while some channel has in-flight or deferred messages.
// - nsqd spreads the picked channels over a worker pool; the engine is single-threaded, so workers are only a
//   figure (kept for stats and parity): clamp(channels / 4, 1, queue-scan-worker-pool-max).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/seam/clock.h"

namespace nsq {

class NSQD;
class Channel;

class QueueScanner {
 public:
  explicit QueueScanner(NSQD& nsqd) : nsqd_(nsqd) {}
  ~QueueScanner();

  // A channel gained (add) or lost all (remove) in-flight and deferred messages.
  void add(Channel* ch);
  void remove(Channel* ch);
  void stop();

  std::size_t active_channels() const { return active_.size(); }
  int worker_count(std::size_t channel_count) const;
  std::uint64_t scans() const { return scans_; }

 private:
  void arm();
  void tick();

  NSQD& nsqd_;
  std::vector<Channel*> active_;  // channels with in-flight or deferred messages
  seam::TimerId timer_ = seam::kNoTimer;
  bool stopped_ = false;
  std::uint64_t scans_ = 0;
};

}  // namespace nsq
