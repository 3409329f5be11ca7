// nsqd's administrative HTTP endpoints (v1.3.0): /topic/*, /channel/*, /config/:opt and /debug/*.
// Status codes and error texts are nsqd's; note that the topic endpoints say INVALID_TOPIC while the channel
// endpoints say INVALID_ARG_TOPIC / INVALID_ARG_CHANNEL, and that delete/pause/unpause do not validate names.
#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "engine/channel.h"
#include "engine/http_endpoints.h"
#include "engine/http_query.h"
#include "engine/names.h"
#include "engine/nsqd.h"
#include "engine/options.h"
#include "engine/topic.h"

namespace nsq::http {

namespace {

// ---- /topic/* ----

// The "topic" parameter as nsqd's handlers read it: nullopt (with the answer in `error`) when the query is
// unparsable (400 INVALID_REQUEST) or has no topic (400 MISSING_ARG_TOPIC).
std::optional<std::string> topic_arg(const HttpRequest& req, HttpResponse& error) {
  const auto params = QueryParams::parse(req.query);
  if (!params) {
    error = v1_error(400, "INVALID_REQUEST");
    return std::nullopt;
  }
  const std::string* topic = params->first("topic");
  if (topic == nullptr) {
    error = v1_error(400, "MISSING_ARG_TOPIC");
    return std::nullopt;
  }
  return *topic;
}

}  // namespace

HttpResponse do_topic_create(NSQD& nsqd, const HttpRequest& req) {
  HttpResponse error;
  const auto topic = topic_arg(req, error);
  if (!topic) return error;
  if (!is_valid_topic_name(*topic)) return v1_error(400, "INVALID_TOPIC");
  if (nsqd.exiting()) return v1_error(503, "EXITING");
  nsqd.get_topic(*topic);
  return v1_empty();
}

HttpResponse do_topic_delete(NSQD& nsqd, const HttpRequest& req) {
  HttpResponse error;
  const auto topic = topic_arg(req, error);
  if (!topic) return error;
  if (nsqd.find_topic(*topic) == nullptr) return v1_error(404, "TOPIC_NOT_FOUND");  // invalid names too
  nsqd.delete_topic(*topic);
  return v1_empty();
}

HttpResponse do_topic_empty(NSQD& nsqd, const HttpRequest& req) {
  HttpResponse error;
  const auto topic = topic_arg(req, error);
  if (!topic) return error;
  if (!is_valid_topic_name(*topic)) return v1_error(400, "INVALID_TOPIC");
  Topic* t = nsqd.find_topic(*topic);
  if (t == nullptr) return v1_error(404, "TOPIC_NOT_FOUND");
  t->empty();
  return v1_empty();
}

namespace {
HttpResponse topic_pause(NSQD& nsqd, const HttpRequest& req, bool pause) {
  HttpResponse error;
  const auto topic = topic_arg(req, error);
  if (!topic) return error;
  Topic* t = nsqd.find_topic(*topic);
  if (t == nullptr) return v1_error(404, "TOPIC_NOT_FOUND");  // no name validation, as nsqd
  if (pause) {
    t->pause();
  } else {
    t->unpause();
  }
  return v1_empty();
}
}  // namespace

HttpResponse do_topic_pause(NSQD& nsqd, const HttpRequest& req) { return topic_pause(nsqd, req, true); }
HttpResponse do_topic_unpause(NSQD& nsqd, const HttpRequest& req) { return topic_pause(nsqd, req, false); }

// ---- /channel/* ----

namespace {

struct TopicChannel {
  Topic* topic = nullptr;
  std::string channel;
};

// nsqd's getExistingTopicFromQuery: both names validated (INVALID_ARG_*), then the topic must exist.
std::optional<TopicChannel> existing_topic_channel(NSQD& nsqd, const HttpRequest& req, HttpResponse& error) {
  const auto params = QueryParams::parse(req.query);
  if (!params) {
    error = v1_error(400, "INVALID_REQUEST");
    return std::nullopt;
  }
  const std::string* topic = params->first("topic");
  if (topic == nullptr) {
    error = v1_error(400, "MISSING_ARG_TOPIC");
    return std::nullopt;
  }
  if (!is_valid_topic_name(*topic)) {
    error = v1_error(400, "INVALID_ARG_TOPIC");
    return std::nullopt;
  }
  const std::string* channel = params->first("channel");
  if (channel == nullptr) {
    error = v1_error(400, "MISSING_ARG_CHANNEL");
    return std::nullopt;
  }
  if (!is_valid_channel_name(*channel)) {
    error = v1_error(400, "INVALID_ARG_CHANNEL");
    return std::nullopt;
  }
  Topic* t = nsqd.find_topic(*topic);
  if (t == nullptr) {
    error = v1_error(404, "TOPIC_NOT_FOUND");
    return std::nullopt;
  }
  return TopicChannel{t, *channel};
}

enum class ChannelOp { empty, pause, unpause };

HttpResponse channel_op(NSQD& nsqd, const HttpRequest& req, ChannelOp op) {
  HttpResponse error;
  const auto tc = existing_topic_channel(nsqd, req, error);
  if (!tc) return error;
  Channel* ch = tc->topic->find_channel(tc->channel);
  if (ch == nullptr) return v1_error(404, "CHANNEL_NOT_FOUND");
  switch (op) {
    case ChannelOp::empty: ch->empty(); break;
    case ChannelOp::pause: ch->pause(); break;
    case ChannelOp::unpause: ch->unpause(); break;
  }
  return v1_empty();
}

}  // namespace

HttpResponse do_channel_create(NSQD& nsqd, const HttpRequest& req) {
  HttpResponse error;
  const auto tc = existing_topic_channel(nsqd, req, error);
  if (!tc) return error;
  tc->topic->get_channel(tc->channel);
  return v1_empty();
}

HttpResponse do_channel_delete(NSQD& nsqd, const HttpRequest& req) {
  HttpResponse error;
  const auto tc = existing_topic_channel(nsqd, req, error);
  if (!tc) return error;
  if (!tc->topic->delete_channel(tc->channel)) return v1_error(404, "CHANNEL_NOT_FOUND");
  return v1_empty();
}

HttpResponse do_channel_empty(NSQD& nsqd, const HttpRequest& req) { return channel_op(nsqd, req, ChannelOp::empty); }
HttpResponse do_channel_pause(NSQD& nsqd, const HttpRequest& req) { return channel_op(nsqd, req, ChannelOp::pause); }
HttpResponse do_channel_unpause(NSQD& nsqd, const HttpRequest& req) {
  return channel_op(nsqd, req, ChannelOp::unpause);
}

// ---- /config/:opt ----

namespace {

// A float64 as Go's encoding/json writes it: integral values without a fraction ("1", not "1.0").
nlohmann::ordered_json go_float(double v) {
  if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < 1e15) return static_cast<std::int64_t>(v);
  return v;
}

// nsqd's lg.LogLevel numbering.
int log_level_number(const std::string& name) {
  std::string l;
  for (char c : name) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "debug") return 1;
  if (l == "info") return 2;
  if (l == "warn") return 3;
  if (l == "error") return 4;
  if (l == "fatal") return 5;
  return 0;
}

