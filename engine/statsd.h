// statsd (nsqd's statsdLoop): every --statsd-interval, counters (as deltas since the last push) and gauges for
// every topic and channel, plus mem.* figures, as "<prefix><name>:<value>|c|g" lines packed into datagrams of at
// most --statsd-udp-packet-size bytes (a line is never split) and spread evenly over the interval minus 1 s.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/seam/clock.h"

namespace nsq {

class NSQD;

class StatsdPusher {
 public:
  explicit StatsdPusher(NSQD& nsqd);
  ~StatsdPusher();
  StatsdPusher(const StatsdPusher&) = delete;
  StatsdPusher& operator=(const StatsdPusher&) = delete;

  // Starts the push timer when --statsd-address is set and the engine has a datagram seam.
  void start();
  void stop();

  // One push's lines (exposed for tests): builds them and updates the counter baselines.
  std::vector<std::string> collect();
  // Packs lines into datagrams of at most packet_size bytes, never splitting a line (a longer line goes alone).
  static std::vector<std::string> pack(const std::vector<std::string>& lines, std::size_t packet_size);

 private:
  void tick();
  void send(const std::string& address, const std::string& payload);

  NSQD& nsqd_;
  seam::TimerId timer_ = seam::kNoTimer;
  std::vector<seam::TimerId> sends_;
  std::map<std::string, std::uint64_t> last_counters_;  // counter name → value at the last push
};

}  // namespace nsq
