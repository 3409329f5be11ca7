// nsqd's HTTP API (v1.3.0 semantics): routing, the "V1" response conventions and the publish endpoints.
// Routes live in one table; an endpoint is a function from (NSQD, request) to a response.
#include "engine/http_api.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <exception>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "engine/http_endpoints.h"
#include "engine/http_query.h"
#include "engine/names.h"
#include "engine/nsqd.h"
#include "engine/options.h"
#include "engine/wire.h"

namespace nsq {

namespace http {

HttpResponse v1_text(std::string text) {
  if (text.empty()) return v1_empty();
  // Go sniffs the Content-Type of a text answer: "OK" → text/plain.
  return HttpResponse{200, {{"Content-Type", kTextPlain}, {kNsqContentType, kNsqContentTypeValue}}, std::move(text)};
}

HttpResponse v1_empty() { return HttpResponse{200, {{kNsqContentType, kNsqContentTypeValue}}, {}}; }

HttpResponse v1_json(const nlohmann::ordered_json& value) {
  return HttpResponse{200, {{"Content-Type", kJson}, {kNsqContentType, kNsqContentTypeValue}}, value.dump()};
}

HttpResponse v1_error(int status, std::string_view message) {
  nlohmann::ordered_json body;
  body["message"] = message;
  return HttpResponse{status, {{"Content-Type", kJson}, {kNsqContentType, kNsqContentTypeValue}}, body.dump()};
}

HttpResponse plain_text(int status, std::string text) {
  return HttpResponse{status, {{"Content-Type", kTextPlain}}, std::move(text)};
}

std::optional<std::int64_t> parse_int64(std::string_view s) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') return std::nullopt;  // "+-1"
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace http

namespace {

using namespace http;

// ---- shared parameter handling ----

// The query's "topic", validated as nsqd's getTopicFromQuery does; on failure `error` holds the answer.
struct TopicParam {
  std::optional<QueryParams> params;
  std::string topic;
  std::optional<HttpResponse> error;
};

TopicParam topic_from_query(const HttpRequest& req) {
  TopicParam out;
  out.params = QueryParams::parse(req.query);
  if (!out.params) {
    out.error = v1_error(400, "INVALID_REQUEST");
    return out;
  }
  const std::string* topic = out.params->first("topic");
  if (topic == nullptr) {
    out.error = v1_error(400, "MISSING_ARG_TOPIC");
  } else if (!is_valid_topic_name(*topic)) {
    out.error = v1_error(400, "INVALID_TOPIC");
  } else {
    out.topic = *topic;
  }
  return out;
}

// Publishing failed after validation: nsqd answers every PutMessage(s) error (exiting, disk write) the same.
HttpResponse publish_error() { return v1_error(503, "EXITING"); }

// Go's GetTopic happens before the body or `defer` is validated, so even a rejected request creates the
// topic. While exiting we answer EXITING instead of creating topics the shutdown would never flush.
bool create_topic(NSQD& nsqd, const std::string& topic) {
  if (nsqd.exiting()) return false;
  nsqd.get_topic(topic);
  return true;
}

// ---- endpoints ----

HttpResponse do_ping(NSQD& nsqd, const HttpRequest&) {
  if (!nsqd.healthy()) return plain_text(500, nsqd.health());
  return plain_text(200, "OK");
}

HttpResponse do_info(NSQD& nsqd, const HttpRequest&) {
  const Options& opts = nsqd.options();
  nlohmann::ordered_json info;
  info["version"] = kVersion;
  info["broadcast_address"] = opts.broadcast_address.empty() ? opts.hostname : opts.broadcast_address;
  info["hostname"] = opts.hostname;
  info["http_port"] = nsqd.http_port();
  info["tcp_port"] = nsqd.tcp_port();
  info["start_time"] = nsqd.start_time_s();
  info["max_heartbeat_interval"] = opts.max_heartbeat_interval;
  info["max_output_buffer_size"] = opts.max_output_buffer_size;
  info["max_output_buffer_timeout"] = opts.max_output_buffer_timeout;
  info["max_deflate_level"] = opts.max_deflate_level;
  return v1_json(info);
}

// Order as nsqd's doPUB: size → body → topic → defer → put.
HttpResponse do_pub(NSQD& nsqd, const HttpRequest& req) {
  const Options& opts = nsqd.options();
  const auto max_msg = static_cast<std::uint64_t>(opts.max_msg_size);
  if (req.content_length && *req.content_length > max_msg) return v1_error(413, "MSG_TOO_BIG");
  if (req.body_too_large || req.body.size() > max_msg) return v1_error(413, "MSG_TOO_BIG");
  if (req.body.empty()) return v1_error(400, "MSG_EMPTY");

  TopicParam topic = topic_from_query(req);
  if (topic.error) return *topic.error;
  if (!create_topic(nsqd, topic.topic)) return publish_error();

  std::int64_t defer_ns = 0;
  if (const std::string* defer = topic.params->first("defer")) {
    const auto ms = parse_int64(*defer);
    // Compared in ms so a huge value cannot overflow the ns conversion.
    if (!ms || *ms < 0 || *ms > opts.max_req_timeout / kMillisecond) return v1_error(400, "INVALID_DEFER");
    defer_ns = *ms * kMillisecond;
  }

  const std::string_view body = req.body;
  if (!nsqd.publish(topic.topic, std::span<const std::string_view>(&body, 1), defer_ns).empty()) {
    return publish_error();
  }
  return v1_text("OK");
}

// Binary /mpub body: [int32 count]([int32 size][bytes])*count, validated as TCP MPUB (readMPUB); the answer
// is the TCP error code without "E_". Bytes after the last message are ignored.
std::optional<std::string_view> parse_binary_mpub(std::string_view body, const Options& opts,
                                                  std::vector<std::string_view>& out) {
  auto read_len = [&body](std::int32_t& value) {
    if (body.size() < 4) return false;
    value = static_cast<std::int32_t>(wire::read_u32(body.data()));
    body.remove_prefix(4);
    return true;
  };
  std::int32_t count = 0;
  if (!read_len(count)) return "BAD_BODY";
  const std::int64_t max_messages = (opts.max_body_size - 4) / 5;  // 4 = count, 5 = size + at least 1 byte
  if (count <= 0 || count > max_messages) return "BAD_BODY";
  out.reserve(static_cast<std::size_t>(count));
  for (std::int32_t i = 0; i < count; ++i) {
    std::int32_t size = 0;
    if (!read_len(size)) return "BAD_MESSAGE";
    if (size <= 0 || size > opts.max_msg_size) return "BAD_MESSAGE";
    if (body.size() < static_cast<std::size_t>(size)) return "BAD_MESSAGE";
    out.push_back(body.substr(0, static_cast<std::size_t>(size)));
    body.remove_prefix(static_cast<std::size_t>(size));
  }
  return std::nullopt;
}

// Text /mpub body: one message per '\n'-terminated line; '\r' is kept, empty lines are skipped. A body cut
// off at the size limit still has its complete lines checked first, as nsqd reads line by line.
std::optional<std::string_view> parse_text_mpub(std::string_view body, bool truncated, const Options& opts,
                                                std::vector<std::string_view>& out) {
  while (!body.empty()) {
    const auto newline = body.find('\n');
    if (newline == std::string_view::npos && truncated) break;  // the line the limit cut through
    const std::string_view line = body.substr(0, newline);
    body = newline == std::string_view::npos ? std::string_view{} : body.substr(newline + 1);
    if (line.empty()) continue;
    if (static_cast<std::int64_t>(line.size()) > opts.max_msg_size) return "MSG_TOO_BIG";
    out.push_back(line);
  }
  if (truncated) return "BODY_TOO_BIG";
  return std::nullopt;
}

bool binary_mode(const QueryParams& params) {
  const std::string* binary = params.first("binary");
  return binary != nullptr && *binary != "false" && *binary != "0";
}

// Order as nsqd's doMPUB: declared size → topic (created) → body → put.
HttpResponse do_mpub(NSQD& nsqd, const HttpRequest& req) {
  const Options& opts = nsqd.options();
  const auto max_body = static_cast<std::uint64_t>(opts.max_body_size);
  if (req.content_length && *req.content_length > max_body) return v1_error(413, "BODY_TOO_BIG");

  TopicParam topic = topic_from_query(req);
  if (topic.error) return *topic.error;
  if (!create_topic(nsqd, topic.topic)) return publish_error();

  std::vector<std::string_view> bodies;
  const bool truncated = req.body_too_large || req.body.size() > max_body;
  if (binary_mode(*topic.params)) {
    if (truncated) return v1_error(413, "BODY_TOO_BIG");
    if (auto error = parse_binary_mpub(req.body, opts, bodies)) return v1_error(413, *error);
  } else {
    if (auto error = parse_text_mpub(req.body, truncated, opts, bodies)) return v1_error(413, *error);
  }

  if (!bodies.empty() && !nsqd.publish(topic.topic, bodies, 0).empty()) return publish_error();
  return v1_text("OK");
}

// ---- routing (julienschmidt/httprouter as nsqd configures it) ----

using Endpoint = HttpResponse (*)(NSQD&, const HttpRequest&);

struct Route {
  std::string_view method;
  std::string_view path;  // a trailing ":name" segment matches one non-empty path segment
  Endpoint endpoint;
};

// Adding an endpoint is one line here. nsqd v1.3.0's routes, plus GET /metrics (nsqd-cpp's addition).
constexpr Route kRoutes[] = {
    {"GET", "/ping", do_ping},
    {"GET", "/info", do_info},
    {"POST", "/pub", do_pub},
    {"POST", "/mpub", do_mpub},
    {"GET", "/stats", do_stats},
    {"POST", "/topic/create", do_topic_create},
    {"POST", "/topic/delete", do_topic_delete},
    {"POST", "/topic/empty", do_topic_empty},
    {"POST", "/topic/pause", do_topic_pause},
    {"POST", "/topic/unpause", do_topic_unpause},
    {"POST", "/channel/create", do_channel_create},
    {"POST", "/channel/delete", do_channel_delete},
    {"POST", "/channel/empty", do_channel_empty},
    {"POST", "/channel/pause", do_channel_pause},
    {"POST", "/channel/unpause", do_channel_unpause},
    {"GET", "/config/:opt", do_config},
    {"PUT", "/config/:opt", do_config},
    {"GET", "/debug/pprof/", do_debug_go_runtime},
    {"GET", "/debug/pprof/cmdline", do_debug_go_runtime},
    {"GET", "/debug/pprof/symbol", do_debug_go_runtime},
    {"POST", "/debug/pprof/symbol", do_debug_go_runtime},
    {"GET", "/debug/pprof/profile", do_debug_go_runtime},
    {"GET", "/debug/pprof/heap", do_debug_go_runtime},
    {"GET", "/debug/pprof/goroutine", do_debug_go_runtime},
    {"GET", "/debug/pprof/block", do_debug_go_runtime},
    {"GET", "/debug/pprof/threadcreate", do_debug_go_runtime},
    {"PUT", "/debug/setblockrate", do_debug_setblockrate},
    {"POST", "/debug/freememory", do_debug_freememory},
    {"GET", "/metrics", do_metrics},
};

bool path_matches(std::string_view pattern, std::string_view path) {
  const auto colon = pattern.find(':');
  if (colon == std::string_view::npos) return pattern == path;
  const std::string_view prefix = pattern.substr(0, colon);
  if (!path.starts_with(prefix)) return false;
  const std::string_view rest = path.substr(prefix.size());
  return !rest.empty() && rest.find('/') == std::string_view::npos;
}

bool has_route(std::string_view method, std::string_view path) {
  for (const Route& route : kRoutes) {
    if (route.method == method && path_matches(route.path, path)) return true;
  }
  return false;
}

// httprouter's Allow header: the other methods registered for the path plus OPTIONS, sorted.
std::string allowed_methods(std::string_view path, std::string_view except) {
  std::vector<std::string_view> methods;
  for (const Route& route : kRoutes) {
    if (path_matches(route.path, path) && route.method != except) methods.push_back(route.method);
  }
  if (methods.empty()) return {};
  methods.push_back("OPTIONS");
  std::sort(methods.begin(), methods.end());
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
  std::string allow;
  for (std::string_view m : methods) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  return allow;
}

// httprouter's RedirectTrailingSlash: a path that matches a route of the same method once a trailing slash is
// added or removed is redirected there (301 for GET, 307 otherwise, so the body is resent).
std::optional<HttpResponse> trailing_slash_redirect(const HttpRequest& req) {
  if (req.path.empty() || req.path == "/" || req.method == "CONNECT") return std::nullopt;
  std::string other = req.path.back() == '/' ? req.path.substr(0, req.path.size() - 1) : req.path + "/";
  if (!has_route(req.method, other)) return std::nullopt;
  std::string location = other;
  if (!req.query.empty()) location += "?" + req.query;
  if (req.method != "GET") return HttpResponse{307, {{"Location", location}}, {}};
  // Go's http.Redirect writes a small HTML body for GET.
  return HttpResponse{301,
                      {{"Content-Type", "text/html; charset=utf-8"}, {"Location", location}},
                      "<a href=\"" + location + "\">Moved Permanently</a>.\n\n"};
}

}  // namespace

std::uint64_t HttpApi::body_limit(const std::string& path) const {
  const Options& opts = nsqd_.options();
  if (path == "/mpub") return static_cast<std::uint64_t>(opts.max_body_size);
  // /pub and everything else (e.g. PUT /config bodies) are single-message sized.
  return static_cast<std::uint64_t>(opts.max_msg_size);
}

HttpResponse HttpApi::handle(const HttpRequest& req) {
  // --tls-required=true (not tcp-https): the plain listener answers every request this way, as nsqd.
  if (!req.tls && nsqd_.options().tls_required == 2) {
    return HttpResponse{403,
                        {{"Content-Type", kJson}, {kNsqContentType, kNsqContentTypeValue}},
                        R"({"message": "TLS_REQUIRED", "https_port": )" + std::to_string(nsqd_.https_port()) + "}"};
  }
  for (const Route& route : kRoutes) {
    if (route.method != req.method || !path_matches(route.path, req.path)) continue;
    try {
      return route.endpoint(nsqd_, req);
    } catch (const std::exception&) {
      return v1_error(500, "INTERNAL_ERROR");  // nsqd answers a handler panic this way
    }
  }
  if (auto redirect = trailing_slash_redirect(req)) return *redirect;
  const std::string allow = allowed_methods(req.path, req.method);
  if (allow.empty()) return v1_error(404, "NOT_FOUND");
  if (req.method == "OPTIONS") return HttpResponse{200, {{"Allow", allow}}, {}};
  HttpResponse response = v1_error(405, "METHOD_NOT_ALLOWED");
  response.headers.emplace_back("Allow", allow);
  return response;
}

}  // namespace nsq
