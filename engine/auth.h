// AUTH (fact sheet §7.1, nsqd's internal/auth): what an auth server granted a connection, and the query that asks
// for it. The answer is decoded as Go's encoding/json decodes it into nsqd's auth.State (field names matched
// case-insensitively, wrong types rejected) and validated as nsqd does (known permissions, regexes that compile,
// ttl > 0). Topic and channel patterns are RE2 (Go's regexp syntax), matched unanchored.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/seam/http_client.h"

namespace re2 {
class RE2;
}

namespace nsq {

class NSQD;

struct Authorization {
  std::string topic;
  std::vector<std::string> channels;
  std::vector<std::string> permissions;
  std::shared_ptr<const re2::RE2> topic_re;
  std::vector<std::shared_ptr<const re2::RE2>> channel_res;
  // nsqd's Authorization.IsAllowed: a non-empty channel needs "subscribe", an empty one (publishing) "publish";
  // then the topic pattern and one of the channel patterns must match (so a publish grant needs a channel
  // pattern matching "").
  bool is_allowed(const std::string& topic, const std::string& channel) const;
};

struct AuthState {
  std::int64_t ttl_s = 0;
  std::string identity;
  std::string identity_url;
  std::vector<Authorization> authorizations;
  std::int64_t expires_ns = 0;  // monotonic deadline: now + ttl when the answer arrived

  bool is_allowed(const std::string& topic, const std::string& channel) const;
  bool expired(std::int64_t now_ns) const { return expires_ns < now_ns; }

  // Decodes and validates an auth server's 200 body. Returns nullopt with error set (nsqd's wording) otherwise.
  static std::optional<AuthState> parse(const std::string& body, std::int64_t now_ns, std::string& error);
};

// The client facts sent to the auth server.
struct AuthRequest {
  std::string remote_ip;
  bool tls = false;
  std::string common_name;
  std::string secret;
};

// nsqd's QueryAnyAuthd: tries the --auth-http-address entries in turn, starting at a random one, until one gives a
// valid answer. done(state, "") or done(nullopt, joined errors) runs once, later; destroying the query first
// cancels it.
class AuthQuery {
 public:
  using DoneFn = std::function<void(std::optional<AuthState>, std::string error)>;
  AuthQuery(NSQD& nsqd, AuthRequest request, DoneFn done);
  ~AuthQuery();
  AuthQuery(const AuthQuery&) = delete;
  AuthQuery& operator=(const AuthQuery&) = delete;

  // The HTTP request for one auth address ("host:port", or a URL when it contains "://"); "" or an error.
  static std::string build_request(const std::string& address, const AuthRequest& r, const std::string& method,
                                   seam::HttpRequest& out);

 private:
  void try_next();
  void send(const std::string& address, seam::HttpRequest req);
  void on_answer(const std::string& address, const seam::HttpRequest& req, seam::HttpResponse resp);

  NSQD& nsqd_;
  AuthRequest request_;
  DoneFn done_;
  std::size_t start_ = 0;
  std::size_t tried_ = 0;
  std::string errors_;
  seam::HttpClient::RequestId pending_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace nsq
