// GET /metrics: the Prometheus text exposition format 0.0.4 (nsqd-cpp's addition; the Go nsqd has none).
// One family per metric with # HELP and # TYPE; topics and channels as labels; process figures from the io
// layer through seam::ProcessInfo. Counters end in _total; durations are in seconds.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/client.h"
#include "engine/http_endpoints.h"
#include "engine/nsqd.h"
#include "engine/options.h"
#include "engine/stats.h"

namespace nsq::http {

namespace {

std::string escape_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::trunc(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<std::int64_t>(v));
  // Shortest "%g" form that reads back as the same double.
  char buf[64];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string quantile_label(double q) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", q);
  return buf;
}

struct Sample {
  std::string labels;  // `topic="a",channel="b"` (no braces)
  double value;
};

class Exposition {
 public:
  void family(const std::string& name, const char* type, const char* help, const std::vector<Sample>& samples) {
    out_ += "# HELP " + name + " " + help + "\n";
    out_ += "# TYPE " + name + " " + type + "\n";
    for (const Sample& s : samples) {
      out_ += name;
      if (!s.labels.empty()) out_ += "{" + s.labels + "}";
      out_ += " " + number(s.value) + "\n";
    }
  }
  void single(const std::string& name, const char* type, const char* help, double value) {
    family(name, type, help, {Sample{{}, value}});
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string topic_label(const TopicStats& t) { return "topic=\"" + escape_label(t.topic_name) + "\""; }
std::string channel_labels(const TopicStats& t, const ChannelStats& c) {
  return topic_label(t) + ",channel=\"" + escape_label(c.channel_name) + "\"";
}

}  // namespace

HttpResponse do_metrics(NSQD& nsqd, const HttpRequest&) {
  const std::vector<TopicStats> topics = nsqd.stats({}, {}, false);
  Exposition e;

  e.family("nsqd_info", "gauge", "nsqd-cpp build information; the value is always 1.",
           {Sample{"version=\"" + std::string(kVersion) + "\"", 1}});
  e.single("nsqd_healthy", "gauge", "1 when healthy (the last disk write succeeded), else 0.", nsqd.healthy() ? 1 : 0);
  e.single("nsqd_start_time_seconds", "gauge", "Time the daemon started, seconds since the Unix epoch.",
           static_cast<double>(nsqd.start_time_s()));
  e.single("nsqd_topics", "gauge", "Number of topics.", static_cast<double>(topics.size()));
  std::size_t producers = 0;
  for (const auto& [id, client] : nsqd.clients()) producers += client->stats().producer ? 1 : 0;
  e.single("nsqd_clients", "gauge", "Open TCP client connections (producers and consumers).",
           static_cast<double>(nsqd.client_count()));
  e.single("nsqd_producers", "gauge", "Open TCP connections that have published at least once.",
           static_cast<double>(producers));

  // Topics.
  std::vector<Sample> t_depth, t_backend, t_messages, t_bytes, t_paused, t_channels, t_e2e, t_e2e_count;
  // Channels.
  std::vector<Sample> c_depth, c_backend, c_in_flight, c_deferred, c_messages, c_requeued, c_timed_out, c_clients,
      c_paused, c_e2e, c_e2e_count;
  auto add_e2e = [](std::vector<Sample>& values, std::vector<Sample>& counts, const std::string& labels,
                    const E2eResult& r) {
    if (!r.has_percentiles) return;
    for (const auto& [q, v] : r.percentiles) {
      values.push_back(Sample{labels + ",quantile=\"" + quantile_label(q) + "\"", v / 1e9});
    }
    counts.push_back(Sample{labels, static_cast<double>(r.count)});
  };
  for (const TopicStats& t : topics) {
    const std::string tl = topic_label(t);
    t_depth.push_back({tl, static_cast<double>(t.depth)});
    t_backend.push_back({tl, static_cast<double>(t.backend_depth)});
    t_messages.push_back({tl, static_cast<double>(t.message_count)});
    t_bytes.push_back({tl, static_cast<double>(t.message_bytes)});
    t_paused.push_back({tl, t.paused ? 1.0 : 0.0});
    t_channels.push_back({tl, static_cast<double>(t.channels.size())});
    add_e2e(t_e2e, t_e2e_count, tl, t.e2e_processing_latency);
    for (const ChannelStats& c : t.channels) {
      const std::string cl = channel_labels(t, c);
      c_depth.push_back({cl, static_cast<double>(c.depth)});
      c_backend.push_back({cl, static_cast<double>(c.backend_depth)});
      c_in_flight.push_back({cl, static_cast<double>(c.in_flight_count)});
      c_deferred.push_back({cl, static_cast<double>(c.deferred_count)});
      c_messages.push_back({cl, static_cast<double>(c.message_count)});
      c_requeued.push_back({cl, static_cast<double>(c.requeue_count)});
      c_timed_out.push_back({cl, static_cast<double>(c.timeout_count)});
      c_clients.push_back({cl, static_cast<double>(c.client_count)});
      c_paused.push_back({cl, c.paused ? 1.0 : 0.0});
      add_e2e(c_e2e, c_e2e_count, cl, c.e2e_processing_latency);
    }
  }
  e.family("nsqd_topic_depth", "gauge", "Messages queued in the topic (memory + disk), not yet handed to channels.",
           t_depth);
  e.family("nsqd_topic_backend_depth", "gauge", "Messages queued in the topic's disk queue.", t_backend);
  e.family("nsqd_topic_messages_total", "counter", "Messages published to the topic since start.", t_messages);
  e.family("nsqd_topic_message_bytes_total", "counter", "Body bytes published to the topic since start.", t_bytes);
  e.family("nsqd_topic_paused", "gauge", "1 when the topic is paused.", t_paused);
  e.family("nsqd_topic_channels", "gauge", "Number of channels of the topic.", t_channels);
  e.family("nsqd_topic_e2e_processing_latency_seconds", "gauge",
           "End-to-end processing latency quantiles (publish to FIN) merged over the topic's channels, over the "
           "rolling window.",
           t_e2e);
  e.family("nsqd_topic_e2e_processing_latency_samples", "gauge",
           "Number of FINished messages in the topic's end-to-end latency window.", t_e2e_count);
  e.family("nsqd_channel_depth", "gauge", "Messages queued in the channel (memory + disk), excluding in-flight and "
           "deferred.", c_depth);
  e.family("nsqd_channel_backend_depth", "gauge", "Messages queued in the channel's disk queue.", c_backend);
  e.family("nsqd_channel_in_flight", "gauge", "Messages delivered and not yet FINished, requeued or timed out.",
           c_in_flight);
  e.family("nsqd_channel_deferred", "gauge", "Messages deferred (DPUB, REQ with a timeout) and not yet due.",
           c_deferred);
  e.family("nsqd_channel_messages_total", "counter", "Messages the topic handed to the channel since start.",
           c_messages);
  e.family("nsqd_channel_requeued_total", "counter", "Messages requeued (REQ) on the channel since start.", c_requeued);
  e.family("nsqd_channel_timed_out_total", "counter", "In-flight messages that timed out on the channel since start.",
           c_timed_out);
  e.family("nsqd_channel_clients", "gauge", "Consumers subscribed to the channel.", c_clients);
  e.family("nsqd_channel_paused", "gauge", "1 when the channel is paused.", c_paused);
  e.family("nsqd_channel_e2e_processing_latency_seconds", "gauge",
           "End-to-end processing latency quantiles (publish to FIN) of the channel over the rolling window.", c_e2e);
  e.family("nsqd_channel_e2e_processing_latency_samples", "gauge",
           "Number of FINished messages in the channel's end-to-end latency window.", c_e2e_count);

  seam::ProcessStats p;
  if (seam::ProcessInfo* info = nsqd.process_info()) p = info->sample();
  e.single("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           static_cast<double>(p.resident_bytes));
  e.single("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
           static_cast<double>(p.virtual_bytes));
  e.single("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", p.cpu_seconds);
  e.single("process_open_fds", "gauge", "Number of open file descriptors.", static_cast<double>(p.open_fds));
  e.single("process_max_fds", "gauge", "Maximum number of open file descriptors.", static_cast<double>(p.max_fds));
  e.single("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
           p.start_time_s);
  e.single("process_heap_in_use_bytes", "gauge", "Bytes allocated by the process's allocator and in use.",
           static_cast<double>(p.heap_in_use_bytes));
  e.single("process_heap_idle_bytes", "gauge", "Bytes held by the allocator but free.",
           static_cast<double>(p.heap_idle_bytes));

  return HttpResponse{200, {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}}, e.take()};
}

}  // namespace nsq::http
