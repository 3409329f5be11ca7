// NSQD: the broker. Owns topics and TCP clients; everything runs on one thread, driven by the seams.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/id_lease.h"
#include "engine/options.h"
#include "engine/seam/clock.h"
#include "engine/seam/file_system.h"
#include "engine/seam/http_client.h"
#include "engine/seam/logger.h"
#include "engine/seam/network.h"
#include "engine/seam/process.h"
#include "engine/seam/random.h"
#include "engine/stats.h"
#include "engine/timing_file.h"

namespace nsq {

class Topic;
class Client;
class QueueScanner;
class BackendQueue;

// The outside world as the engine sees it.
struct Seams {
  seam::Clock& clock;
  seam::Random& random;
  seam::Logger& logger;
  seam::FileSystem* fs = nullptr;  // data-path files (disk queues, nsqd.dat); null = memory only
  seam::ProcessInfo* process = nullptr;  // memory/CPU/fd figures for /stats and /metrics; null = unknown (zeros)
  seam::DatagramSender* datagrams = nullptr;  // statsd; null = statsd disabled
  seam::Dialer* dialer = nullptr;             // outgoing connections (nsqlookupd); null = none
  seam::HttpClient* http_client = nullptr;    // lookupd /channels queries, auth server; null = none
};

class NSQD {
 public:
  NSQD(Options options, Seams seams);
  ~NSQD();
  NSQD(const NSQD&) = delete;
  NSQD& operator=(const NSQD&) = delete;

  // A TCP connection accepted by the io layer; speaks protocol V2 from its first byte (the magic).
  void accept(std::unique_ptr<seam::Connection> conn);

  // Publishes bodies to a topic (created if absent), as HTTP /pub and /mpub do. defer_ns > 0 defers each
  // message. Returns an empty string, or nsqd's error text (e.g. "exiting").
  std::string publish(std::string_view topic, std::span<const std::string_view> bodies, std::int64_t defer_ns);

  Topic& get_topic(std::string_view name);        // creates if absent; name must be valid
  Topic* find_topic(std::string_view name);        // null if absent
  void delete_topic(std::string_view name);
  std::vector<TopicStats> stats(std::string_view topic_filter = {}, std::string_view channel_filter = {},
                                bool include_clients = true) const;

  // Closes every client and stops the timers. After it, accept() closes new connections at once.
  void shutdown();
  bool exiting() const { return exiting_; }

  // --- persistence (no-ops without a file system)
  // Reads <data-path>/nsqd.dat and creates its topics and channels (paused flags restored); each topic starts
  // handing messages to its channels only once all its channels exist. Then rewrites nsqd.dat. Returns "" or
  // the fatal error text ("failed to parse metadata in ..."); on error nothing was created and nothing written.
  std::string load_metadata();
  // Rewrites nsqd.dat soon (coalesced, asynchronous). Called on topic/channel create, delete, pause, unpause.
  void persist_metadata();
  // Rewrites nsqd.dat now; done gets the write's result. Start-up uses it as nsqd's PersistMetadata: an
  // unwritable data path is fatal there (not later, where it is logged and retried on the next change).
  void persist_metadata_now(std::function<void(const seam::IoResult&)> done);
  // Clean shutdown's flush (call after shutdown()): writes nsqd.dat, then every channel's memory, in-flight and
  // deferred messages and every topic's memory queue to their disk queues, syncs them, and calls done once
  // everything is durable.
  void close(std::function<void()> done);
  bool loading() const { return loading_; }
  seam::FileSystem* file_system() { return seams_.fs; }
  // The overflow queue for a topic ("topic") or channel ("topic:channel").
  std::unique_ptr<BackendQueue> make_backend(const std::string& queue_name, bool ephemeral,
                                             bool retain_unwritten = false);
  // The queue's timing side file (engine/timing_file.h): read and removed at start, written at clean shutdown.
  TimingMap take_timing(const std::string& queue_name);
  std::string timing_path(const std::string& queue_name) const;
  void save_timing(const std::string& queue_name, const TimingMap& timing, std::function<void()> done);

  // Ports actually bound, for /info (and lookupd later).
  void set_ports(int tcp_port, int http_port) { tcp_port_ = tcp_port; http_port_ = http_port; }
  int tcp_port() const { return tcp_port_; }
  int http_port() const { return http_port_; }
  void set_https_port(int port) { https_port_ = port; }
  int https_port() const { return https_port_; }
  std::int64_t start_time_s() const { return start_time_s_; }
  // "OK", or "NOK - <last disk error>".
  std::string health() const { return health_.empty() ? "OK" : "NOK - " + health_; }
  bool healthy() const { return health_.empty(); }
  // The last disk write's outcome: an error makes the daemon unhealthy, "" (a later success) clears it.
  void set_health(std::string err) { health_ = std::move(err); }

