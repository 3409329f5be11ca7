// Internal to the HTTP API: nsqd's response conventions and the endpoints that live outside http_api.cpp.
// Each endpoint is a function from (NSQD, request) to a response; http_api.cpp routes to them.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "engine/http_api.h"

namespace nsq {
class NSQD;
struct Options;
}

namespace nsq::http {

inline constexpr const char* kNsqContentType = "X-NSQ-Content-Type";
inline constexpr const char* kNsqContentTypeValue = "nsq; version=1.0";
inline constexpr const char* kTextPlain = "text/plain; charset=utf-8";
inline constexpr const char* kJson = "application/json; charset=utf-8";

// nsqd's http_api.RespondV1: a text answer is sent raw (Go sniffs "text/plain; charset=utf-8"; an empty
// answer has no Content-Type), a JSON value compact with the JSON Content-Type, an error as {"message":..}.
// Every V1 answer carries X-NSQ-Content-Type.
HttpResponse v1_text(std::string text);
HttpResponse v1_json(const nlohmann::ordered_json& value);
HttpResponse v1_empty();
HttpResponse v1_error(int status, std::string_view message);
// The plain-text wrapper (/ping, debug helpers): no NSQ header, errors as text with their status.
HttpResponse plain_text(int status, std::string text);

// Go's strconv.ParseInt(s, 10, 64).
std::optional<std::int64_t> parse_int64(std::string_view s);

// GET /stats (http_stats.cpp).
HttpResponse do_stats(NSQD& nsqd, const HttpRequest& req);
// GET /metrics, Prometheus text exposition 0.0.4 (metrics.cpp).
HttpResponse do_metrics(NSQD& nsqd, const HttpRequest& req);

// http_admin.cpp: topic and channel administration, /config, /debug.
HttpResponse do_topic_create(NSQD& nsqd, const HttpRequest& req);
HttpResponse do_topic_delete(NSQD& nsqd, const HttpRequest& req);
HttpResponse do_topic_empty(NSQD& nsqd, const HttpRequest& req);
HttpResponse do_topic_pause(NSQD& nsqd, const HttpRequest& req);
HttpResponse do_topic_unpause(NSQD& nsqd, const HttpRequest& req);
HttpResponse do_channel_create(NSQD& nsqd, const HttpRequest& req);
HttpResponse do_channel_delete(NSQD& nsqd, const HttpRequest& req);
HttpResponse do_channel_empty(NSQD& nsqd, const HttpRequest& req);
HttpResponse do_channel_pause(NSQD& nsqd, const HttpRequest& req);
HttpResponse do_channel_unpause(NSQD& nsqd, const HttpRequest& req);
HttpResponse do_config(NSQD& nsqd, const HttpRequest& req);  // GET and PUT /config/:opt
HttpResponse do_debug_go_runtime(NSQD& nsqd, const HttpRequest& req);  // /debug/pprof/*
HttpResponse do_debug_setblockrate(NSQD& nsqd, const HttpRequest& req);
HttpResponse do_debug_freememory(NSQD& nsqd, const HttpRequest& req);

// The statsd prefix with nsqd's host substitution (options' broadcast ports already resolved).
std::string statsd_prefix(const Options& options);

// /stats "memory" and statsd "mem.*" (Go runtime figures in nsqd; C++ equivalents here, see http_stats.cpp).
struct Memory {
  std::int64_t heap_objects = 0;
  std::int64_t heap_idle_bytes = 0;
  std::int64_t heap_in_use_bytes = 0;
  std::int64_t heap_released_bytes = 0;
};
Memory memory_figures(NSQD& nsqd);

// Go's time.Duration.String() ("1h2m3.5s", "2.5ms", "0s").
std::string go_duration_string(std::int64_t ns);

}  // namespace nsq::http
