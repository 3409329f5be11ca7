// One swarm run's shape, drawn from its seed (TigerBeetle VOPR style: every seed picks its own workload size,
// consumer behaviour mix, fault kinds and fault rates, so some runs are calm and some are storms).
//
// Every knob is drawn from its own fork of the seed, so fixing one knob on the command line (--clients 5) leaves
// every other knob as the seed drew it. That is what makes shrinking work: the shrunk run is the same seed with
// a few knobs pinned smaller, and its command line replays it exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nsq::sim::swarm {

// Fault kinds, one bit each (for --faults / --no-faults and for the shrinker).
enum Fault : std::uint32_t {
  kFaultReset = 1u << 0,      // connection reset (both ends see "connection reset by peer")
  kFaultStall = 1u << 1,      // one connection stops moving bytes for a while
  kFaultPartition = 1u << 2,  // every connection stalls for a while
  kFaultSlowReader = 1u << 3, // a consumer stops reading for a while (fills nsqd's output)
  kFaultLatency = 1u << 4,    // extra one-way latency bursts
  kFaultSplit = 1u << 5,      // bytes arrive in tiny chunks
  kFaultWallJump = 1u << 6,   // the wall clock steps forward or back
  kFaultRestart = 1u << 7,    // clean nsqd restart: shutdown, close (flush + sync), new NSQD on the same files
  kFaultCrash = 1u << 8,      // nsqd crash / power loss: engine dropped, unsynced file data lost or torn
  kFaultDisk = 1u << 9,       // write errors, ENOSPC, fsync failures for a while
  kFaultLookupd = 1u << 10,   // nsqd registers with a (fake) nsqlookupd, which is partitioned away for a while
  kFaultClockStall = 1u << 11,  // the process stalls: monotonic time jumps, every timer due meanwhile fires late
  kFaultAll = (1u << 12) - 1,
};
inline constexpr int kFaultCount = 12;
const char* fault_name(Fault f);
// "reset,stall" -> mask; false on an unknown name.
bool parse_faults(const std::string& list, std::uint32_t& mask);
std::string faults_string(std::uint32_t mask);

// What the command line pins; everything else comes from the seed.
struct Overrides {
  std::optional<int> clients;
  std::optional<int> topics;
  std::optional<std::int64_t> duration_ms;  // safety phase length
  std::optional<int> messages;              // publish budget (messages, MPUB counts each body)
  std::optional<std::uint32_t> faults;      // exact fault mask
  std::optional<bool> admin;
  std::optional<std::uint64_t> steps;       // cap on engine events (timers) in the safety phase
  std::optional<int> ignore;                // percent of messages consumers let time out
  std::optional<bool> durable;              // --durable on|off
};

struct Config {
  std::uint64_t seed = 0;

  // workload
  int clients = 0;     // publishers + consumers
  int publishers = 0;  // of clients
  int topics = 0;
  int channels_per_topic = 0;
  std::int64_t duration_ms = 0;  // safety phase
  int messages = 0;              // publish budget
  int http_share = 0;            // percent of publishes over HTTP
  int mpub_share = 0;            // percent of TCP publishes that are MPUB
  int dpub_share = 0;            // percent that are deferred
  int ephemeral_share = 0;       // percent of channels that are #ephemeral
  int ephemeral_topic_share = 0; // percent of topics that are #ephemeral

  // consumer behaviour (percent of messages)
  int p_req = 0;
  int p_req_delay = 0;
  int p_touch = 0;
  int p_ignore = 0;  // let it time out
  int p_cls = 0;     // per mille per second: a consumer sends CLS
  int p_disconnect = 0;  // per mille per second: a consumer hangs up mid-stream
  int p_rdy_change = 0;  // per mille per second
  std::int64_t think_max_ms = 0;

  // engine options
  std::int64_t msg_timeout_ms = 0;
  std::int64_t heartbeat_ms = 0;

  // faults
  std::uint32_t faults = 0;
  int fault_rate = 0;  // per mille per 100 ms for each enabled fault kind
  bool admin = false;
  int admin_rate = 0;  // per mille per 100 ms
  std::uint64_t steps = 0;  // 0 = no cap

  // storage (the engine always runs on io_sim::SimFileSystem)
  bool durable = false;            // --durable
  std::int64_t mem_queue_size = 0;
  std::int64_t sync_every = 0;
  std::int64_t sync_timeout_ms = 0;

  // network shape
  std::int64_t max_latency_us = 0;
  int small_chunk_odds = 0;
  int window_bytes = 0;

  // The command line that replays this exact run given the overrides that produced it.
  static std::string replay_args(std::uint64_t seed, const Overrides& o);
  std::string describe() const;
};

Config draw_config(std::uint64_t seed, const Overrides& overrides);

}  // namespace nsq::sim::swarm
