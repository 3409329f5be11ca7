#include "engine/auth.h"

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>

#include "engine/go_json.h"
#include "engine/http_v1.h"
#include "engine/lookupd_channels.h"
#include "engine/names.h"
#include "engine/nsqd.h"

namespace nsq {

namespace {

using Json = nlohmann::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string type_error(const Json& v, const std::string& field, const std::string& go_type) {
  std::string kind = v.is_number() ? "number" : v.is_boolean() ? "bool" : v.type_name();
  return "json: cannot unmarshal " + kind + " into Go struct field " + field + " of type " + go_type;
}

// Go decodes null into a string as "leave it alone".
bool get_string(const Json& v, const std::string& field, std::string& out, std::string& error) {
  if (v.is_null()) return true;
  if (!v.is_string()) {
    error = type_error(v, field, "string");
    return false;
  }
  out = v.get<std::string>();
  return true;
}

bool get_strings(const Json& v, const std::string& field, std::vector<std::string>& out, std::string& error) {
  if (v.is_null()) return true;
  if (!v.is_array()) {
    error = type_error(v, field, "[]string");
    return false;
  }
  out.clear();
  for (const Json& item : v) {
    std::string s;
    if (!get_string(item, field, s, error)) return false;
    out.push_back(std::move(s));
  }
  return true;
}

// time.Time's UnmarshalJSON: null or an RFC 3339 string.
bool valid_rfc3339(const std::string& s) {
  static const re2::RE2 re(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))");
  return re2::RE2::FullMatch(s, re);
}

std::shared_ptr<const re2::RE2> compile(const std::string& pattern) {
  re2::RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_shared<re2::RE2>(pattern, opts);
  return re;
}

bool decode_authorization(const Json& v, Authorization& a, std::string& error) {
  if (v.is_null()) return true;
  if (!v.is_object()) {
    error = type_error(v, "State.authorizations", "auth.Authorization");
    return false;
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string k = lower(it.key());
    bool ok = true;
    if (k == "topic") ok = get_string(it.value(), "State.authorizations.topic", a.topic, error);
    else if (k == "channels") ok = get_strings(it.value(), "State.authorizations.channels", a.channels, error);
    else if (k == "permissions") ok = get_strings(it.value(), "State.authorizations.permissions", a.permissions, error);
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool Authorization::is_allowed(const std::string& t, const std::string& channel) const {
  const char* need = channel.empty() ? "publish" : "subscribe";
  if (std::find(permissions.begin(), permissions.end(), need) == permissions.end()) return false;
  if (!topic_re || !re2::RE2::PartialMatch(t, *topic_re)) return false;
  for (const auto& re : channel_res) {
    if (re2::RE2::PartialMatch(channel, *re)) return true;
  }
  return false;
}

bool AuthState::is_allowed(const std::string& topic, const std::string& channel) const {
  for (const Authorization& a : authorizations) {
    if (a.is_allowed(topic, channel)) return true;
  }
  return false;
}

std::optional<AuthState> AuthState::parse(const std::string& body, std::int64_t now_ns, std::string& error) {
  const Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    error = "invalid JSON in auth response";
    return std::nullopt;
  }
  AuthState s;
  if (!j.is_null() && !j.is_object()) {
    error = "json: cannot unmarshal " + std::string(j.is_number() ? "number" : j.type_name()) +
            " into Go value of type auth.State";
    return std::nullopt;
  }
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string k = lower(it.key());
      const Json& v = it.value();
      bool ok = true;
      if (k == "ttl") {
        if (v.is_number_integer()) {
          s.ttl_s = v.get<std::int64_t>();
        } else if (!v.is_null()) {
          error = type_error(v, "State.ttl", "int");
          ok = false;
        }
      } else if (k == "identity") {
        ok = get_string(v, "State.identity", s.identity, error);
      } else if (k == "identity_url") {
        ok = get_string(v, "State.identity_url", s.identity_url, error);
      } else if (k == "expires") {
        // nsqd's State has an untagged Expires time.Time: a key "expires" lands there and must be RFC 3339.
        if (!v.is_null() && !(v.is_string() && valid_rfc3339(v.get<std::string>()))) {
          error = "parsing time " + v.dump() + " as RFC 3339 failed";
          ok = false;
        }
      } else if (k == "authorizations") {
        if (!v.is_null()) {
          if (!v.is_array()) {
            error = type_error(v, "State.authorizations", "[]auth.Authorization");
            ok = false;
          } else {
            s.authorizations.clear();
            for (const Json& item : v) {
              Authorization a;
              if (!decode_authorization(item, a, error)) {
                ok = false;
                break;
              }
              s.authorizations.push_back(std::move(a));
            }
          }
        }
      }
      if (!ok) return std::nullopt;
    }
  }
  for (Authorization& a : s.authorizations) {
    for (const std::string& p : a.permissions) {
      if (p != "subscribe" && p != "publish") {
        error = "unknown permission " + p;
        return std::nullopt;
      }
    }
    a.topic_re = compile(a.topic);
    if (!a.topic_re->ok()) {
      error = "unable to compile topic " + go_quote(a.topic) + " " + a.topic_re->error();
      return std::nullopt;
    }
    for (const std::string& c : a.channels) {
      auto re = compile(c);
      if (!re->ok()) {
        error = "unable to compile channel " + go_quote(c) + " " + re->error();
        return std::nullopt;
      }
      a.channel_res.push_back(std::move(re));
    }
  }
  if (s.ttl_s <= 0) {
    error = "invalid TTL " + std::to_string(s.ttl_s) + " (must be >0)";
    return std::nullopt;
  }
  s.expires_ns = now_ns + s.ttl_s * 1'000'000'000LL;
  return s;
}

