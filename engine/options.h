// Every nsqd option the engine reads, with nsqd v1.3.0's defaults. Durations are nanoseconds.
// io_real fills this from flags and the TOML config (names as nsqd's); io_sim fills it from a scenario.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nsq {

inline constexpr std::int64_t kMillisecond = 1'000'000;
inline constexpr std::int64_t kSecond = 1000 * kMillisecond;
inline constexpr std::int64_t kMinute = 60 * kSecond;
inline constexpr std::int64_t kHour = 60 * kMinute;

inline constexpr const char* kVersion = "1.3.0";

struct Options {
  // identity and addresses
  std::int64_t node_id = 0;  // io_real defaults it to crc32(md5(hostname)) % 1024 like nsqd
  std::string log_level = "info";
  std::string log_prefix = "[nsqd] ";
  std::string tcp_address = "0.0.0.0:4150";
  std::string http_address = "0.0.0.0:4151";
  std::string https_address = "0.0.0.0:4152";
  std::string broadcast_address;  // default: hostname
  std::string hostname;           // the OS hostname, filled by the io layer
  int broadcast_tcp_port = 0;
  int broadcast_http_port = 0;
  std::vector<std::string> lookupd_tcp_addresses;
  bool lookupd_tcp_addresses_null = false;  // PUT /config/... `null` left Go's nil slice: /config shows null
  std::vector<std::string> auth_http_addresses;
  // "get" (query string, nsqd v1.3.0) or "post" (form values as a JSON body, as nsqd after 1.3.0).
  std::string auth_http_request_method = "get";
  std::int64_t http_client_connect_timeout = 2 * kSecond;
  std::int64_t http_client_request_timeout = 5 * kSecond;

  // storage
  std::string data_path;
  std::int64_t mem_queue_size = 10000;
  std::int64_t max_bytes_per_file = 100 * 1024 * 1024;
  std::int64_t sync_every = 2500;
  std::int64_t sync_timeout = 2 * kSecond;
  // nsqd-cpp only (off = nsqd's behaviour): PUB/MPUB/DPUB answer OK once their messages are fsynced (group
  // commit), every message goes through the disk queues, and a channel's read position on disk never passes a
  // message that is not FINished, so a crash loses no acknowledged, unfinished message (at least once).
  bool durable = false;

  // queue scan (interval, refresh and dirty percent are hidden in nsqd; options here)
  int queue_scan_worker_pool_max = 4;
  int queue_scan_selection_count = 20;
  std::int64_t queue_scan_interval = 100 * kMillisecond;
  std::int64_t queue_scan_refresh_interval = 5 * kSecond;
  double queue_scan_dirty_percent = 0.25;

  // messages and protocol
  std::int64_t msg_timeout = 60 * kSecond;
  std::int64_t max_msg_timeout = 15 * kMinute;
  std::int64_t max_msg_size = 1024 * 1024;
  std::int64_t max_body_size = 5 * 1024 * 1024;
  std::int64_t max_req_timeout = 1 * kHour;
  std::int64_t client_timeout = 60 * kSecond;  // hidden in nsqd; default heartbeat is half of it
  std::int64_t max_heartbeat_interval = 60 * kSecond;
  std::int64_t max_rdy_count = 2500;
  std::int64_t max_output_buffer_size = 64 * 1024;
  std::int64_t max_output_buffer_timeout = 30 * kSecond;
  std::int64_t min_output_buffer_timeout = 25 * kMillisecond;
  std::int64_t output_buffer_timeout = 250 * kMillisecond;
  std::int64_t max_channel_consumers = 0;  // 0 = unlimited

  // statsd and e2e latency (used by the HTTP/stats issue)
  std::string statsd_address;
  std::string statsd_prefix = "nsq.%s";
  std::int64_t statsd_interval = 60 * kSecond;
  bool statsd_mem_stats = true;
  int statsd_udp_packet_size = 508;
  bool statsd_exclude_ephemeral = false;
  std::vector<double> e2e_processing_latency_percentiles;
  std::int64_t e2e_processing_latency_window_time = 10 * kMinute;

  // TLS and compression (negotiated in IDENTIFY; granted false until the TLS/compression issue)
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_auth_policy;
  std::string tls_root_ca_file;
  int tls_required = 0;  // 0 no, 1 tcp-https, 2 yes (nsqd's TLSNotRequired / TLSRequiredExceptHTTP / TLSRequired)
  int tls_min_version = 0x0301;
  bool deflate = true;
  int max_deflate_level = 6;
  bool snappy = true;
};

}  // namespace nsq
