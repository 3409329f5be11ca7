// nsqlookupd registration, nsqd's side (fact sheet §6): one LookupPeer per --lookupd-tcp-address. A peer connects
// lazily, sends the "  V1" magic, IDENTIFY with nsqd's JSON, then REGISTERs every topic (channel-less) or
// channel; afterwards it forwards REGISTER/UNREGISTER events and PINGs every 15 s. Any failure closes it; it
// reconnects with backoff (1 s doubling to 15 s) and replays IDENTIFY and every REGISTER. Commands run one at a
// time, each waiting for lookupd's [int32 size][data] answer (1 s deadline); failed ones are not retried.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/seam/clock.h"
#include "engine/seam/network.h"

namespace nsq {

class NSQD;

class LookupPeer final : public seam::ConnectionHandler {
 public:
  LookupPeer(NSQD& nsqd, std::string address);
  ~LookupPeer() override;
  LookupPeer(const LookupPeer&) = delete;
  LookupPeer& operator=(const LookupPeer&) = delete;

  const std::string& address() const { return address_; }
  bool connected() const { return state_ == State::connected; }
  // Queues "REGISTER t [c]" / "UNREGISTER t [c]" / "PING"; connects first if needed.
  void command(std::string line);
  // lookupd's IDENTIFY answer (its broadcast_address, http_port, ...), "" before the first.
  const std::string& info() const { return info_; }
  // lookupd's HTTP API "host:port" from that answer (broadcast_address, http_port; nsqd's lookupdHTTPAddrs), ""
  // while unknown. Kept across disconnects, as nsqd keeps the peer's info.
  const std::string& http_address() const { return http_address_; }

  // seam::ConnectionHandler
  void on_read(const std::uint8_t* data, std::size_t size) override;
  void on_drained() override {}
  void on_closed(std::string_view reason) override;

 private:
  enum class State { disconnected, connecting, connected };
  void connect();
  void on_dialed(std::unique_ptr<seam::Connection> conn, const std::string& error);
  void send_next();
  void on_response(std::string data);
  void fail(const std::string& why);
  void schedule_reconnect();
  void arm_ping();

  NSQD& nsqd_;
  std::string address_;
  State state_ = State::disconnected;
  std::unique_ptr<seam::Connection> conn_;
  std::deque<std::string> queue_;  // wire bytes of commands not yet answered; front is in flight when awaiting_
  bool awaiting_ = false;
  bool identifying_ = false;
  std::string in_;
  std::string info_;
  std::string http_address_;
  seam::TimerId deadline_timer_ = seam::kNoTimer;
  seam::TimerId reconnect_timer_ = seam::kNoTimer;
  seam::TimerId ping_timer_ = seam::kNoTimer;
  std::int64_t backoff_ns_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// All peers; reconciled with --lookupd-tcp-address / PUT /config/nsqlookupd_tcp_addresses.
class LookupPeers {
 public:
  explicit LookupPeers(NSQD& nsqd);
  ~LookupPeers();
  // Connects to the configured peers and subscribes to the engine's registration events.
  void start();
  void stop();
  // Closes peers no longer listed, adds new ones (nsqd's lookupLoop on an options change).
  void reconcile();
  std::vector<std::string> addresses() const;
  std::vector<std::string> http_addresses() const;

  // The REGISTER lines that announce the whole state (after a (re)connect).
  static std::vector<std::string> full_state(NSQD& nsqd);

 private:
  void broadcast(const std::string& line);

  NSQD& nsqd_;
  std::map<std::string, std::unique_ptr<LookupPeer>> peers_;
  bool started_ = false;
};

}  // namespace nsq
