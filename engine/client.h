// Client: one TCP connection speaking protocol V2 (nsqd's clientV2 + protocolV2). Parses commands as bytes
// arrive, keeps the connection's state (init, subscribed, closing), RDY window and counters, buffers outgoing
// message frames and flushes them as nsqd does (buffer full, client no longer ready, output-buffer timeout,
// any response), sends heartbeats and drops connections that stop talking or stop reading.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/auth.h"
#include "engine/command_parser.h"
#include "engine/message.h"
#include "engine/seam/clock.h"
#include "engine/seam/network.h"
#include "engine/stats.h"

namespace nsq {

class NSQD;
class Channel;
class Topic;

class Client final : public seam::ConnectionHandler, private CommandHandler {
 public:
  enum State : int { kInit = 0, kSubscribed = 3, kClosing = 4 };

  Client(NSQD& nsqd, std::unique_ptr<seam::Connection> conn, std::uint64_t id);
  ~Client() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void start();
  std::uint64_t id() const { return id_; }
  bool gone() const { return gone_; }

  // Delivery, from the channel.
  bool ready_for_messages() const;
  int delivery_sample_rate() const { return pump_sample_rate_; }
  std::int64_t delivery_msg_timeout() const { return pump_msg_timeout_; }
  void send_message(const Message& msg);
  // One of this client's in-flight messages timed out; call before it is requeued (see client.cpp).
  void timed_out_message();
  void reset_in_flight();
  void flush();
  // Flushes now, or at the end of the current read batch (NSQD::begin_output_batch).
  void flush_soon();
  void flush_batched() {
    flush_queued_ = false;
    flush();
  }
  // The channel is going away: forget it (it no longer exists).
  void detach_channel() { channel_ = nullptr; }
  // Closes the connection from the server side (channel deleted, shutdown).
  void force_close(std::string_view reason);

  // The counters stats() reports, without building the rest of ClientStats (the simulator's checkers read them
  // after every step).
  const std::string& client_id() const { return client_id_; }
  std::int64_t ready_count() const { return ready_count_; }
  std::int64_t in_flight_count() const { return in_flight_count_; }
  std::uint64_t message_count() const { return message_count_; }
  std::uint64_t finish_count() const { return finish_count_; }
  std::uint64_t requeue_count() const { return requeue_count_; }

  ClientStats stats() const;

  // seam::ConnectionHandler
  void on_read(const std::uint8_t* data, std::size_t size) override;
  void on_drained() override;
  void on_closed(std::string_view reason) override;

 private:
  // CommandHandler (protocol_v2.cpp)
  BodyPlan on_line(ParsedCommand& cmd) override;
  bool on_body_size(ParsedCommand& cmd, std::int32_t size) override;
  bool on_mpub_count(ParsedCommand& cmd, std::int32_t count) override;
  bool on_mpub_message_size(ParsedCommand& cmd, std::int32_t index, std::int32_t size) override;
  bool on_command(ParsedCommand& cmd) override;
  void on_line_too_long() override;

  // Commands (protocol_v2.cpp). Each returns false after a fatal error.
  bool cmd_identify(ParsedCommand& cmd);
  bool cmd_auth(ParsedCommand& cmd);
  bool cmd_sub(ParsedCommand& cmd);
  bool cmd_rdy(ParsedCommand& cmd);
  bool cmd_fin(ParsedCommand& cmd);
  bool cmd_req(ParsedCommand& cmd);
  bool cmd_touch(ParsedCommand& cmd);
  bool cmd_cls(ParsedCommand& cmd);
  bool cmd_pub(ParsedCommand& cmd);
  bool cmd_dpub(ParsedCommand& cmd);
  bool cmd_mpub(ParsedCommand& cmd);
  bool check_pub_header(ParsedCommand& cmd);
  std::string identify_apply(const std::string& json_body, bool& feature_negotiation, bool& bad_json);
  // IDENTIFY's upgrades after its JSON answer, in nsqd's order: TLS (then OK over TLS), then snappy or deflate
  // (then OK compressed). Returns false after a fatal error.
  bool upgrade_tls_then_compression(bool snappy, bool deflate, int deflate_level);
  bool upgrade_compression(bool snappy, bool deflate, int deflate_level);

