#include "io_real/options_parser.h"

#include <CLI/CLI.hpp>
#include <openssl/evp.h>
#include <toml++/toml.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <sstream>
#include <string_view>
#include <variant>

#include "io_real/go_duration.h"
#include "io_real/spdlog_logger.h"

namespace nsq::io_real {

namespace {

// How an option's text is read. Storage is the Options member the spec points at.
enum class Kind {
  text,
  integer,
  duration,     // Go duration string; integers in the config file are milliseconds
  boolean,      // a bool-style flag: "--x" alone means true
  real,
  text_list,    // repeatable flag, TOML array of strings
  percentiles,  // repeatable flag of comma lists, TOML array of numbers
  tls_required,
  tls_min_version,
  log_level,
};

using Field = std::variant<std::string Options::*, std::int64_t Options::*, int Options::*, bool Options::*,
                           double Options::*, std::vector<std::string> Options::*, std::vector<double> Options::*>;
using Value = std::variant<std::string, std::int64_t, bool, double, std::vector<std::string>, std::vector<double>>;

struct Spec {
  const char* flag;
  const char* key;  // config file key
  Kind kind;
  Field field;
  const char* help;
};

// clang-format off
const Spec kSpecs[] = {
  {"log-level", "log_level", Kind::log_level, &Options::log_level, "set log verbosity: debug, info, warn, error, or fatal"},
  {"log-prefix", "log_prefix", Kind::text, &Options::log_prefix, "log message prefix"},
  {"node-id", "id", Kind::integer, &Options::node_id, "unique part for message IDs, (int) in range [0,1024) (default is hash of hostname)"},
  {"tcp-address", "tcp_address", Kind::text, &Options::tcp_address, "<addr>:<port> to listen on for TCP clients"},
  {"http-address", "http_address", Kind::text, &Options::http_address, "<addr>:<port> to listen on for HTTP clients (empty disables)"},
  {"https-address", "https_address", Kind::text, &Options::https_address, "<addr>:<port> to listen on for HTTPS clients"},
  {"broadcast-address", "broadcast_address", Kind::text, &Options::broadcast_address, "address that will be registered with lookupd (defaults to the OS hostname)"},
  {"broadcast-tcp-port", "broadcast_tcp_port", Kind::integer, &Options::broadcast_tcp_port, "TCP port that will be registered with lookupd (defaults to the TCP port that this nsqd is listening on)"},
  {"broadcast-http-port", "broadcast_http_port", Kind::integer, &Options::broadcast_http_port, "HTTP port that will be registered with lookupd (defaults to the HTTP port that this nsqd is listening on)"},
  {"lookupd-tcp-address", "nsqlookupd_tcp_addresses", Kind::text_list, &Options::lookupd_tcp_addresses, "lookupd TCP address (may be given multiple times)"},
  {"auth-http-address", "auth_http_addresses", Kind::text_list, &Options::auth_http_addresses, "<addr>:<port> or a full url to query auth server (may be given multiple times)"},
  {"auth-http-request-method", "auth_http_request_method", Kind::text, &Options::auth_http_request_method, "HTTP method to use for auth server requests"},
  {"http-client-connect-timeout", "http_client_connect_timeout", Kind::duration, &Options::http_client_connect_timeout, "timeout for HTTP connect"},
  {"http-client-request-timeout", "http_client_request_timeout", Kind::duration, &Options::http_client_request_timeout, "timeout for HTTP request"},
  {"data-path", "data_path", Kind::text, &Options::data_path, "path to store disk-backed messages"},
  {"mem-queue-size", "mem_queue_size", Kind::integer, &Options::mem_queue_size, "number of messages to keep in memory (per topic/channel)"},
  {"max-bytes-per-file", "max_bytes_per_file", Kind::integer, &Options::max_bytes_per_file, "number of bytes per diskqueue file before rolling"},
  {"sync-every", "sync_every", Kind::integer, &Options::sync_every, "number of messages per diskqueue fsync"},
  {"sync-timeout", "sync_timeout", Kind::duration, &Options::sync_timeout, "duration of time per diskqueue fsync"},
  {"durable", "durable", Kind::boolean, &Options::durable, "(nsqd-cpp) answer PUB/MPUB/DPUB only after fsync and never lose an acknowledged, unfinished message in a crash"},
  {"queue-scan-worker-pool-max", "queue_scan_worker_pool_max", Kind::integer, &Options::queue_scan_worker_pool_max, "max concurrency for checking in-flight and deferred message timeouts"},
  {"queue-scan-selection-count", "queue_scan_selection_count", Kind::integer, &Options::queue_scan_selection_count, "number of channels to check per cycle (every 100ms) for in-flight and deferred timeouts"},
  {"queue-scan-interval", "queue_scan_interval", Kind::duration, &Options::queue_scan_interval, "time between queue scan cycles (hidden option in nsqd)"},
  {"queue-scan-refresh-interval", "queue_scan_refresh_interval", Kind::duration, &Options::queue_scan_refresh_interval, "time between refreshes of the scanned channel set (hidden option in nsqd)"},
  {"queue-scan-dirty-percent", "queue_scan_dirty_percent", Kind::real, &Options::queue_scan_dirty_percent, "fraction of dirty channels that triggers an immediate rescan (hidden option in nsqd)"},
  {"msg-timeout", "msg_timeout", Kind::duration, &Options::msg_timeout, "default duration to wait before auto-requeing a message"},
  {"max-msg-timeout", "max_msg_timeout", Kind::duration, &Options::max_msg_timeout, "maximum duration before a message will timeout"},
  {"max-msg-size", "max_msg_size", Kind::integer, &Options::max_msg_size, "maximum size of a single message in bytes"},
  {"max-req-timeout", "max_req_timeout", Kind::duration, &Options::max_req_timeout, "maximum requeuing timeout for a message"},
  {"max-body-size", "max_body_size", Kind::integer, &Options::max_body_size, "maximum size of a single command body"},
  {"max-heartbeat-interval", "max_heartbeat_interval", Kind::duration, &Options::max_heartbeat_interval, "maximum client configurable duration of time between client heartbeats"},
  {"max-rdy-count", "max_rdy_count", Kind::integer, &Options::max_rdy_count, "maximum RDY count for a client"},
  {"max-output-buffer-size", "max_output_buffer_size", Kind::integer, &Options::max_output_buffer_size, "maximum client configurable size (in bytes) for a client output buffer"},
  {"max-output-buffer-timeout", "max_output_buffer_timeout", Kind::duration, &Options::max_output_buffer_timeout, "maximum client configurable duration of time between flushing to a client"},
  {"min-output-buffer-timeout", "min_output_buffer_timeout", Kind::duration, &Options::min_output_buffer_timeout, "minimum client configurable duration of time between flushing to a client"},
  {"output-buffer-timeout", "output_buffer_timeout", Kind::duration, &Options::output_buffer_timeout, "default duration of time between flushing data to clients"},
  {"max-channel-consumers", "max_channel_consumers", Kind::integer, &Options::max_channel_consumers, "maximum channel consumer connection count per nsqd instance (default 0, i.e., unlimited)"},
  {"statsd-address", "statsd_address", Kind::text, &Options::statsd_address, "UDP <addr>:<port> of a statsd daemon for pushing stats"},
  {"statsd-prefix", "statsd_prefix", Kind::text, &Options::statsd_prefix, "prefix used for keys sent to statsd (%s for host replacement)"},
  {"statsd-interval", "statsd_interval", Kind::duration, &Options::statsd_interval, "duration between pushing to statsd"},
  {"statsd-mem-stats", "statsd_mem_stats", Kind::boolean, &Options::statsd_mem_stats, "toggle sending memory and GC stats to statsd"},
  {"statsd-udp-packet-size", "statsd_udp_packet_size", Kind::integer, &Options::statsd_udp_packet_size, "the size in bytes of statsd UDP packets"},
  {"statsd-exclude-ephemeral", "statsd_exclude_ephemeral", Kind::boolean, &Options::statsd_exclude_ephemeral, "Skip ephemeral topics and channels when sending stats to statsd"},
  {"e2e-processing-latency-percentile", "e2e_processing_latency_percentiles", Kind::percentiles, &Options::e2e_processing_latency_percentiles, "message processing time percentiles (as float (0, 1.0]) to track (can be specified multiple times or comma separated '1.0,0.99,0.95')"},
  {"e2e-processing-latency-window-time", "e2e_processing_latency_window_time", Kind::duration, &Options::e2e_processing_latency_window_time, "calculate end to end latency quantiles for this duration of time"},
  {"tls-cert", "tls_cert", Kind::text, &Options::tls_cert, "path to certificate file"},
  {"tls-key", "tls_key", Kind::text, &Options::tls_key, "path to key file"},
  {"tls-client-auth-policy", "tls_client_auth_policy", Kind::text, &Options::tls_client_auth_policy, "client certificate auth policy ('require' or 'require-verify')"},
  {"tls-root-ca-file", "tls_root_ca_file", Kind::text, &Options::tls_root_ca_file, "path to certificate authority file"},
  {"tls-required", "tls_required", Kind::tls_required, &Options::tls_required, "require TLS for client connections (true, false, tcp-https)"},
  {"tls-min-version", "tls_min_version", Kind::tls_min_version, &Options::tls_min_version, "minimum SSL/TLS version acceptable ('tls1.0', 'tls1.1', 'tls1.2' or 'tls1.3')"},
  {"deflate", "deflate", Kind::boolean, &Options::deflate, "enable deflate feature negotiation (client compression)"},
  {"max-deflate-level", "max_deflate_level", Kind::integer, &Options::max_deflate_level, "max deflate compression level a client can negotiate (> values == > nsqd CPU usage)"},
  {"snappy", "snappy", Kind::boolean, &Options::snappy, "enable snappy feature negotiation (client compression)"},
};
// clang-format on

struct Error {
  std::string text;  // why the value is invalid
};
using Result = std::variant<Value, Error>;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Go's strconv.ParseBool.
std::optional<bool> parse_go_bool(std::string_view s) {
  for (std::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (s == t) return true;
  }
  for (std::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (s == f) return false;
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') return std::nullopt;
  }
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_real(std::string_view s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Result parse_percentiles(const std::vector<std::string>& items) {
  std::vector<double> out;
  for (const auto& item : items) {
    std::string_view rest = item;
    while (true) {
      const auto comma = rest.find(',');
      const auto v = parse_real(rest.substr(0, comma));
      if (!v) return Error{std::string("invalid float value")};
      out.push_back(*v);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

// A scalar option's text (a flag value, or a config string).
Result parse_text(Kind kind, const std::string& s) {
  switch (kind) {
    case Kind::text:
      return s;
    case Kind::integer:
      if (auto v = parse_int(s)) return *v;
      return Error{std::string("invalid integer")};
    case Kind::duration:
      if (auto v = parse_go_duration(s)) return *v;
      return Error{std::string("invalid duration " + s)};
    case Kind::boolean:
      if (auto v = parse_go_bool(s)) return *v;
      return Error{std::string("invalid boolean")};
    case Kind::real:
      if (auto v = parse_real(s)) return *v;
      return Error{std::string("invalid float")};
    case Kind::text_list:
      return std::vector<std::string>{s};
    case Kind::percentiles:
      return parse_percentiles({s});
    case Kind::tls_required: {
      const std::string l = lower(s);
      if (l == "tcp-https") return std::int64_t{1};  // TLSRequiredExceptHTTP
      if (auto v = parse_go_bool(l)) return std::int64_t{*v ? 2 : 0};
      return Error{std::string("invalid tls-required value")};
    }
    case Kind::tls_min_version: {
      static const std::map<std::string, std::int64_t> kVersions = {
          {"tls1.0", 0x0301}, {"tls1.1", 0x0302}, {"tls1.2", 0x0303}, {"tls1.3", 0x0304}};
      const auto it = kVersions.find(lower(s));
      if (it != kVersions.end()) return it->second;
      return Error{std::string("unknown tlsVersionOption \"" + s + "\"")};
    }
    case Kind::log_level:
      if (parse_log_level(s)) return lower(s);
      return Error{std::string("invalid log-level \"" + s + "\"")};
  }
  return Error{std::string("unsupported option")};
}

// Every occurrence of a flag on the command line; the last wins except for the repeatable kinds.
Result parse_flag(Kind kind, const std::vector<std::string>& occurrences) {
  if (kind == Kind::text_list) return occurrences;
  if (kind == Kind::percentiles) return parse_percentiles(occurrences);
  return parse_text(kind, occurrences.back());
}

// A config file value, coerced as go-options does.
Result parse_config(Kind kind, const toml::node& node) {
  if (const auto* s = node.as_string()) {
    const std::string& text = s->get();
    // go-options: an all-digits string for a duration is a count of milliseconds.
    if (kind == Kind::duration && !text.empty() &&
        std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
      if (auto ms = parse_int(text)) return *ms * kMillisecond;
      return Error{std::string("invalid duration " + text)};
    }
    return parse_text(kind, text);
  }
  if (const auto* i = node.as_integer()) {
    const std::int64_t v = i->get();
    switch (kind) {
      case Kind::integer: return v;
      case Kind::duration: return v * kMillisecond;   // integers are milliseconds
      case Kind::boolean: return v == 0;              // go-options inverts integer booleans (nsqd quirk)
      case Kind::real: return static_cast<double>(v);
      case Kind::percentiles: return std::vector<double>{static_cast<double>(v)};
      default: break;
    }
    return Error{std::string("invalid value type")};
  }
  if (const auto* f = node.as_floating_point()) {
    if (kind == Kind::real) return f->get();
    if (kind == Kind::percentiles) return std::vector<double>{f->get()};
    return Error{std::string("invalid value type")};
  }
  if (const auto* b = node.as_boolean()) {
    if (kind == Kind::boolean) return b->get();
    if (kind == Kind::tls_required) return std::int64_t{b->get() ? 2 : 0};
    return Error{std::string("invalid value type")};
  }
  if (const auto* array = node.as_array()) {
    if (kind == Kind::text_list) {
      std::vector<std::string> out;
      for (const auto& item : *array) {
        const auto* s = item.as_string();
        if (s == nullptr) return Error{std::string("invalid value type")};
        out.push_back(s->get());
      }
      return out;
    }
    if (kind == Kind::percentiles) {
      std::vector<double> out;
      for (const auto& item : *array) {
        if (const auto* f = item.as_floating_point()) out.push_back(f->get());
        else if (const auto* i = item.as_integer()) out.push_back(static_cast<double>(i->get()));
        else return Error{std::string("invalid value type")};
      }
      return out;
    }
  }
  return Error{std::string("invalid value type")};
}

void store(Options& options, const Field& field, const Value& value) {
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(options.*member)>;
        if constexpr (std::is_same_v<T, int>) {
          options.*member = static_cast<int>(std::get<std::int64_t>(value));
        } else {
          options.*member = std::get<T>(value);
        }
      },
      field);
}

// Go's flag package accepts "-name" as well as "--name"; CLI11 reads only "--name" for long options.
std::vector<std::string> normalize_dashes(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  bool flags_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") flags_done = true;
    if (i > 0 && !flags_done && a.size() > 2 && a[0] == '-' && a[1] != '-' && !std::isdigit(static_cast<unsigned char>(a[1]))) {
      out.push_back("-" + a);
    } else {
      out.push_back(a);
    }
  }
  return out;
}

std::string fatal(const std::string& prefix, const std::string& message) {
  return prefix + "FATAL: " + message + "\n";
}

// nsqd.New's checks (after the values are resolved).
std::optional<std::string> validate(Options& o) {
  if (o.max_deflate_level < 1 || o.max_deflate_level > 9) return "--max-deflate-level must be [1,9]";
  if (o.node_id < 0 || o.node_id >= 1024) return "--node-id must be [0,1024)";
  for (double p : o.e2e_processing_latency_percentiles) {
    if (!(p > 0 && p <= 1)) {
      std::ostringstream text;
      text << "invalid E2E processing latency percentile: " << p;
      return text.str();
    }
  }
  std::sort(o.e2e_processing_latency_percentiles.begin(), o.e2e_processing_latency_percentiles.end(),
            std::greater<>());
  if (o.auth_http_request_method != "post" && o.auth_http_request_method != "get") {
    return "--auth-http-request-method must be post or get";
  }
  if (!o.tls_client_auth_policy.empty() && o.tls_required == 0) o.tls_required = 2;
  // Only one of cert and key fails later, when the TLS config is built (as nsqd's buildTLSConfig).
  if (o.tls_required > 0 && o.tls_cert.empty() && o.tls_key.empty()) {
    return "cannot require TLS client connections without TLS key and cert";
  }
  return std::nullopt;
}

}  // namespace

std::int64_t default_node_id(const std::string& hostname) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  EVP_Digest(hostname.data(), hostname.size(), digest, &digest_len, EVP_md5(), nullptr);
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), digest, digest_len);
  return static_cast<std::int64_t>(crc % 1024);
}