// An option's value: a string is answered as raw text (RespondV1), anything else as JSON.
struct ConfigValue {
  std::optional<std::string> text;
  nlohmann::ordered_json json;
};

using Getter = std::function<ConfigValue(const Options&)>;

ConfigValue text(std::string s) { return ConfigValue{std::move(s), {}}; }
ConfigValue json(nlohmann::ordered_json j) { return ConfigValue{std::nullopt, std::move(j)}; }

nlohmann::ordered_json string_list(const std::vector<std::string>& v) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& s : v) out.push_back(s);
  return out;
}

// Config names of every nsqd option that has a flag (nsqd's getOptByCfgName); hidden options are not here.
const std::map<std::string, Getter, std::less<>>& config_table() {
  static const std::map<std::string, Getter, std::less<>> table = {
      {"id", [](const Options& o) { return json(o.node_id); }},
      {"log_level", [](const Options& o) { return json(log_level_number(o.log_level)); }},
      {"log_prefix", [](const Options& o) { return text(o.log_prefix); }},
      {"tcp_address", [](const Options& o) { return text(o.tcp_address); }},
      {"http_address", [](const Options& o) { return text(o.http_address); }},
      {"https_address", [](const Options& o) { return text(o.https_address); }},
      {"broadcast_address", [](const Options& o) { return text(o.broadcast_address); }},
      {"broadcast_tcp_port", [](const Options& o) { return json(o.broadcast_tcp_port); }},
      {"broadcast_http_port", [](const Options& o) { return json(o.broadcast_http_port); }},
      {"nsqlookupd_tcp_addresses",
       [](const Options& o) {
         return o.lookupd_tcp_addresses_null ? json(nullptr) : json(string_list(o.lookupd_tcp_addresses));
       }},
      {"auth_http_addresses", [](const Options& o) { return json(string_list(o.auth_http_addresses)); }},
      {"auth_http_request_method", [](const Options& o) { return text(o.auth_http_request_method); }},
      {"http_client_connect_timeout", [](const Options& o) { return json(o.http_client_connect_timeout); }},
      {"http_client_request_timeout", [](const Options& o) { return json(o.http_client_request_timeout); }},
      {"data_path", [](const Options& o) { return text(o.data_path); }},
      {"mem_queue_size", [](const Options& o) { return json(o.mem_queue_size); }},
      {"max_bytes_per_file", [](const Options& o) { return json(o.max_bytes_per_file); }},
      {"sync_every", [](const Options& o) { return json(o.sync_every); }},
      {"sync_timeout", [](const Options& o) { return json(o.sync_timeout); }},
      {"queue_scan_selection_count", [](const Options& o) { return json(o.queue_scan_selection_count); }},
      {"queue_scan_worker_pool_max", [](const Options& o) { return json(o.queue_scan_worker_pool_max); }},
      {"msg_timeout", [](const Options& o) { return json(o.msg_timeout); }},
      {"max_msg_timeout", [](const Options& o) { return json(o.max_msg_timeout); }},
      {"max_msg_size", [](const Options& o) { return json(o.max_msg_size); }},
      {"max_body_size", [](const Options& o) { return json(o.max_body_size); }},
      {"max_req_timeout", [](const Options& o) { return json(o.max_req_timeout); }},
      {"max_heartbeat_interval", [](const Options& o) { return json(o.max_heartbeat_interval); }},
      {"max_rdy_count", [](const Options& o) { return json(o.max_rdy_count); }},
      {"max_output_buffer_size", [](const Options& o) { return json(o.max_output_buffer_size); }},
      {"max_output_buffer_timeout", [](const Options& o) { return json(o.max_output_buffer_timeout); }},
      {"min_output_buffer_timeout", [](const Options& o) { return json(o.min_output_buffer_timeout); }},
      {"output_buffer_timeout", [](const Options& o) { return json(o.output_buffer_timeout); }},
      {"max_channel_consumers", [](const Options& o) { return json(o.max_channel_consumers); }},
      {"statsd_address", [](const Options& o) { return text(o.statsd_address); }},
      {"statsd_prefix", [](const Options& o) { return text(o.statsd_prefix); }},
      {"statsd_interval", [](const Options& o) { return json(o.statsd_interval); }},
      {"statsd_mem_stats", [](const Options& o) { return json(o.statsd_mem_stats); }},
      {"statsd_udp_packet_size", [](const Options& o) { return json(o.statsd_udp_packet_size); }},
      {"statsd_exclude_ephemeral", [](const Options& o) { return json(o.statsd_exclude_ephemeral); }},
      {"e2e_processing_latency_window_time",
       [](const Options& o) { return json(o.e2e_processing_latency_window_time); }},
      {"e2e_processing_latency_percentiles",
       [](const Options& o) {
         if (o.e2e_processing_latency_percentiles.empty()) return json(nullptr);  // Go's nil slice
         nlohmann::ordered_json out = nlohmann::ordered_json::array();
         for (double p : o.e2e_processing_latency_percentiles) out.push_back(go_float(p));
         return json(out);
       }},
      {"tls_cert", [](const Options& o) { return text(o.tls_cert); }},
      {"tls_key", [](const Options& o) { return text(o.tls_key); }},
      {"tls_client_auth_policy", [](const Options& o) { return text(o.tls_client_auth_policy); }},
      {"tls_root_ca_file", [](const Options& o) { return text(o.tls_root_ca_file); }},
      {"tls_required", [](const Options& o) { return json(o.tls_required); }},
      {"tls_min_version", [](const Options& o) { return json(o.tls_min_version); }},
      {"deflate", [](const Options& o) { return json(o.deflate); }},
      {"max_deflate_level", [](const Options& o) { return json(o.max_deflate_level); }},
      {"snappy", [](const Options& o) { return json(o.snappy); }},
  };
  return table;
}

}  // namespace

