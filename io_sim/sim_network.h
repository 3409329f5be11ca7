// In-memory TCP for the simulation. Each connection is a pipe with two ends that both implement
// seam::Connection: the server end goes to the engine through a SimListener, the client end to a simulated
// client. Bytes travel as seeded random chunks with seeded latencies, in order per direction, and every
// delivery is a timer on the VirtualClock, so a seed fixes the interleaving of the whole run.
//
// Model, per direction: write() appends to the sender's output queue; a moment later (seeded) the "transport"
// accepts as much as the window allows (bytes in transit + bytes arrived but unread by the receiver), cuts it
// into chunks and schedules their arrival; when the queue empties the sender gets on_drained(). A receiver
// that is not started or has reading disabled holds arrived bytes, which fills the window: that is how a
// client that stops reading back-pressures the engine. close() flushes, then sends EOF after the last chunk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/seam/network.h"
#include "io_sim/prng.h"
#include "io_sim/virtual_clock.h"

namespace nsq::io_sim {

class Trace;
class SimNetwork;

// Sees the engine's side of every connection (side 0, the server end), for a reference model that must
// know exactly what the engine processed and when: server_read runs right before the engine's on_read gets
// the bytes (so everything the engine does in that call follows it), server_write whenever the engine writes
// (even to a connection that is already dead: the engine believes it sent those bytes).
class ServerTap {
 public:
  virtual ~ServerTap() = default;
  virtual void server_read(std::uint64_t conn_id, std::string_view bytes) = 0;
  virtual void server_write(std::uint64_t conn_id, std::string_view bytes) = 0;
};

struct NetworkConfig {
  std::int64_t min_latency_ns = 20'000;        // one-way latency of a chunk: uniform in [min, max]
  std::int64_t max_latency_ns = 2'000'000;
  std::int64_t max_accept_delay_ns = 200'000;  // transport picks up queued writes after uniform [0, this]
  std::uint64_t small_chunk_odds = 2;          // 1 in this many chunks is small (1..max_small_chunk bytes)
  std::size_t max_small_chunk = 16;
  std::size_t max_segment = 4096;              // other chunks: up to this many bytes
  std::size_t window_bytes = 256 * 1024;       // in transit + unread at the receiver, per direction
  std::int64_t close_linger_ns = 1'000'000'000;  // close() gives queued bytes this long, then resets
};

// One end of a simulated connection. Handles may outlive the network (calls become no-ops).
class SimConnection final : public seam::Connection {
 public:
  SimConnection(SimNetwork& net, std::uint64_t pipe_id, int side, std::string remote);
  ~SimConnection() override;
  SimConnection(const SimConnection&) = delete;
  SimConnection& operator=(const SimConnection&) = delete;

  void start(seam::ConnectionHandler* handler) override;
  void write(std::string&& bytes) override;
  std::size_t pending_bytes() const override;
  void set_reading(bool enabled) override;
  void close() override;
  const std::string& remote_address() const override { return remote_; }
  // IDENTIFY's upgrades in memory: the simulated TLS handshake completes on the next turn of the virtual clock
  // and compression is the identity transform (both ends of a pipe are ours, so they agree), which keeps runs
  // deterministic and byte streams readable in traces.
  bool upgrade_tls(UpgradeDone done) override;
  bool enable_snappy() override { return !net_alive_.expired(); }
  bool enable_deflate(int) override { return !net_alive_.expired(); }
  TlsState tls_state() const override;

  // Both ends of a connection share this id (the fault hooks take it).
  std::uint64_t id() const { return pipe_id_; }

 private:
  SimNetwork* net_;
  std::weak_ptr<int> net_alive_;
  std::uint64_t pipe_id_;
  int side_;
  std::string remote_;
  bool tls_ = false;
};

class SimListener final : public seam::Listener {
 public:
  SimListener(SimNetwork& net, std::string address);
  ~SimListener() override;
  void start(AcceptFn on_accept) override;
  void close() override;
  std::string local_address() const override { return address_; }

