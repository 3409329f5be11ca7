// GET /stats (nsqd v1.3.0's doStats): JSON field for field and in nsqd's key order, or nsqd's text report.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "engine/client.h"
#include "engine/http_endpoints.h"
#include "engine/http_query.h"
#include "engine/nsqd.h"
#include "engine/options.h"
#include "engine/stats.h"

namespace nsq::http {

namespace {

using Json = nlohmann::ordered_json;

// A float64 as Go's encoding/json writes it (integral values without ".0").
Json go_float(double v) {
  if (std::isfinite(v) && v == std::trunc(v) && std::fabs(v) < 1e15) return static_cast<std::int64_t>(v);
  return v;
}

Json e2e_json(const E2eResult& r) {
  Json out;
  out["count"] = r.count;
  if (!r.has_percentiles) {
    out["percentiles"] = nullptr;
    return out;
  }
  Json list = Json::array();
  for (const auto& [q, v] : r.percentiles) {
    Json item;
    item["quantile"] = go_float(q);
    item["value"] = go_float(v);
    list.push_back(std::move(item));
  }
  out["percentiles"] = std::move(list);
  return out;
}

// nsqd's clientV2.Stats(topicName): pub_counts lists one topic only (the filter's, or an arbitrary one — here
// the first by name), a v1.3.0 quirk kept for compatibility.
std::vector<std::pair<std::string, std::uint64_t>> shown_pub_counts(const ClientStats& c, const std::string& topic) {
  for (const auto& pc : c.pub_counts) {
    if (!topic.empty() && pc.first != topic) continue;
    return {pc};
  }
  return {};
}

Json client_json(const ClientStats& c, const std::string& topic_filter) {
  Json j;
  j["client_id"] = c.client_id;
  j["hostname"] = c.hostname;
  j["version"] = "V2";
  j["remote_address"] = c.remote_address;
  j["state"] = c.state;
  j["ready_count"] = c.ready_count;
  j["in_flight_count"] = c.in_flight_count;
  j["message_count"] = c.message_count;
  j["finish_count"] = c.finish_count;
  j["requeue_count"] = c.requeue_count;
  j["connect_ts"] = c.connect_ts;
  j["sample_rate"] = c.sample_rate;
  j["deflate"] = c.deflate;
  j["snappy"] = c.snappy;
  j["user_agent"] = c.user_agent;
  // omitempty, as nsqd's ClientV2Stats.
  if (c.authed) j["authed"] = true;
  if (!c.auth_identity.empty()) j["auth_identity"] = c.auth_identity;
  if (!c.auth_identity_url.empty()) j["auth_identity_url"] = c.auth_identity_url;
  if (const auto pcs = shown_pub_counts(c, topic_filter); !pcs.empty()) {
    Json list = Json::array();
    for (const auto& [t, n] : pcs) {
      Json item;
      item["topic"] = t;
      item["count"] = n;
      list.push_back(std::move(item));
    }
    j["pub_counts"] = std::move(list);
  }
  j["tls"] = c.tls;
  j["tls_cipher_suite"] = c.tls_cipher_suite;
  j["tls_version"] = c.tls_version;
  j["tls_negotiated_protocol"] = c.tls_negotiated_protocol;
  j["tls_negotiated_protocol_is_mutual"] = c.tls_negotiated_protocol_is_mutual;
  return j;
}

struct Snapshot {
  bool topics_null = false;  // the topic filter matched nothing: nsqd returns before filling anything
  std::vector<TopicStats> topics;
  std::vector<ClientStats> producers;
};

Snapshot gather(NSQD& nsqd, const std::string& topic, const std::string& channel, bool include_clients) {
  Snapshot s;
  if (!topic.empty() && nsqd.find_topic(topic) == nullptr) {
    s.topics_null = true;
    return s;
  }
  for (TopicStats& t : nsqd.stats(topic, channel, include_clients)) {
    // With a channel filter, topics without that channel are left out.
    if (!channel.empty() && t.channels.empty()) continue;
    s.topics.push_back(std::move(t));
  }
  if (include_clients) {
    for (const auto& [id, client] : nsqd.clients()) {
      ClientStats cs = client->stats();
      if (cs.producer) s.producers.push_back(std::move(cs));
    }
  }
  return s;
}

Json memory_json(const Memory& m) {
  Json j;
  j["heap_objects"] = m.heap_objects;
  j["heap_idle_bytes"] = m.heap_idle_bytes;
  j["heap_in_use_bytes"] = m.heap_in_use_bytes;
  j["heap_released_bytes"] = m.heap_released_bytes;
  j["gc_pause_usec_100"] = 0;
  j["gc_pause_usec_99"] = 0;
  j["gc_pause_usec_95"] = 0;
  j["next_gc_bytes"] = 0;
  j["gc_total_runs"] = 0;
  return j;
}

// ---- text report (nsqd's printStats) ----

std::string format(const char* fmt, auto... args) {
  char buf[512];
  const int n = std::snprintf(buf, sizeof(buf), fmt, args...);
  return std::string(buf, static_cast<std::size_t>(std::max(0, std::min<int>(n, sizeof(buf) - 1))));
}

// "%-Ns" of a possibly long string.
std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

// quantile.Result's String(): each value as "%.1f" in the largest fitting unit.
std::string e2e_text(const E2eResult& r) {
  std::string out;
  for (const auto& [q, v] : r.percentiles) {
    double value = v;
    const char* unit = "ns";
    if (value > 1e9) {
      value /= 1e9;
      unit = "s";
    } else if (value > 1e6) {
      value /= 1e6;
      unit = "ms";
    } else if (value > 1e3) {
      value /= 1e3;
      unit = "us";
    }
    if (!out.empty()) out += ", ";
    out += format("%0.1f%s", value, unit);
  }
  return out;
}

std::string rfc3339_utc(std::int64_t unix_s) {
  using namespace std::chrono;
  const sys_seconds tp{seconds{unix_s}};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss hms{tp - day};
  return format("%04d-%02u-%02uT%02ld:%02ld:%02lldZ", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<long>(hms.hours().count()),
                static_cast<long>(hms.minutes().count()), static_cast<long long>(hms.seconds().count()));
}

std::string client_text(const ClientStats& c, const std::string& topic_filter, std::int64_t now_s) {
  const auto colon = c.remote_address.rfind(':');
  const std::string port = colon == std::string::npos ? std::string() : c.remote_address.substr(colon + 1);
  const std::string id = c.hostname + ":" + port + " " + c.user_agent;
  const std::string connected = go_duration_string((now_s - c.connect_ts) * kSecond);
  if (const auto pcs = shown_pub_counts(c, topic_filter); !pcs.empty()) {
    std::uint64_t total = 0;
    std::string topics;
    for (const auto& [t, n] : pcs) {
      total += n;
      if (!topics.empty()) topics += ",";
      topics += t + "=" + std::to_string(n);
    }
    return "[V2 " + pad(id, 21) + "] " + format("msgs: %-8llu", static_cast<unsigned long long>(total)) +
           " topics: " + topics + " connected: " + connected;
  }
  return "[V2 " + pad(id, 21) + "] " +
         format("state: %d inflt: %-4lld rdy: %-4lld fin: %-8llu re-q: %-8llu msgs: %-8llu", c.state,
                static_cast<long long>(c.in_flight_count), static_cast<long long>(c.ready_count),
                static_cast<unsigned long long>(c.finish_count), static_cast<unsigned long long>(c.requeue_count),
                static_cast<unsigned long long>(c.message_count)) +
         " connected: " + connected;
}

std::string stats_text(NSQD& nsqd, const Snapshot& s, const std::optional<Memory>& mem,
                       const std::string& topic_filter) {
  const std::int64_t now_wall = nsqd.clock().wall_ns();
  std::string w;
  w += std::string("nsqd v") + kVersion + " (built w/nsqd-cpp)\n";
  w += "start_time " + rfc3339_utc(nsqd.start_time_s()) + "\n";
  w += "uptime " + go_duration_string(now_wall - nsqd.start_time_s() * kSecond) + "\n";
  w += "\nHealth: " + nsqd.health() + "\n";
  if (mem) {
    w += "\nMemory:\n";
    auto line = [&w](const char* name, std::int64_t v) {
      w += format("   %-25s\t%lld\n", name, static_cast<long long>(v));
    };
    line("heap_objects", mem->heap_objects);
    line("heap_idle_bytes", mem->heap_idle_bytes);
    line("heap_in_use_bytes", mem->heap_in_use_bytes);
    line("heap_released_bytes", mem->heap_released_bytes);
    line("gc_pause_usec_100", 0);
    line("gc_pause_usec_99", 0);
    line("gc_pause_usec_95", 0);
    line("next_gc_bytes", 0);
    line("gc_total_runs", 0);
  }
  w += s.topics.empty() ? "\nTopics: None\n" : "\nTopics:";
  const std::int64_t now_s = now_wall / kSecond;
  for (const TopicStats& t : s.topics) {
    w += "\n" + std::string(t.paused ? "*P " : "   ") + "[" + pad(t.topic_name, 15) + "] " +
         format("depth: %-5lld be-depth: %-5lld msgs: %-8llu", static_cast<long long>(t.depth),
                static_cast<long long>(t.backend_depth), static_cast<unsigned long long>(t.message_count)) +
         " e2e%: " + e2e_text(t.e2e_processing_latency) + "\n";
    for (const ChannelStats& c : t.channels) {
      w += std::string(c.paused ? "   *P " : "      ") + "[" + pad(c.channel_name, 25) + "] " +
           format("depth: %-5lld be-depth: %-5lld inflt: %-4lld def: %-4lld re-q: %-5llu timeout: %-5llu msgs: %-8llu",
                  static_cast<long long>(c.depth), static_cast<long long>(c.backend_depth),
                  static_cast<long long>(c.in_flight_count), static_cast<long long>(c.deferred_count),
                  static_cast<unsigned long long>(c.requeue_count), static_cast<unsigned long long>(c.timeout_count),
                  static_cast<unsigned long long>(c.message_count)) +
           " e2e%: " + e2e_text(c.e2e_processing_latency) + "\n";
      for (const ClientStats& client : c.clients) w += "        " + client_text(client, topic_filter, now_s) + "\n";
    }
  }
  if (s.producers.empty()) {
    w += "\nProducers: None\n";
  } else {
    w += "\nProducers:\n";
    for (const ClientStats& p : s.producers) w += "   " + client_text(p, topic_filter, now_s) + "\n";
  }
  return w;
}

// nsqd's boolParams: true|1|false|0; anything else (or absent) means true.
bool bool_param(const QueryParams& params, std::string_view key) {
  const std::string* v = params.first(key);
  if (v == nullptr) return true;
  if (*v == "false" || *v == "0") return false;
  return true;
}

}  // namespace

// nsqd's memory block holds Go runtime figures. The C++ equivalents: the allocator's bytes in use, held free
// and returned to the OS (from the io layer), and as "objects" the messages the engine holds in memory (queued,
// in flight, deferred). There is no garbage collector: the gc_* and next_gc figures are 0.
Memory memory_figures(NSQD& nsqd) {
  Memory m;
  if (seam::ProcessInfo* info = nsqd.process_info()) {
    const seam::ProcessStats p = info->sample();
    m.heap_idle_bytes = p.heap_idle_bytes;
    m.heap_in_use_bytes = p.heap_in_use_bytes;
    m.heap_released_bytes = p.heap_released_bytes;
  }
  for (const TopicStats& t : nsqd.stats({}, {}, false)) {
    m.heap_objects += t.depth - t.backend_depth;
    for (const ChannelStats& c : t.channels) {
      m.heap_objects += c.depth - c.backend_depth + c.in_flight_count + c.deferred_count;
    }
  }
  return m;
}

std::string go_duration_string(std::int64_t ns) {
  if (ns == 0) return "0s";
  const bool negative = ns < 0;
  std::uint64_t u = negative ? static_cast<std::uint64_t>(-(ns + 1)) + 1 : static_cast<std::uint64_t>(ns);
  std::string out;
  // Fraction digits of v / 10^prec, trailing zeros dropped.
  auto fraction = [](std::uint64_t v, int prec) {
    std::string digits;
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      const std::uint64_t digit = v % 10;
      print = print || digit != 0;
      if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
      v /= 10;
    }
    return std::make_pair(print ? "." + digits : std::string(), v);
  };
  if (u < 1'000'000'000ULL) {
    int prec = 0;
    const char* unit = "ns";
    if (u < 1'000ULL) {
      return (negative ? "-" : "") + std::to_string(u) + "ns";
    } else if (u < 1'000'000ULL) {
      prec = 3;
      unit = "\xC2\xB5s";  // µs
    } else {
      prec = 6;
      unit = "ms";
    }
    auto [frac, whole] = fraction(u, prec);
    out = std::to_string(whole) + frac + unit;
  } else {
    auto [frac, secs] = fraction(u, 9);
    out = std::to_string(secs % 60) + frac + "s";
    const std::uint64_t mins = secs / 60;
    if (mins > 0) {
      out = std::to_string(mins % 60) + "m" + out;
      const std::uint64_t hours = mins / 60;
      if (hours > 0) out = std::to_string(hours) + "h" + out;
    }
  }
  return (negative ? "-" : "") + out;
}

