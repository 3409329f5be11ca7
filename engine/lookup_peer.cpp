#include "engine/lookup_peer.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "engine/channel.h"
#include "engine/nsqd.h"
#include "engine/options.h"
#include "engine/topic.h"
#include "engine/wire.h"

namespace nsq {

namespace {
constexpr std::int64_t kDialTimeout = 1 * kSecond;
constexpr std::int64_t kCommandTimeout = 1 * kSecond;
constexpr std::int64_t kPingInterval = 15 * kSecond;
constexpr std::int64_t kMinBackoff = 1 * kSecond;
constexpr std::int64_t kMaxBackoff = 15 * kSecond;

std::string be32(std::uint32_t v) {
  std::string out(4, '\0');
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
  return out;
}
}  // namespace

LookupPeer::LookupPeer(NSQD& nsqd, std::string address) : nsqd_(nsqd), address_(std::move(address)) {}

LookupPeer::~LookupPeer() {
  *alive_ = false;
  for (seam::TimerId t : {deadline_timer_, reconnect_timer_, ping_timer_}) nsqd_.clock().cancel(t);
  if (conn_) conn_->close();
}

void LookupPeer::command(std::string line) {
  queue_.push_back(std::move(line) + "\n");
  if (state_ == State::disconnected && reconnect_timer_ == seam::kNoTimer) {
    connect();
  } else {
    send_next();
  }
}

void LookupPeer::connect() {
  seam::Dialer* dialer = nsqd_.dialer();
  if (dialer == nullptr) return;
  state_ = State::connecting;
  nsqd_.log(seam::LogLevel::info, "LOOKUP connecting to " + address_);
  std::weak_ptr<bool> alive = alive_;
  dialer->dial(address_, kDialTimeout, [this, alive](std::unique_ptr<seam::Connection> conn, std::string error) {
    if (alive.expired()) {
      if (conn) conn->close();
      return;
    }
    on_dialed(std::move(conn), error);
  });
}

void LookupPeer::on_dialed(std::unique_ptr<seam::Connection> conn, const std::string& error) {
  if (!conn) {
    fail(error.empty() ? "dial failed" : error);
    return;
  }
  conn_ = std::move(conn);
  conn_->start(this);
  state_ = State::connected;
  backoff_ns_ = 0;
  in_.clear();
  conn_->write(std::string("  V1"));
  // nsqd's connectCallback: IDENTIFY first, then the whole state; queued event commands follow.
  const Options& o = nsqd_.options();
  nlohmann::json identify;  // keys sorted, as Go's map encoding
  identify["version"] = kVersion;
  identify["tcp_port"] = o.broadcast_tcp_port != 0 ? o.broadcast_tcp_port : nsqd_.tcp_port();
  identify["http_port"] = o.broadcast_http_port != 0 ? o.broadcast_http_port : nsqd_.http_port();
  identify["hostname"] = o.hostname;
  identify["broadcast_address"] = o.broadcast_address;
  const std::string body = identify.dump();
  std::deque<std::string> replay;
  replay.push_back("IDENTIFY\n" + be32(static_cast<std::uint32_t>(body.size())) + body);
  for (std::string& line : LookupPeers::full_state(nsqd_)) replay.push_back(line + "\n");
  // Commands queued while disconnected describe events already covered by the full state; drop them, except
  // that nothing is lost by keeping a PING.
  queue_ = std::move(replay);
  identifying_ = true;
  awaiting_ = false;
  arm_ping();
  send_next();
}

void LookupPeer::send_next() {
  if (state_ != State::connected || awaiting_ || queue_.empty()) return;
  awaiting_ = true;
  conn_->write(std::string(queue_.front()));
  std::weak_ptr<bool> alive = alive_;
  deadline_timer_ = nsqd_.clock().schedule_after(kCommandTimeout, [this, alive] {
    if (alive.expired()) return;
    deadline_timer_ = seam::kNoTimer;
    fail("i/o timeout");
  });
}

void LookupPeer::on_read(const std::uint8_t* data, std::size_t size) {
  in_.append(reinterpret_cast<const char*>(data), size);
  while (in_.size() >= 4) {
    const std::uint32_t len = wire::read_u32(in_.data());
    if (len > static_cast<std::uint64_t>(nsqd_.options().max_body_size)) {
      fail("response too big");
      return;
    }
    if (in_.size() < 4 + static_cast<std::size_t>(len)) return;
    std::string payload = in_.substr(4, len);
    in_.erase(0, 4 + len);
    on_response(std::move(payload));
    if (state_ != State::connected) return;
  }
}

void LookupPeer::on_response(std::string data) {
  if (!awaiting_) {
    fail("unexpected response");
    return;
  }
  nsqd_.clock().cancel(deadline_timer_);
  deadline_timer_ = seam::kNoTimer;
  awaiting_ = false;
  queue_.pop_front();
  if (identifying_) {
    identifying_ = false;
    if (data == "E_INVALID") {
      nsqd_.log(seam::LogLevel::info, "LOOKUPD(" + address_ + "): lookupd returned E_INVALID");
      fail("E_INVALID");
      return;
    }
    // Go's json.Unmarshal into peerInfo: a bad answer closes the connection.
    const auto j = nlohmann::json::parse(data, nullptr, false);
    if (j.is_discarded() || !(j.is_object() || j.is_null())) {
      nsqd_.log(seam::LogLevel::error, "LOOKUPD(" + address_ + "): parsing response - " + data);
      fail("bad IDENTIFY response");
      return;
    }
    info_ = std::move(data);
    nsqd_.log(seam::LogLevel::info, "LOOKUPD(" + address_ + "): peer info " + info_);
    std::string host;
    std::int64_t port = 0;
    if (j.is_object()) {
      if (auto it = j.find("broadcast_address"); it != j.end() && it->is_string()) host = it->get<std::string>();
      if (auto it = j.find("http_port"); it != j.end() && it->is_number_integer()) port = it->get<std::int64_t>();
    }
    if (host.empty()) {
      nsqd_.log(seam::LogLevel::error, "LOOKUPD(" + address_ + "): no broadcast address");
    } else {
      // net.JoinHostPort: an IPv6 host goes in brackets.
      http_address_ = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
    }
  }
  send_next();
}

void LookupPeer::on_closed(std::string_view reason) { fail("connection closed: " + std::string(reason)); }

void LookupPeer::fail(const std::string& why) {
  nsqd_.log(seam::LogLevel::error, "LOOKUPD(" + address_ + "): " + why);
  nsqd_.clock().cancel(deadline_timer_);
  deadline_timer_ = seam::kNoTimer;
  nsqd_.clock().cancel(ping_timer_);
  ping_timer_ = seam::kNoTimer;
  if (conn_) {
    conn_->close();
    // Destroying the connection inside its own callback is allowed by the seam.
    conn_.reset();
  }
  state_ = State::disconnected;
  awaiting_ = false;
  identifying_ = false;
  queue_.clear();  // failed commands are not retried; the reconnect replays the whole state
  schedule_reconnect();
}

void LookupPeer::schedule_reconnect() {
  if (nsqd_.exiting() || reconnect_timer_ != seam::kNoTimer) return;
  backoff_ns_ = backoff_ns_ == 0 ? kMinBackoff : std::min(backoff_ns_ * 2, kMaxBackoff);
  std::weak_ptr<bool> alive = alive_;
  reconnect_timer_ = nsqd_.clock().schedule_after(backoff_ns_, [this, alive] {
    if (alive.expired()) return;
    reconnect_timer_ = seam::kNoTimer;
    if (state_ == State::disconnected && !nsqd_.exiting()) connect();
  });
}

void LookupPeer::arm_ping() {
  nsqd_.clock().cancel(ping_timer_);
  std::weak_ptr<bool> alive = alive_;
  ping_timer_ = nsqd_.clock().schedule_after(kPingInterval, [this, alive] {
    if (alive.expired()) return;
    ping_timer_ = seam::kNoTimer;
    if (state_ != State::connected) return;
    command("PING");
    arm_ping();
  });
}

// ---- LookupPeers ----

LookupPeers::LookupPeers(NSQD& nsqd) : nsqd_(nsqd) {}

LookupPeers::~LookupPeers() { stop(); }

void LookupPeers::start() {
  started_ = true;
  nsqd_.on_registration = [this](bool add, const std::string& topic, const std::string& channel) {
    std::string line = add ? "REGISTER " : "UNREGISTER ";
    line += topic;
    if (!channel.empty()) line += " " + channel;
    broadcast(line);
  };
  nsqd_.on_lookupd_addresses_changed = [this] { reconcile(); };
  nsqd_.lookupd_http_addresses = [this] { return http_addresses(); };
  reconcile();
}

void LookupPeers::stop() {
  if (!started_) return;
  started_ = false;
  nsqd_.on_registration = nullptr;
  nsqd_.on_lookupd_addresses_changed = nullptr;
  nsqd_.lookupd_http_addresses = nullptr;
  peers_.clear();
}

void LookupPeers::reconcile() {
  const std::vector<std::string>& wanted = nsqd_.options().lookupd_tcp_addresses;
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (std::find(wanted.begin(), wanted.end(), it->first) == wanted.end()) {
      nsqd_.log(seam::LogLevel::info, "LOOKUP removing peer " + it->first);
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
  for (const std::string& address : wanted) {
    if (peers_.count(address) != 0) continue;
    nsqd_.log(seam::LogLevel::info, "LOOKUP(" + address + "): adding peer");
    auto peer = std::make_unique<LookupPeer>(nsqd_, address);
    LookupPeer* raw = peer.get();
    peers_.emplace(address, std::move(peer));
    raw->command("PING");  // connects now (the connect replays IDENTIFY and every REGISTER)
  }
}

std::vector<std::string> LookupPeers::addresses() const {
  std::vector<std::string> out;
  for (const auto& [address, peer] : peers_) out.push_back(address);
  return out;
}

std::vector<std::string> LookupPeers::http_addresses() const {
  // In --lookupd-tcp-address order, as nsqd's peer list.
  std::vector<std::string> out;
  for (const std::string& address : nsqd_.options().lookupd_tcp_addresses) {
    auto it = peers_.find(address);
    if (it != peers_.end() && !it->second->http_address().empty()) out.push_back(it->second->http_address());
  }
  return out;
}

void LookupPeers::broadcast(const std::string& line) {
  for (auto& [address, peer] : peers_) peer->command(line);
}

std::vector<std::string> LookupPeers::full_state(NSQD& nsqd) {
  std::vector<std::string> lines;
  for (const TopicStats& t : nsqd.stats({}, {}, false)) {
    if (t.channels.empty()) {
      lines.push_back("REGISTER " + t.topic_name);
    } else {
      for (const ChannelStats& c : t.channels) lines.push_back("REGISTER " + t.topic_name + " " + c.channel_name);
    }
  }
  return lines;
}

}  // namespace nsq
