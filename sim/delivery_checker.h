// Judges what consumers saw against nsqd's delivery contract, from the clients' side only (no engine
// internals), so it holds for any correct broker. Every rule is conservative: it flags a violation only when
// the observation cannot be explained by network latency, output buffering or unknown processing order.
//
// Rules checked as events arrive:
//  - every delivered body was published; its ID and timestamp never change (across channels and redeliveries)
//  - first delivery on a channel has attempts 1; each later one has attempts+1 (only "greater" if a consumer
//    connection of that channel closed meanwhile: a delivery in transit to it dies unseen and counts)
//  - a deferred message (DPUB, REQ with timeout) is not received before its due time
//  - RDY is a window: a connection never receives a message while it certainly already had RDY in flight
//  - a message is never delivered while it is certainly still in flight to another connection
// and at the end (finish): every acknowledged publish was FINished on every channel, no message was delivered
// again after a successful FIN, every publish was acknowledged.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sim/wire.h"

namespace nsq::sim {

// One topic per checker (IDs are unique only per topic).
class DeliveryChecker {
 public:
  struct Limits {
    std::int64_t msg_timeout_ns = 0;
    // Upper bound between nsqd putting a message in flight and the client receiving it (output buffer
    // timeout + network latency, with margin).
    std::int64_t max_delivery_latency_ns = 0;
    // Upper bound between a client sending a command and nsqd having processed it (and its error, if any,
    // reaching the client).
    std::int64_t max_command_latency_ns = 0;
    std::int64_t wall_minus_monotonic_ns = 0;  // to check message timestamps against virtual time
  };

  explicit DeliveryChecker(Limits limits) : limits_(limits) {}

  void add_channel(const std::string& channel) { channels_[channel]; }

  void publish_sent(const std::string& body, std::int64_t now, std::int64_t delay_ns);
  void publish_acked(const std::string& body, bool ok, std::string_view text);

  // conn: a unique name per connection (e.g. "b2#1" for consumer b2's first connection).
  void connection_opened(const std::string& conn, const std::string& channel);
  void connection_closed(const std::string& conn, std::int64_t now);
  void rdy_sent(const std::string& conn, std::int64_t count, std::int64_t now);
  void delivered(const std::string& conn, const wire::Message& m, std::int64_t now);
  void fin_sent(const std::string& conn, const std::string& id, std::int64_t now);
  void req_sent(const std::string& conn, const std::string& id, std::int64_t delay_ns, std::int64_t now);
  void soft_error(const std::string& conn, std::string_view text, std::int64_t now);

  // True once every acknowledged publish has a FIN on every channel (outcome may still be pending).
  bool all_finished_sent() const;
  // Final verdict rules; call once at the end.
  void finish(std::int64_t now);

  const std::vector<std::string>& failures() const { return failures_; }
  std::uint64_t deliveries() const { return deliveries_; }
  std::uint64_t redeliveries() const { return redeliveries_; }
  std::size_t published() const { return published_.size(); }

 private:
  struct Publish {
    std::int64_t sent_at = 0;
    std::int64_t delay_ns = 0;
    bool acked = false;
    std::string id;  // learnt from the first delivery
    std::int64_t timestamp_ns = 0;
  };
  struct Fin {
    std::string conn;
    std::int64_t at = 0;
    bool failed = false;
  };
  struct Copy {  // one message on one channel
    std::uint16_t last_attempts = 0;
    std::int64_t last_seen = 0;    // publish sent, or latest delivery received
    std::int64_t not_before = 0;
    std::string holder;            // connection of the latest delivery, "" when resolved by its client
    std::int64_t held_since = 0;
    std::vector<std::int64_t> delivered_at;
    std::vector<Fin> fins;
  };
  struct Channel {
    std::vector<std::int64_t> closes;  // when consumer connections of this channel closed
    std::map<std::string, Copy> copies;  // by body
  };
  struct Unresolved {
    std::string body;
    std::int64_t received_at = 0;
  };
  struct Conn {
    std::string channel;
    bool open = true;
    std::int64_t closed_at = 0;
    std::vector<std::pair<std::int64_t, std::int64_t>> rdys;  // (sent at, count)
    std::map<std::string, Unresolved> in_flight;            // by ID: received, not yet FIN/REQ'd
  };

  void fail(std::string what);
  std::int64_t rdy_bound(const Conn& c, std::int64_t now) const;
  void resolve(Conn& c, const std::string& conn, const std::string& id);
  bool certainly_in_flight(std::int64_t received_at, std::int64_t now) const;
  bool delivery_may_be_lost(const Channel& ch, std::int64_t since) const;

  Limits limits_;
  std::map<std::string, Publish> published_;
  std::map<std::string, std::string> body_by_id_;
  std::map<std::string, Channel> channels_;
  std::map<std::string, Conn> conns_;
  std::vector<std::string> failures_;
  std::uint64_t deliveries_ = 0;
  std::uint64_t redeliveries_ = 0;
};

}  // namespace nsq::sim