ParseOutcome parse_options(const std::vector<std::string>& raw_args, const std::string& hostname) {
  ParseOutcome outcome;
  CLI::App app{"nsqd: a realtime distributed messaging platform (nsqd-cpp)", "nsqd"};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);

  std::string config_path;
  std::string ignored;
  app.add_option("--config", config_path, "path to config file");
  bool show_version = false;
  app.add_flag("--version", show_version, "print version string");
  app.add_flag("--verbose{true}", ignored, "[deprecated] has no effect, use --log-level");
  app.add_flag("--worker-id{true}", ignored, "[deprecated] use --node-id");

  // Each option collects its raw occurrences; `given` tells an explicit flag from a default.
  std::map<std::string, std::vector<std::string>> flag_values;
  std::map<std::string, CLI::Option*> flag_options;
  for (const Spec& spec : kSpecs) {
    auto& values = flag_values[spec.flag];
    const std::string name = std::string("--") + spec.flag;
    CLI::Option* opt = nullptr;
    if (spec.kind == Kind::boolean || spec.kind == Kind::tls_required) {
      opt = app.add_flag(name + "{true}", values, spec.help);
    } else {
      opt = app.add_option(name, values, spec.help)->expected(1);
    }
    flag_options[spec.flag] = opt;
  }

  // Go's flag package takes `--name=` as an explicit empty value (`--http-address=` disables HTTP); CLI11 would
  // take the next argument as the value instead. Such arguments are set aside and applied after parsing.
  std::map<std::string, int> explicit_empty;  // flag -> position among its occurrences
  std::vector<std::string> args;
  for (std::string& a : normalize_dashes(raw_args)) {
    if (a.size() > 3 && a.starts_with("--") && a.back() == '=' && a.find('=') == a.size() - 1 &&
        flag_values.count(a.substr(2, a.size() - 3)) > 0) {
      explicit_empty[a.substr(2, a.size() - 3)] = 1;
      continue;
    }
    args.push_back(std::move(a));
  }
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::CallForHelp&) {
    outcome.out = app.help();
    return outcome;
  } catch (const CLI::ParseError& e) {
    outcome.exit_code = 1;
    outcome.err = std::string("nsqd: ") + e.what() + "\nRun with --help for more information.\n";
    return outcome;
  }
  if (show_version) {
    outcome.out = std::string("nsqd v") + kVersion + " (built w/nsqd-cpp)\n";
    return outcome;
  }

  toml::table config;
  if (!config_path.empty()) {
    try {
      config = toml::parse_file(config_path);
    } catch (const toml::parse_error& e) {
      std::ostringstream text;
      text << "failed to load config file " << config_path << " - " << e.description() << " at "
           << e.source().begin;
      outcome.exit_code = 1;
      outcome.err = fatal("[nsqd] ", text.str());
      return outcome;
    }
  }

  Options options;
  bool node_id_set = false;
  for (const Spec& spec : kSpecs) {
    Result result;
    std::string source;
    if (explicit_empty.count(spec.flag) > 0 && flag_options[spec.flag]->count() == 0) {
      flag_values[spec.flag].push_back("");
    }
    if (!flag_values[spec.flag].empty()) {
      result = parse_flag(spec.kind, flag_values[spec.flag]);
      source = "invalid value \"" + flag_values[spec.flag].back() + "\" for flag --" + spec.flag;
    } else if (const toml::node* node = config.get(spec.key)) {
      result = parse_config(spec.kind, *node);
      source = "invalid value for config option " + std::string(spec.key);
    } else {
      continue;
    }
    if (const auto* error = std::get_if<Error>(&result)) {
      outcome.exit_code = 1;
      outcome.err = "nsqd: " + source + ": " + error->text + "\n";
      return outcome;
    }
    store(options, spec.field, std::get<Value>(result));
    if (std::string_view(spec.flag) == "node-id") node_id_set = true;
  }

  options.hostname = hostname;
  if (options.broadcast_address.empty()) options.broadcast_address = hostname;
  if (!node_id_set) options.node_id = default_node_id(hostname);
  if (auto error = validate(options)) {
    outcome.exit_code = 1;
    outcome.err = fatal(options.log_prefix, "failed to instantiate nsqd - " + *error);
    return outcome;
  }
  outcome.options = std::move(options);
  return outcome;
}

}  // namespace nsq::io_real
