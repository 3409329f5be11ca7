#include "engine/statsd.h"

#include <algorithm>
#include <cstdio>

#include "engine/http_endpoints.h"
#include "engine/names.h"
#include "engine/nsqd.h"
#include "engine/options.h"
#include "engine/stats.h"

namespace nsq {

namespace {

bool ends_ephemeral(const std::string& name) {
  constexpr std::string_view kSuffix = "#ephemeral";
  return name.size() >= kSuffix.size() && name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) == 0;
}

// "%.0f" of quantile × 100, as nsqd names the e2e gauges (0.99 → "99", 1 → "100").
std::string percent_name(double quantile) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f", quantile * 100.0);
  return buf;
}

}  // namespace

StatsdPusher::StatsdPusher(NSQD& nsqd) : nsqd_(nsqd) {}

StatsdPusher::~StatsdPusher() { stop(); }

void StatsdPusher::start() {
  const Options& o = nsqd_.options();
  if (o.statsd_address.empty() || nsqd_.datagram_sender() == nullptr || timer_ != seam::kNoTimer) return;
  timer_ = nsqd_.clock().schedule_after(std::max<std::int64_t>(o.statsd_interval, kMillisecond), [this] { tick(); });
}

void StatsdPusher::stop() {
  if (timer_ != seam::kNoTimer) nsqd_.clock().cancel(timer_);
  timer_ = seam::kNoTimer;
  for (seam::TimerId id : sends_) nsqd_.clock().cancel(id);
  sends_.clear();
}

std::vector<std::string> StatsdPusher::collect() {
  const Options& o = nsqd_.options();
  Options resolved = o;
  if (resolved.broadcast_http_port == 0) resolved.broadcast_http_port = nsqd_.http_port();
  const std::string prefix = http::statsd_prefix(resolved);
  std::map<std::string, std::uint64_t> counters;
  std::vector<std::string> lines;
  auto incr = [&](const std::string& name, std::uint64_t value) {
    const auto last = last_counters_.find(name);
    const std::uint64_t base = last == last_counters_.end() ? 0 : last->second;
    counters[name] = value;
    lines.push_back(prefix + name + ":" + std::to_string(static_cast<std::int64_t>(value - base)) + "|c\n");
  };
  auto gauge = [&](const std::string& name, std::int64_t value) {
    lines.push_back(prefix + name + ":" + std::to_string(value) + "|g\n");
  };

  for (const TopicStats& t : nsqd_.stats({}, {}, false)) {
    if (o.statsd_exclude_ephemeral && ends_ephemeral(t.topic_name)) continue;
    const std::string tp = "topic." + t.topic_name;
    incr(tp + ".message_count", t.message_count);
    incr(tp + ".message_bytes", t.message_bytes);
    gauge(tp + ".depth", t.depth);
    gauge(tp + ".backend_depth", t.backend_depth);
    for (const auto& [q, v] : t.e2e_processing_latency.percentiles) {
      gauge(tp + ".e2e_processing_latency_" + percent_name(q), static_cast<std::int64_t>(v));
    }
    for (const ChannelStats& c : t.channels) {
      if (o.statsd_exclude_ephemeral && ends_ephemeral(c.channel_name)) continue;
      const std::string cp = tp + ".channel." + c.channel_name;
      incr(cp + ".message_count", c.message_count);
      gauge(cp + ".depth", c.depth);
      gauge(cp + ".backend_depth", c.backend_depth);
      gauge(cp + ".in_flight_count", c.in_flight_count);
      gauge(cp + ".deferred_count", c.deferred_count);
      incr(cp + ".requeue_count", c.requeue_count);
      incr(cp + ".timeout_count", c.timeout_count);
      gauge(cp + ".clients", c.client_count);
      for (const auto& [q, v] : c.e2e_processing_latency.percentiles) {
        gauge(cp + ".e2e_processing_latency_" + percent_name(q), static_cast<std::int64_t>(v));
      }
    }
  }
  if (o.statsd_mem_stats) {
    const http::Memory m = http::memory_figures(nsqd_);
    gauge("mem.heap_objects", m.heap_objects);
    gauge("mem.heap_idle_bytes", m.heap_idle_bytes);
    gauge("mem.heap_in_use_bytes", m.heap_in_use_bytes);
    gauge("mem.heap_released_bytes", m.heap_released_bytes);
    gauge("mem.gc_pause_usec_100", 0);  // no garbage collector
    gauge("mem.gc_pause_usec_99", 0);
    gauge("mem.gc_pause_usec_95", 0);
    gauge("mem.next_gc_bytes", 0);
    incr("mem.gc_runs", 0);
  }
  // As nsqd, the baseline is the last push: names that disappeared start again from 0.
  last_counters_ = std::move(counters);
  return lines;
}

std::vector<std::string> StatsdPusher::pack(const std::vector<std::string>& lines, std::size_t packet_size) {
  std::vector<std::string> packets;
  std::string current;
  for (const std::string& line : lines) {
    if (!current.empty() && current.size() + line.size() > packet_size) {
      packets.push_back(std::move(current));
      current.clear();
    }
    current += line;
  }
  if (!current.empty()) packets.push_back(std::move(current));
  return packets;
}

void StatsdPusher::send(const std::string& address, const std::string& payload) {
  if (std::string err = nsqd_.datagram_sender()->send_to(address, payload); !err.empty()) {
    nsqd_.log(seam::LogLevel::error, "STATSD: failed to send to statsd(" + address + ") - " + err);
  }
}

void StatsdPusher::tick() {
  timer_ = seam::kNoTimer;
  if (nsqd_.exiting()) return;
  const Options& o = nsqd_.options();
  const std::string address = o.statsd_address;
  nsqd_.log(seam::LogLevel::info, "STATSD: pushing stats to " + address);
  const auto packets =
      pack(collect(), static_cast<std::size_t>(std::max(1, o.statsd_udp_packet_size)));
  // nsqd's SpreadWriter: the first datagram now, the rest evenly over (interval − 1 s).
  const std::int64_t spread = std::max<std::int64_t>(o.statsd_interval - kSecond, 0);
  const std::int64_t step = packets.empty() ? 0 : spread / static_cast<std::int64_t>(packets.size());
  for (seam::TimerId id : sends_) nsqd_.clock().cancel(id);
  sends_.clear();
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (i == 0 || step == 0) {
      send(address, packets[i]);
      continue;
    }
    sends_.push_back(nsqd_.clock().schedule_after(step * static_cast<std::int64_t>(i),
                                                  [this, address, payload = packets[i]] { send(address, payload); }));
  }
  timer_ = nsqd_.clock().schedule_after(std::max<std::int64_t>(o.statsd_interval, kMillisecond), [this] { tick(); });
}

}  // namespace nsq
