// Plain snapshots of the engine's counters, as nsqd's /stats reports them (taken on the engine's thread).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/e2e_latency.h"

namespace nsq {

struct ClientStats {
  std::string client_id;
  std::string hostname;
  std::string user_agent;
  std::string remote_address;
  int state = 0;
  std::int64_t ready_count = 0;
  std::int64_t in_flight_count = 0;
  std::uint64_t message_count = 0;
  std::uint64_t finish_count = 0;
  std::uint64_t requeue_count = 0;
  std::int64_t connect_ts = 0;  // unix seconds
  int sample_rate = 0;
  bool deflate = false;
  bool snappy = false;
  bool tls = false;
  std::string tls_cipher_suite;
  std::string tls_version;
  std::string tls_negotiated_protocol;
  bool tls_negotiated_protocol_is_mutual = false;
  bool authed = false;  // AUTH granted at least one authorization
  std::string auth_identity;
  std::string auth_identity_url;
  std::vector<std::pair<std::string, std::uint64_t>> pub_counts;  // every topic published to, sorted
  bool producer = false;                                           // published at least once
};

struct ChannelStats {
  std::string channel_name;
  std::int64_t depth = 0;
  std::int64_t backend_depth = 0;
  std::int64_t in_flight_count = 0;
  std::int64_t deferred_count = 0;
  std::uint64_t message_count = 0;
  std::uint64_t requeue_count = 0;
  std::uint64_t timeout_count = 0;
  std::int64_t client_count = 0;
  std::vector<ClientStats> clients;
  bool paused = false;
  E2eResult e2e_processing_latency;
};

struct TopicStats {
  std::string topic_name;
  std::vector<ChannelStats> channels;  // sorted by name
  std::int64_t depth = 0;
  std::int64_t backend_depth = 0;
  std::uint64_t message_count = 0;
  std::uint64_t message_bytes = 0;
  bool paused = false;
  E2eResult e2e_processing_latency;  // merge of all its channels' streams
};

}  // namespace nsq