  // AUTH (client_auth.cpp). nsqd's CheckAuth for PUB/MPUB/DPUB/SUB: allowed (go on), refused (a fatal error was
  // sent), or pending: the grant expired and is being asked for again; commands wait, and `then` runs if the new
  // grant allows it.
  enum class AuthCheck { allowed, refused, pending };
  // make_then is called only when the check has to wait (never on the hot path without AUTH).
  AuthCheck check_auth(std::string_view verb, std::string_view topic, std::string_view channel,
                       const std::function<std::function<void()>()>& make_then);
  // PUB, DPUB, SUB: after a re-auth that allows it, the command runs again in full (rerun_later).
  AuthCheck check_auth(std::string_view verb, std::string_view topic, std::string_view channel,
                       const ParsedCommand& cmd, bool (Client::*rerun)(ParsedCommand&)) {
    if (!auth_enabled() || auth_skip_) return AuthCheck::allowed;
    return check_auth(verb, topic, channel, [&] { return rerun_later(cmd, rerun); });
  }
  bool auth_enabled() const;
  // A closure that runs cmd again later (its bytes copied) through fn, past the auth check.
  std::function<void()> rerun_later(const ParsedCommand& cmd, bool (Client::*fn)(ParsedCommand&));
  bool has_authorizations() const { return auth_ && !auth_->authorizations.empty(); }
  // Asks the auth server with the stored secret; commands wait. done(true) once auth_ holds the new grant.
  void query_auth(std::function<void(bool ok)> done);
  void resume_commands();

  // Output (client.cpp)
  void send_response(std::string_view data);
  // Durable mode: the reply to the current command is known only later. Replies and errors after it wait
  // behind it, so a client still sees them in command order; message frames and heartbeats do not wait.
  std::uint64_t hold_reply();
  // Fills a held reply (a response frame, or an error frame if is_error) and sends what is now in order.
  void release_reply(std::uint64_t slot, std::string text, bool is_error);
  // Durable mode: replies OK to a PUB/MPUB/DPUB once the topic has fsynced it, or the command's error.
  void reply_when_durable(Topic& topic, const char* code, const char* verb);
  // Sends an error frame "<code> <desc>"; fatal ones close the connection after it. Returns !fatal.
  bool send_error(std::string_view code, std::string_view desc, bool fatal);
  void published(const std::string& topic, std::uint64_t count);
  void close_now(std::string_view reason);
  void arm_heartbeat();
  void on_heartbeat();
  void arm_read_deadline();
  void on_read_deadline();
  // Heartbeats off: nsqd then never times a connection out, even halfway through a command (slowloris). We
  // close one whose command has been arriving for client_timeout (idle between commands stays allowed).
  bool partial_command() const;
  void arm_partial_deadline();
  void arm_flush_timer();
  void cancel_timers();

  NSQD& nsqd_;
  std::unique_ptr<seam::Connection> conn_;
  const std::uint64_t id_;
  CommandParser parser_;
  bool magic_ok_ = false;
  std::string magic_;
  bool gone_ = false;

  int state_ = kInit;
  Channel* channel_ = nullptr;
  std::string client_id_;
  std::string hostname_;
  std::string user_agent_;
  std::int64_t connect_ts_ = 0;
  bool tls_ = false;
  bool snappy_ = false;
  bool deflate_ = false;
  bool upgrading_ = false;  // TLS handshake under way: the transport owns the socket; no heartbeat, no deadline

  // Settings. As nsqd, only the first IDENTIFY reaches the delivery side (pump_*); later ones change the read
  // deadline and buffer size only.
  std::int64_t heartbeat_interval_;
  std::int64_t output_buffer_size_ = 16 * 1024;
  std::int64_t output_buffer_timeout_;
  int sample_rate_ = 0;
  std::int64_t msg_timeout_;
  bool identified_ = false;
  std::int64_t pump_heartbeat_interval_;
  std::int64_t pump_output_buffer_timeout_;
  int pump_sample_rate_ = 0;
  std::int64_t pump_msg_timeout_;

  std::int64_t ready_count_ = 0;
  std::int64_t in_flight_count_ = 0;
  std::uint64_t message_count_ = 0;
  std::uint64_t finish_count_ = 0;
  std::uint64_t requeue_count_ = 0;
  std::map<std::string, std::uint64_t> pub_counts_;

  // AUTH: the grant, the secret it was asked with, the query in flight.
  std::optional<AuthState> auth_;
  std::string auth_secret_;
  std::shared_ptr<AuthQuery> auth_query_;
  bool auth_skip_ = false;  // a command re-run after a successful re-auth passes the check

  std::string out_;  // buffered frames not yet handed to the connection
  bool flush_queued_ = false;
  struct HeldReply {
    bool ready = false;
    std::string frame;
  };
  std::deque<HeldReply> held_;  // oldest first
  std::uint64_t first_held_ = 0;  // slot number of held_.front()
  std::string close_after_replies_;  // a fatal error is queued behind held replies: close once they are out
  std::function<void()> after_held_;  // an IDENTIFY upgrade waiting for the held replies before its JSON
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  seam::TimerId heartbeat_timer_ = seam::kNoTimer;
  seam::TimerId deadline_timer_ = seam::kNoTimer;
  seam::TimerId flush_timer_ = seam::kNoTimer;
  std::int64_t last_command_ns_ = 0;
  std::int64_t partial_since_ns_ = -1;  // when the command now arriving started (-1: none), heartbeats off only
  bool drained_since_heartbeat_ = true;
};

}  // namespace nsq