std::string AuthQuery::build_request(const std::string& address, const AuthRequest& r, const std::string& method,
                                     seam::HttpRequest& out) {
  // url.Values.Encode: keys sorted.
  const std::string query = "common_name=" + query_escape(r.common_name) + "&remote_ip=" + query_escape(r.remote_ip) +
                            "&secret=" + query_escape(r.secret) + "&tls=" + (r.tls ? "true" : "false");
  std::string host = address;
  std::string path = "/auth";
  bool https = false;
  if (const auto sep = address.find("://"); sep != std::string::npos) {
    const std::string scheme = lower(address.substr(0, sep));
    if (scheme != "http" && scheme != "https") return "unsupported protocol scheme \"" + scheme + "\"";
    https = scheme == "https";
    const std::string rest = address.substr(sep + 3);
    const auto end = rest.find_first_of("/?");
    host = rest.substr(0, end);
    path = end == std::string::npos ? "" : rest.substr(end);
    if (path.empty() || path[0] == '?') path = "/" + path;
    if (host.find(':') == std::string::npos || host.back() == ']') host += https ? ":443" : ":80";
  }
  out = seam::HttpRequest{};
  out.https = https;
  out.host = host;
  out.headers.emplace_back("Accept", "application/vnd.nsq; version=1.0");
  if (method == "post") {
    // Go's json.Marshal(url.Values): keys sorted, every value a one-element array.
    out.method = "POST";
    out.target = path;
    out.body = "{\"common_name\":[" + go_json_string(r.common_name) + "],\"remote_ip\":[" +
               go_json_string(r.remote_ip) + "],\"secret\":[" + go_json_string(r.secret) + "],\"tls\":[\"" +
               (r.tls ? "true" : "false") + "\"]}";
    out.headers.emplace_back("Content-Type", "application/json");
  } else {
    out.method = "GET";
    out.target = path + "?" + query;
  }
  return {};
}

AuthQuery::AuthQuery(NSQD& nsqd, AuthRequest request, DoneFn done)
    : nsqd_(nsqd), request_(std::move(request)), done_(std::move(done)) {
  const auto& addresses = nsqd_.options().auth_http_addresses;
  start_ = addresses.empty() ? 0 : static_cast<std::size_t>(nsqd_.random().uniform(addresses.size()));
  // The first attempt starts after the current handler, so done never runs inside the constructor.
  nsqd_.defer([this, alive = std::weak_ptr<bool>(alive_)] {
    if (!alive.expired()) try_next();
  });
}

AuthQuery::~AuthQuery() {
  *alive_ = false;
  if (pending_ != 0 && nsqd_.http_client() != nullptr) nsqd_.http_client()->cancel(pending_);
}

void AuthQuery::try_next() {
  const auto& addresses = nsqd_.options().auth_http_addresses;
  seam::HttpClient* client = nsqd_.http_client();
  while (tried_ < addresses.size()) {
    const std::string address = addresses[(start_ + tried_) % addresses.size()];
    ++tried_;
    seam::HttpRequest req;
    std::string err = client == nullptr ? "no HTTP client"
                                        : build_request(address, request_, nsqd_.options().auth_http_request_method, req);
    if (!err.empty()) {
      errors_ += (errors_.empty() ? "" : "; ") + ("failed to auth against " + address + " - " + err);
      continue;
    }
    req.connect_timeout_ns = nsqd_.options().http_client_connect_timeout;
    req.request_timeout_ns = nsqd_.options().http_client_request_timeout;
    send(address, std::move(req));
    return;
  }
  DoneFn done = std::move(done_);
  done(std::nullopt, errors_.empty() ? "no auth server" : errors_);  // may destroy this
}

void AuthQuery::send(const std::string& address, seam::HttpRequest req) {
  seam::HttpRequest copy = req;
  pending_ = nsqd_.http_client()->request(std::move(req), [this, address, copy = std::move(copy)](seam::HttpResponse resp) {
    pending_ = 0;
    on_answer(address, copy, std::move(resp));
  });
}

void AuthQuery::on_answer(const std::string& address, const seam::HttpRequest& req, seam::HttpResponse resp) {
  std::string err;
  if (auto again = http_v1_https_retry(req, resp, err)) {
    send(address, std::move(*again));
    return;
  }
  if (err.empty()) err = http_v1_error(resp);
  std::optional<AuthState> state;
  if (err.empty()) state = AuthState::parse(resp.body, nsqd_.clock().now_ns(), err);
  if (state) {
    DoneFn done = std::move(done_);
    done(std::move(state), {});  // may destroy this
    return;
  }
  errors_ += (errors_.empty() ? "" : "; ") + ("failed to auth against " + address + " - " + err);
  try_next();
}

}  // namespace nsq