HttpResponse do_stats(NSQD& nsqd, const HttpRequest& req) {
  const auto params = QueryParams::parse(req.query);
  if (!params) return v1_error(400, "INVALID_REQUEST");
  auto get = [&params](std::string_view key) {
    const std::string* v = params->first(key);
    return v == nullptr ? std::string() : *v;
  };
  const bool json_format = get("format") == "json";
  const std::string topic = get("topic");
  const std::string channel = get("channel");
  const bool include_clients = bool_param(*params, "include_clients");
  const bool include_mem = bool_param(*params, "include_mem");

  const Snapshot snapshot = gather(nsqd, topic, channel, include_clients);
  std::optional<Memory> mem;
  if (include_mem) mem = memory_figures(nsqd);

  if (!json_format) return v1_text(stats_text(nsqd, snapshot, mem, topic));

  Json out;
  out["version"] = kVersion;
  out["health"] = nsqd.health();
  out["start_time"] = nsqd.start_time_s();
  if (snapshot.topics_null) {
    out["topics"] = nullptr;
  } else {
    Json topics = Json::array();
    for (const TopicStats& t : snapshot.topics) {
      Json tj;
      tj["topic_name"] = t.topic_name;
      Json channels = Json::array();
      for (const ChannelStats& c : t.channels) {
        Json cj;
        cj["channel_name"] = c.channel_name;
        cj["depth"] = c.depth;
        cj["backend_depth"] = c.backend_depth;
        cj["in_flight_count"] = c.in_flight_count;
        cj["deferred_count"] = c.deferred_count;
        cj["message_count"] = c.message_count;
        cj["requeue_count"] = c.requeue_count;
        cj["timeout_count"] = c.timeout_count;
        cj["client_count"] = c.client_count;
        if (include_clients) {
          Json clients = Json::array();
          for (const ClientStats& client : c.clients) clients.push_back(client_json(client, topic));
          cj["clients"] = std::move(clients);
        } else {
          cj["clients"] = nullptr;
        }
        cj["paused"] = c.paused;
        cj["e2e_processing_latency"] = e2e_json(c.e2e_processing_latency);
        channels.push_back(std::move(cj));
      }
      tj["channels"] = std::move(channels);
      tj["depth"] = t.depth;
      tj["backend_depth"] = t.backend_depth;
      tj["message_count"] = t.message_count;
      tj["message_bytes"] = t.message_bytes;
      tj["paused"] = t.paused;
      tj["e2e_processing_latency"] = e2e_json(t.e2e_processing_latency);
      topics.push_back(std::move(tj));
    }
    out["topics"] = std::move(topics);
  }
  if (mem) out["memory"] = memory_json(*mem);
  if (snapshot.producers.empty()) {
    out["producers"] = nullptr;
  } else {
    Json producers = Json::array();
    for (const ClientStats& p : snapshot.producers) producers.push_back(client_json(p, topic));
    out["producers"] = std::move(producers);
  }
  return v1_json(out);
}

}  // namespace nsq::http
