#include "sim/swarm/config.h"

#include <algorithm>

#include "io_sim/prng.h"

namespace nsq::sim::swarm {

namespace {
constexpr const char* kFaultNames[] = {"reset",     "stall",   "partition", "slow-reader", "latency",
                                       "split",     "wall-jump", "restart", "crash",       "disk",
                                       "lookupd",   "clock-stall"};
static_assert(sizeof(kFaultNames) / sizeof(kFaultNames[0]) == kFaultCount);
}

const char* fault_name(Fault f) {
  for (int i = 0; i < kFaultCount; ++i) {
    if (f == (1u << i)) return kFaultNames[i];
  }
  return "?";
}

bool parse_faults(const std::string& list, std::uint32_t& mask) {
  mask = 0;
  if (list == "none" || list.empty()) return true;
  if (list == "all") {
    mask = kFaultAll;
    return true;
  }
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const auto comma = list.find(',', pos);
    const std::string name = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    bool found = false;
    for (int i = 0; i < kFaultCount; ++i) {
      if (name == kFaultNames[i]) {
        mask |= 1u << i;
        found = true;
      }
    }
    if (!found) return false;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return true;
}

std::string faults_string(std::uint32_t mask) {
  if (mask == 0) return "none";
  std::string out;
  for (int i = 0; i < kFaultCount; ++i) {
    if ((mask & (1u << i)) == 0) continue;
    if (!out.empty()) out += ',';
    out += kFaultNames[i];
  }
  return out;
}

Config draw_config(std::uint64_t seed, const Overrides& o) {
  io_sim::Prng root(seed);
  auto knob = [&](const char* name) { return root.fork(std::string("cfg/") + name); };
  Config c;
  c.seed = seed;

  {
    // Swarm sizes: mostly small runs, sometimes up to ~100 clients.
    auto r = knob("clients");
    const auto bucket = r.uniform(10);
    c.clients = bucket < 5 ? static_cast<int>(r.range(3, 10))
                           : bucket < 8 ? static_cast<int>(r.range(10, 30)) : static_cast<int>(r.range(30, 100));
  }
  if (o.clients) c.clients = std::max(2, *o.clients);
  {
    auto r = knob("publishers");
    c.publishers = std::clamp(static_cast<int>(c.clients * r.range(15, 45) / 100), 1, c.clients - 1);
  }
  c.topics = static_cast<int>(knob("topics").range(1, 4));
  if (o.topics) c.topics = std::max(1, *o.topics);
  c.channels_per_topic = static_cast<int>(knob("channels").range(1, 3));
  {
    // Every channel gets at least one consumer (the liveness phase needs someone to drain it).
    const int consumers = c.clients - c.publishers;
    c.topics = std::min(c.topics, consumers);
    c.channels_per_topic = std::clamp(std::min(c.channels_per_topic, consumers / c.topics), 1, 3);
  }
  c.duration_ms = knob("duration").range(3, 15) * 1000;
  if (o.duration_ms) c.duration_ms = std::max<std::int64_t>(100, *o.duration_ms);
  c.messages = static_cast<int>(knob("messages").range(50, 800));
  if (o.messages) c.messages = std::max(1, *o.messages);
  {
    auto r = knob("mix");
    c.http_share = static_cast<int>(r.range(0, 30));
    c.mpub_share = static_cast<int>(r.range(0, 40));
    c.dpub_share = static_cast<int>(r.range(0, 30));
    c.ephemeral_share = r.chance(1, 3) ? static_cast<int>(r.range(10, 50)) : 0;
    c.ephemeral_topic_share = r.chance(1, 5) ? 30 : 0;
  }
  {
    auto r = knob("behaviour");
    c.p_req = static_cast<int>(r.range(0, 15));
    c.p_req_delay = static_cast<int>(r.range(0, 15));
    c.p_touch = static_cast<int>(r.range(0, 10));
    c.p_ignore = static_cast<int>(r.range(0, r.chance(1, 3) ? 30 : 5));  // some seeds are timeout-heavy
    c.p_cls = static_cast<int>(r.range(0, 20));
    c.p_disconnect = static_cast<int>(r.range(0, 40));
    c.p_rdy_change = static_cast<int>(r.range(0, 200));
    c.think_max_ms = r.range(5, 300);
  }
  if (o.ignore) c.p_ignore = std::clamp(*o.ignore, 0, 100);
  {
    auto r = knob("engine");
    c.msg_timeout_ms = r.range(1, 4) * 1000;
    c.heartbeat_ms = r.range(1, 5) * 1000;
  }
  {
    auto r = knob("faults");
    // Each fault kind is on for roughly half the seeds; calm seeds (no fault at all) happen too.
    if (!r.chance(1, 6)) {
      for (int i = 0; i < 7; ++i) {
        if (r.chance(1, 2)) c.faults |= 1u << i;
      }
    }
    c.fault_rate = static_cast<int>(r.range(5, 80));
  }
  {
    // Persistence faults from their own fork, so the network/clock mix above stays what it was for every seed.
    auto r = knob("persistence-faults");
    if (r.chance(1, 2)) c.faults |= kFaultRestart;
    if (r.chance(1, 2)) c.faults |= kFaultCrash;
    if (r.chance(1, 3)) c.faults |= kFaultDisk;
  }
  if (knob("lookupd-fault").chance(1, 2)) c.faults |= kFaultLookupd;
  // Its own fork too (added last), so every other knob of every seed is what it was before it joined the mix.
  if (knob("clock-stall-fault").chance(1, 2)) c.faults |= kFaultClockStall;
  if (o.faults) c.faults = *o.faults;
  {
    auto r = knob("storage");
    c.durable = r.chance(1, 3);
    const auto q = r.uniform(4);
    c.mem_queue_size = q == 0 ? 0 : q == 1 ? r.range(1, 20) : 10000;
    const auto e = r.uniform(3);
    c.sync_every = e == 0 ? 1 : e == 1 ? r.range(2, 50) : 2500;
    c.sync_timeout_ms = r.range(10, 2000);
  }
  if (o.durable) c.durable = *o.durable;
  {
    auto r = knob("admin");
    c.admin = r.chance(1, 2);
    c.admin_rate = static_cast<int>(r.range(5, 60));
  }
  if (o.admin) c.admin = *o.admin;
  {
    auto r = knob("network");
    c.max_latency_us = r.range(50, 5000);
    c.small_chunk_odds = (c.faults & kFaultSplit) ? 1 : static_cast<int>(r.range(2, 20));
    c.window_bytes = (c.faults & kFaultSlowReader) ? static_cast<int>(r.range(2, 16)) * 1024 : 256 * 1024;
  }
  if (o.steps) c.steps = *o.steps;
  return c;
}

std::string Config::replay_args(std::uint64_t seed, const Overrides& o) {
  std::string s = "--seed " + std::to_string(seed);
  if (o.clients) s += " --clients " + std::to_string(*o.clients);
  if (o.topics) s += " --topics " + std::to_string(*o.topics);
  if (o.duration_ms) s += " --duration " + std::to_string(*o.duration_ms) + "ms";
  if (o.messages) s += " --messages " + std::to_string(*o.messages);
  if (o.faults) s += " --faults " + faults_string(*o.faults);
  if (o.admin) s += std::string(" --admin ") + (*o.admin ? "on" : "off");
  if (o.steps) s += " --steps " + std::to_string(*o.steps);
  if (o.ignore) s += " --ignore " + std::to_string(*o.ignore);
  if (o.durable) s += std::string(" --durable ") + (*o.durable ? "on" : "off");
  return s;
}

std::string Config::describe() const {
  return "clients=" + std::to_string(clients) + " (pub " + std::to_string(publishers) + ") topics=" +
         std::to_string(topics) + "x" + std::to_string(channels_per_topic) + " duration=" +
         std::to_string(duration_ms) + "ms messages=" + std::to_string(messages) + " msg_timeout=" +
         std::to_string(msg_timeout_ms) + "ms faults=" + faults_string(faults) + "@" + std::to_string(fault_rate) +
         " admin=" + (admin ? "on@" + std::to_string(admin_rate) : std::string("off")) + " ignore=" +
         std::to_string(p_ignore) + "% req=" + std::to_string(p_req) + "+" + std::to_string(p_req_delay) + "%" + (durable ? " durable" : "") +
         " mem_queue=" + std::to_string(mem_queue_size) + " sync_every=" + std::to_string(sync_every) +
         " sync_timeout=" + std::to_string(sync_timeout_ms) + "ms";
}

}  // namespace nsq::sim::swarm
