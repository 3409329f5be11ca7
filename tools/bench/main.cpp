// nsqd-bench: load generator for nsqd (NSQ TCP protocol V2), comparable to Go nsq's
// bench/bench_writer and bench/bench_reader, plus a combined pub+sub mode with end-to-end latency.
//
//   nsqd-bench pub    --nsqd-tcp-address=127.0.0.1:4150 --topic=bench --connections=2 --batch-size=200 --size=200 --duration=10s
//   nsqd-bench sub    --nsqd-tcp-address=127.0.0.1:4150 --topic=bench --channel=ch --connections=2 --rdy=2500 --duration=10s
//   nsqd-bench pubsub --nsqd-tcp-address=127.0.0.1:4150 --rate=20000 --batch-size=1 --duration=10s
//
// Exit status: 0 ok, 1 protocol/connection error (message on stderr), CLI11 codes for bad usage.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>
#include <stdexcept>

#include "duration.h"
#include "runner.h"

using namespace nsqbench;

namespace {

struct DurationArgs {
  std::string duration = "10s";
  std::string warmup = "0s";
  std::string idle_timeout;
  std::string drain_timeout = "10s";
};

double to_seconds(const std::string& text, const char* flag) {
  auto v = parse_duration(text);
  if (!v) throw CLI::ValidationError(flag, "invalid duration '" + text + "' (e.g. 10s, 500ms, 1m)");
  return *v;
}

void add_common(CLI::App* app, BenchOptions& o, DurationArgs& d, bool& json) {
  app->add_option("--nsqd-tcp-address", o.address, "nsqd TCP address <host>:<port>")->capture_default_str();
  app->add_option("--topic", o.topic, "topic")->capture_default_str();
  app->add_option("--duration", d.duration, "measurement duration (after warmup)")->capture_default_str();
  app->add_option("--warmup", d.warmup, "run traffic this long before measuring")->capture_default_str();
  app->add_option("--threads", o.threads, "io threads (0 = one per connection)")->capture_default_str();
  app->add_option("--client-id", o.identify.client_id, "IDENTIFY client_id")->capture_default_str();
  app->add_option("--output-buffer-size", o.identify.output_buffer_size,
                  "IDENTIFY output_buffer_size in bytes (0 = server default, -1 = unbuffered)")
      ->capture_default_str();
  app->add_option("--output-buffer-timeout", o.identify.output_buffer_timeout_ms,
                  "IDENTIFY output_buffer_timeout in ms (0 = server default)")
      ->capture_default_str();
  app->add_option("--heartbeat-interval", o.identify.heartbeat_interval_ms,
                  "IDENTIFY heartbeat_interval in ms (0 = server default)")
      ->capture_default_str();
  app->add_flag("--tls", o.identify.tls, "IDENTIFY tls_v1: upgrade every connection to TLS (certificate not verified)");
  app->add_flag("--snappy", o.identify.snappy, "IDENTIFY snappy: framed snappy stream after IDENTIFY (and TLS)");
  app->add_flag("--deflate", o.identify.deflate, "IDENTIFY deflate: raw deflate stream after IDENTIFY (and TLS)");
  app->add_option("--deflate-level", o.identify.deflate_level, "IDENTIFY deflate_level (nsqd caps it)")
      ->capture_default_str()
      ->check(CLI::Range(1, 9));
  app->add_flag("--json", json, "print one machine-readable JSON line instead of text");
}

void add_pub(CLI::App* app, BenchOptions& o) {
  app->add_option("--batch-size", o.batch_size, "messages per MPUB (1 = PUB)")->capture_default_str()->check(CLI::Range(1, 1000000));
  app->add_option("--size", o.size, "message body size in bytes")->capture_default_str()->check(CLI::Range(1, 64 << 20));
  app->add_option("--rate", o.rate, "total publish rate in msgs/s across connections (0 = unlimited)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app->add_option("--max-in-flight", o.max_in_flight, "outstanding (un-acknowledged) batches per connection")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
}

void add_sub(CLI::App* app, BenchOptions& o) {
  app->add_option("--channel", o.channel, "channel")->capture_default_str();
  app->add_option("--rdy", o.rdy, "RDY count per connection")->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nsqd-bench: load generator for nsqd (NSQ TCP protocol V2)"};
  app.require_subcommand(1);

  BenchOptions pub_o, sub_o, ps_o;
  pub_o.mode = Mode::kPub;
  sub_o.mode = Mode::kSub;
  ps_o.mode = Mode::kPubSub;
  ps_o.batch_size = 1;
  DurationArgs pub_d, sub_d, ps_d;
  sub_d.idle_timeout = "2s";
  ps_d.idle_timeout = "0s";
  pub_d.idle_timeout = "0s";
  bool pub_json = false, sub_json = false, ps_json = false;

  auto* pub = app.add_subcommand("pub", "publish as fast as possible (or at --rate) and count acknowledgements");
  add_common(pub, pub_o, pub_d, pub_json);
  add_pub(pub, pub_o);
  pub->add_option("--connections", pub_o.connections, "publishing connections")->capture_default_str()->check(CLI::Range(1, 4096));
  pub->add_flag("--stamp", pub_o.stamp, "write the send time (monotonic ns) into the first 8 body bytes");

  auto* sub = app.add_subcommand("sub", "subscribe, RDY, FIN every message and count them");
  add_common(sub, sub_o, sub_d, sub_json);
  add_sub(sub, sub_o);
  sub->add_option("--connections", sub_o.connections, "consuming connections")->capture_default_str()->check(CLI::Range(1, 4096));
  sub->add_option("--idle-timeout", sub_d.idle_timeout,
                  "stop early once no message arrived for this long (rate then covers up to the last message; 0 = off)")
      ->capture_default_str();
  sub->add_option("--size", sub_o.size, "expected body size, for MiB/s")->capture_default_str();
  sub->add_flag("--latency", sub_o.latency, "record latency from bodies stamped by `pub --stamp` (same host)");

  auto* ps = app.add_subcommand("pubsub", "publish and consume one topic/channel at once; end-to-end latency");
  add_common(ps, ps_o, ps_d, ps_json);
  add_pub(ps, ps_o);
  add_sub(ps, ps_o);
  ps->add_option("--connections", ps_o.connections, "publishing connections")->capture_default_str()->check(CLI::Range(1, 4096));
  ps->add_option("--sub-connections", ps_o.sub_connections, "consuming connections (0 = same as --connections)")
      ->capture_default_str();
  ps->add_option("--drain-timeout", ps_d.drain_timeout, "after publishing stops, wait this long for consumers to catch up")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  BenchOptions* o = nullptr;
  DurationArgs* d = nullptr;
  bool json = false;
  if (pub->parsed()) {
    o = &pub_o, d = &pub_d, json = pub_json;
  } else if (sub->parsed()) {
    o = &sub_o, d = &sub_d, json = sub_json;
  } else {
    o = &ps_o, d = &ps_d, json = ps_json;
  }
  try {
    o->duration_s = to_seconds(d->duration, "--duration");
    o->warmup_s = to_seconds(d->warmup, "--warmup");
    o->idle_timeout_s = to_seconds(d->idle_timeout, "--idle-timeout");
    o->drain_timeout_s = to_seconds(d->drain_timeout, "--drain-timeout");
  } catch (const CLI::Error& e) {
    return app.exit(e);
  }

  try {
    const BenchResult r = run_bench(*o);
    if (json) {
      std::cout << format_json(*o, r) << std::endl;
    } else {
      std::cout << format_text(*o, r) << std::flush;
    }
  } catch (const std::exception& e) {
    std::cerr << "nsqd-bench: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