// nsqd's statsd prefix: "%s" → "<broadcast-address>:<broadcast-http-port>" with '.' and ':' as '_', and a trailing
// '.' added when missing (an empty prefix stays empty).
std::string statsd_prefix(const Options& o) {
  std::string prefix = o.statsd_prefix;
  std::string host = o.broadcast_address + ":" + std::to_string(o.broadcast_http_port);
  for (char& c : host) {
    if (c == '.' || c == ':') c = '_';
  }
  for (auto pos = prefix.find("%s"); pos != std::string::npos; pos = prefix.find("%s", pos + host.size())) {
    prefix.replace(pos, 2, host);
  }
  if (!prefix.empty() && prefix.back() != '.') prefix += '.';
  return prefix;
}

namespace {

std::string config_name(const HttpRequest& req) {
  constexpr std::string_view kPrefix = "/config/";
  return req.path.substr(kPrefix.size());
}

}  // namespace

HttpResponse do_config(NSQD& nsqd, const HttpRequest& req) {
  const std::string opt = config_name(req);
  if (req.method == "PUT") {
    // nsqd reads at most max-msg-size+1 bytes; that many (or none) is 413 INVALID_VALUE.
    if (req.body_too_large || req.body.empty() ||
        static_cast<std::int64_t>(req.body.size()) > nsqd.options().max_msg_size) {
      return v1_error(413, "INVALID_VALUE");
    }
    if (opt == "nsqlookupd_tcp_addresses") {
      // Go's json.Unmarshal into []string: an array of strings, or null (no addresses).
      const auto value = nlohmann::json::parse(req.body, nullptr, false);
      std::vector<std::string> addresses;
      if (value.is_discarded()) return v1_error(400, "INVALID_VALUE");
      if (!value.is_null()) {
        if (!value.is_array()) return v1_error(400, "INVALID_VALUE");
        for (const auto& item : value) {
          if (!item.is_string()) return v1_error(400, "INVALID_VALUE");
          addresses.push_back(item.get<std::string>());
        }
      }
      nsqd.mutable_options().lookupd_tcp_addresses = std::move(addresses);
      nsqd.mutable_options().lookupd_tcp_addresses_null = value.is_null();
      // nsqd's lookupLoop then closes the peers no longer listed and connects the new ones.
      if (nsqd.on_lookupd_addresses_changed) nsqd.on_lookupd_addresses_changed();
    } else if (opt == "log_level") {
      const int level = log_level_number(req.body);
      if (level == 0) return v1_error(400, "INVALID_VALUE");
      std::string name;
      for (char c : req.body) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      nsqd.mutable_options().log_level = name;
      nsqd.logger().set_level(static_cast<seam::LogLevel>(level));
    } else {
      return v1_error(400, "INVALID_OPTION");
    }
  }
  const auto& table = config_table();
  const auto it = table.find(opt);
  if (it == table.end()) return v1_error(400, "INVALID_OPTION");
  // nsqd rewrites these options at startup: the broadcast ports default to the ports bound, and the statsd
  // prefix has its %s replaced by the host key.
  Options effective = nsqd.options();
  if (effective.broadcast_tcp_port == 0) effective.broadcast_tcp_port = nsqd.tcp_port();
  if (effective.broadcast_http_port == 0) effective.broadcast_http_port = nsqd.http_port();
  effective.statsd_prefix = statsd_prefix(effective);
  ConfigValue value = it->second(effective);
  if (value.text) return v1_text(std::move(*value.text));
  return v1_json(value.json);
}