  const Options& options() const { return opts_; }
  Options& mutable_options() { return opts_; }
  seam::Clock& clock() { return seams_.clock; }
  IdLease& id_lease() { return *id_lease_; }
  seam::Random& random() { return seams_.random; }
  seam::Logger& logger() { return seams_.logger; }
  QueueScanner& scanner() { return *scanner_; }
  std::size_t client_count() const { return clients_.size(); }
  const std::map<std::uint64_t, std::unique_ptr<Client>>& clients() const { return clients_; }
  seam::ProcessInfo* process_info() { return seams_.process; }
  seam::DatagramSender* datagram_sender() { return seams_.datagrams; }
  seam::Dialer* dialer() { return seams_.dialer; }
  seam::HttpClient* http_client() { return seams_.http_client; }

  // nsqlookupd registration events (set by LookupPeers): REGISTER (add) or UNREGISTER a topic ("" channel) or a
  // channel. Not announced while loading metadata: a (re)connect replays the whole state anyway.
  std::function<void(bool add, const std::string& topic, const std::string& channel)> on_registration;
  void announce(bool add, const std::string& topic, const std::string& channel = {}) {
    if (on_registration && !loading()) on_registration(add, topic, channel);
  }
  // PUT /config/nsqlookupd_tcp_addresses changed the peer list.
  std::function<void()> on_lookupd_addresses_changed;
  // "host:port" of every nsqlookupd HTTP API learned from lookupd IDENTIFY answers (set by LookupPeers): a topic
  // created at run time asks them for its channels first (engine/lookupd_channels.h).
  std::function<std::vector<std::string>()> lookupd_http_addresses;
  std::uint64_t next_client_id() { return ++last_client_id_; }
  // Bumped whenever a topic or channel is created or deleted (lets observers skip rescanning the topology).
  std::uint64_t topology_version() const { return topology_version_; }
  void topology_changed() { ++topology_version_; }

  // Engine internals: a client's connection is gone; destroy it after the current handler.
  void remove_client(Client* client);
  // An ephemeral topic lost its last channel.
  void maybe_delete_ephemeral_topic(Topic* topic);

  // Output batching per read: while a connection's bytes are being handled, frames nsqd would flush at once
  // (responses, the last message before a client's RDY window closes) are written when the handler ends,
  // one write per client however many commands the read held (nsqd's per-response flush, coalesced).
  void begin_output_batch() { ++output_batch_; }
  void end_output_batch();
  bool batching_output() const { return output_batch_ > 0; }
  void flush_at_batch_end(std::uint64_t client_id) { batch_dirty_.push_back(client_id); }
  // The clocks for the hot path: inside a batch, read once and reused (a read's commands all happen "now";
  // clock_gettime per message was 6% of the daemon's time). Outside a batch, the clock itself.
  std::int64_t now_ns() {
    if (output_batch_ == 0) return seams_.clock.now_ns();
    if (now_cache_ < 0) now_cache_ = seams_.clock.now_ns();
    return now_cache_;
  }
  std::int64_t wall_ns() {
    if (output_batch_ == 0) return seams_.clock.wall_ns();
    if (!wall_cached_) {
      wall_cache_ = seams_.clock.wall_ns();
      wall_cached_ = true;
    }
    return wall_cache_;
  }

  void log(seam::LogLevel level, std::string_view line);
  // Runs fn after the current handler. Pending ones are cancelled when the NSQD is destroyed, so callbacks never
  // outlive the engine even if the clock does.
  void defer(std::function<void()> fn);

 private:
  Options opts_;
  Seams seams_;
  std::map<std::string, std::unique_ptr<Topic>, std::less<>> topics_;
  std::map<std::uint64_t, std::unique_ptr<Client>> clients_;
  std::vector<std::unique_ptr<Client>> dead_clients_;
  std::unique_ptr<QueueScanner> scanner_;
  std::unique_ptr<IdLease> id_lease_;
  std::uint64_t last_client_id_ = 0;
  std::uint64_t topology_version_ = 0;
  std::int64_t start_time_s_ = 0;
  int tcp_port_ = 0;
  int http_port_ = 0;
  int https_port_ = 0;
  bool exiting_ = false;
  bool loading_ = false;
  bool metadata_write_running_ = false;
  bool metadata_write_again_ = false;
  bool metadata_write_scheduled_ = false;
  std::vector<std::function<void()>> metadata_waiters_;
  seam::IoResult metadata_result_;  // of the last nsqd.dat write, for persist_metadata_now's caller
  void write_metadata_now(std::function<void()> done);
  std::string metadata_path() const;
  bool reap_scheduled_ = false;
  int output_batch_ = 0;
  std::int64_t now_cache_ = -1;
  std::int64_t wall_cache_ = 0;
  bool wall_cached_ = false;
  std::vector<std::uint64_t> batch_dirty_;
  std::string health_;
  std::set<seam::TimerId> deferred_tasks_;
  // Lets an I/O completion that arrives after destruction see that the engine is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace nsq
