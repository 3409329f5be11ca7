// AUTH on a V2 connection (fact sheet §7.1; nsqd's protocolV2.AUTH / CheckAuth and clientV2.QueryAuthd): the
// AUTH command, the permission checks of PUB/MPUB/DPUB/SUB, and re-asking the auth server once a grant's TTL has
// passed. The auth server is asked through the HttpClient seam; the connection's later commands wait meanwhile
// (nsqd's IOLoop blocks on the same call), so replies stay in command order.
#include <string>

#include "engine/client.h"
#include "engine/go_json.h"
#include "engine/names.h"
#include "engine/nsqd.h"

namespace nsq {

namespace {

// net.SplitHostPort's host of "ip:port" / "[ipv6]:port".
std::string host_of(const std::string& address) {
  const auto colon = address.rfind(':');
  std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

}  // namespace

bool Client::cmd_auth(ParsedCommand& cmd) {
  // The body was read first (nsqd reads it before any of these checks).
  if (has_authorizations()) return send_error("E_INVALID", "AUTH already set", true);
  if (nsqd_.options().auth_http_addresses.empty()) return send_error("E_AUTH_DISABLED", "AUTH disabled", true);
  auth_secret_ = std::string(cmd.body);
  query_auth([this](bool ok) {
    // nsqd does not tell untrusted clients why the auth server failed (it is logged).
    if (!ok) {
      send_error("E_AUTH_FAILED", "AUTH failed", true);
      return;
    }
    if (!has_authorizations()) {
      send_error("E_UNAUTHORIZED", "AUTH no authorizations found", true);
      return;
    }
    send_response("{\"identity\":" + go_json_string(auth_->identity) +
                  ",\"identity_url\":" + go_json_string(auth_->identity_url) +
                  ",\"permission_count\":" + std::to_string(auth_->authorizations.size()) + "}");
    resume_commands();
  });
  return true;
}

void Client::query_auth(std::function<void(bool ok)> done) {
  parser_.pause();
  conn_->set_reading(false);
  AuthRequest req;
  req.remote_ip = host_of(conn_->remote_address());
  req.tls = tls_;
  if (tls_) req.common_name = conn_->tls_state().peer_common_name;  // the client certificate's CN, as nsqd
  req.secret = auth_secret_;
  std::weak_ptr<bool> alive = alive_;
  auth_query_ = std::make_shared<AuthQuery>(
      nsqd_, std::move(req), [this, alive, done = std::move(done)](std::optional<AuthState> state, std::string error) {
        if (alive.expired()) return;
        // The query is on the call stack: release it after this handler.
        auto finished = std::move(auth_query_);
        nsqd_.defer([finished] {});
        if (gone_) return;
        if (!state) {
          nsqd_.log(seam::LogLevel::warn,
                    "PROTOCOL(V2): [" + conn_->remote_address() + "] AUTH failed " + error);
          done(false);
          return;
        }
        auth_ = std::move(*state);
        done(true);
      });
}

void Client::resume_commands() {
  if (gone_ || !close_after_replies_.empty()) return;
  parser_.resume(*this);
  if (!gone_ && close_after_replies_.empty() && !parser_.paused()) conn_->set_reading(true);
}

bool Client::auth_enabled() const { return !nsqd_.options().auth_http_addresses.empty(); }

Client::AuthCheck Client::check_auth(std::string_view verb, std::string_view topic, std::string_view channel,
                                     const std::function<std::function<void()>()>& make_then) {
  if (!auth_enabled()) return AuthCheck::allowed;
  if (auth_skip_) return AuthCheck::allowed;  // re-run after a re-auth that allowed it
  if (!has_authorizations()) {
    send_error("E_AUTH_FIRST", "AUTH required before " + std::string(verb), true);
    return AuthCheck::refused;
  }
  auto verdict = [this, verb = std::string(verb), topic = std::string(topic), channel = std::string(channel)] {
    if (auth_->is_allowed(topic, channel)) return true;
    send_error("E_UNAUTHORIZED", "AUTH failed for " + verb + " on " + go_quote(topic) + " " + go_quote(channel), true);
    return false;
  };
  if (!auth_->expired(nsqd_.clock().now_ns())) return verdict() ? AuthCheck::allowed : AuthCheck::refused;
  query_auth([this, verdict, then = make_then()](bool ok) {
    if (!ok) {
      send_error("E_AUTH_FAILED", "AUTH failed", true);
      return;
    }
    if (!verdict()) return;
    then();
    resume_commands();
  });
  return AuthCheck::pending;
}

std::function<void()> Client::rerun_later(const ParsedCommand& cmd, bool (Client::*fn)(ParsedCommand&)) {
  struct Saved {
    std::vector<std::string> params;
    std::string body;
    std::vector<std::string> messages;
    std::int32_t body_size = 0;
  };
  auto saved = std::make_shared<Saved>();
  for (auto p : cmd.params) saved->params.emplace_back(p);
  saved->body = std::string(cmd.body);
  for (auto m : cmd.messages) saved->messages.emplace_back(m);
  saved->body_size = cmd.body_size;
  return [this, saved, fn] {
    ParsedCommand again;
    for (const auto& p : saved->params) again.params.emplace_back(p);
    again.body = saved->body;
    for (const auto& m : saved->messages) again.messages.emplace_back(m);
    again.body_size = saved->body_size;
    auth_skip_ = true;
    (this->*fn)(again);
    auth_skip_ = false;
  };
}

}  // namespace nsq