// ---- /debug/* ----

HttpResponse do_debug_go_runtime(NSQD&, const HttpRequest& req) {
  // nsqd serves Go's net/http/pprof here. nsqd-cpp is not a Go program: say so instead of pretending.
  return v1_error(501, "NOT_IMPLEMENTED: " + req.path +
                           " serves Go runtime profiles (pprof) in the Go nsqd; nsqd-cpp has no Go runtime - see "
                           "GET /stats (memory) and GET /metrics");
}

HttpResponse do_debug_setblockrate(NSQD&, const HttpRequest& req) {
  // nsqd: Atoi the "rate" parameter; a bad one is a plain-text 400. A good one sets Go's block-profile rate and
  // then answers 500 INTERNAL_ERROR anyway (a bug kept for compatibility; there is nothing to set here).
  std::string rate;
  if (const auto params = QueryParams::parse(req.query)) {
    if (const std::string* r = params->first("rate")) rate = *r;
  }
  std::string_view digits = rate;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
  bool syntax_ok = !digits.empty();
  for (char c : digits) syntax_ok = syntax_ok && c >= '0' && c <= '9';
  if (!syntax_ok) {
    return plain_text(400, "invalid block rate : strconv.Atoi: parsing " + go_quote(rate) + ": invalid syntax");
  }
  if (!parse_int64(rate)) {
    return plain_text(400, "invalid block rate : strconv.Atoi: parsing " + go_quote(rate) + ": value out of range");
  }
  return v1_error(500, "INTERNAL_ERROR");
}

HttpResponse do_debug_freememory(NSQD&, const HttpRequest&) {
  // nsqd runs debug.FreeOSMemory() and then answers 500 INTERNAL_ERROR (a bug kept for compatibility).
  return v1_error(500, "INTERNAL_ERROR");
}

}  // namespace nsq::http