 private:
  friend class SimNetwork;
  SimNetwork* net_;
  std::weak_ptr<int> net_alive_;
  std::string address_;
  AcceptFn on_accept_;
  bool closed_ = false;
};

// A ConnectionHandler made of std::functions, for tests and small clients.
struct CallbackHandler final : seam::ConnectionHandler {
  std::function<void(std::string_view)> read;
  std::function<void()> drained;
  std::function<void(std::string_view)> closed;
  void on_read(const std::uint8_t* data, std::size_t size) override {
    if (read) read(std::string_view(reinterpret_cast<const char*>(data), size));
  }
  void on_drained() override {
    if (drained) drained();
  }
  void on_closed(std::string_view reason) override {
    if (closed) closed(reason);
  }
};

class SimNetwork {
 public:
  SimNetwork(VirtualClock& clock, Prng rng, Trace* trace = nullptr, NetworkConfig config = {});
  ~SimNetwork();
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;

  // A listener at "host:port"; port 0 is replaced by a free port.
  std::unique_ptr<SimListener> listen(const std::string& address);
  // Dials address from from_host; returns the client end at once. The server end reaches the listener after
  // one latency; if nothing is listening then, the client end reports on_closed("connection refused").
  std::unique_ptr<SimConnection> connect(const std::string& address, const std::string& from_host = "10.0.0.2");

  // --- fault hooks ---
  // Abortive close: data queued or in transit is lost; both ends get on_closed("connection reset by peer").
  void reset(std::uint64_t conn_id);
  // While stalled the transport accepts nothing from either end (a partition); queued bytes wait.
  void set_stalled(std::uint64_t conn_id, bool stalled);
  // Stall or un-stall every connection, present and future.
  void set_partitioned(bool partitioned);

  // Installs (or with null removes) the observer of the server ends.
  void set_server_tap(ServerTap* tap) { tap_ = tap; }
  // Fault hook: chunks sent from now on take up to this much extra one-way latency (0 = none).
  void set_extra_latency(std::int64_t max_extra_ns) { extra_latency_ns_ = max_extra_ns; }

  std::vector<std::uint64_t> connection_ids() const;  // live pipes, ascending
  VirtualClock& clock() { return clock_; }
  const NetworkConfig& config() const { return config_; }

 private:
  friend class SimConnection;
  friend class SimListener;
  struct Side;
  struct Pipe;

  // Calls from the ends (side 0 = server end, 1 = client end).
  void start(std::uint64_t id, int s, seam::ConnectionHandler* handler);
  void write(std::uint64_t id, int s, std::string&& bytes);
  std::size_t pending_bytes(std::uint64_t id, int s) const;
  void set_reading(std::uint64_t id, int s, bool enabled);
  void close(std::uint64_t id, int s);
  void handle_destroyed(std::uint64_t id, int s);
  void unregister_listener(SimListener* listener);

  Pipe* find(std::uint64_t id) { return id < pipes_.size() ? pipes_[id].get() : nullptr; }
  const Pipe* find(std::uint64_t id) const { return id < pipes_.size() ? pipes_[id].get() : nullptr; }
  template <typename F>
  void schedule(std::int64_t at, F&& fn);
  void accept(std::uint64_t id, std::string address);
  void schedule_transmit(std::uint64_t id, int s);
  void transmit(std::uint64_t id, int s);
  void send_eof(Pipe& p, int s);
  void arrive(std::uint64_t id, int to);
  void arrive_eof(std::uint64_t id, int to);
  void schedule_delivery(std::uint64_t id, int s);
  void deliver(std::uint64_t id, int s);
  void fail(Pipe& p, int s, std::string reason);
  void kick(std::uint64_t id, int s);
  void maybe_collect(std::uint64_t id);
  std::int64_t arrival_time(Side& from);
  void trace(std::string_view kind, std::string_view detail);
  void trace_end(std::string_view kind, std::uint64_t id, int s, const std::string_view* detail = nullptr);

  VirtualClock& clock_;
  Prng rng_;
  Trace* trace_;
  NetworkConfig config_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // handles and timers check it before touching us
  std::vector<std::unique_ptr<Pipe>> pipes_;  // by id (ids are never reused; slot 0 unused); null once collected
  std::map<std::string, SimListener*> listeners_;
  std::uint64_t last_pipe_id_ = 0;
  int next_port_ = 20000;
  int next_ephemeral_port_ = 40000;
  bool partitioned_ = false;
  ServerTap* tap_ = nullptr;
  std::int64_t extra_latency_ns_ = 0;
};

}  // namespace nsq::io_sim
