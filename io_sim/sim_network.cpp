#include "io_sim/sim_network.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <utility>

#include "io_sim/trace.h"

namespace nsq::io_sim {

struct SimNetwork::Side {
  SimConnection* handle = nullptr;  // null before accept (server end) and once the owner destroyed it
  seam::ConnectionHandler* handler = nullptr;
  bool started = false;
  bool reading = true;
  bool closed = false;  // the owner called close(): no callback follows, writes are ignored
  bool dead = false;    // the transport is finished (EOF or reset reached this end)
  std::string outq;     // written, not yet accepted by the transport
  bool transmit_scheduled = false;
  bool eof_sent = false;
  std::int64_t last_arrival = 0;  // arrival time of the latest chunk sent from here: keeps chunks in order
  std::size_t in_transit = 0;     // bytes sent from here, not yet arrived
  // Those bytes, oldest first, from transit_head on, cut as transit_chunks: chunks from one end arrive in
  // order (arrival_time never goes back), so each arrival timer takes the front chunk.
  std::string transit;
  std::size_t transit_head = 0;
  std::deque<std::size_t> transit_chunks;
  std::string held;               // arrived, not yet handed to on_read
  bool eof_arrived = false;
  std::string fail_reason;  // non-empty: report on_closed(fail_reason) once started
  bool delivery_scheduled = false;
  bool stalled = false;
  std::int64_t linger_deadline = 0;
};

struct SimNetwork::Pipe {
  std::uint64_t id = 0;
  bool awaiting_accept = true;
  std::string target;  // the address dialled
  Side side[2];
};

namespace {
int peer_of(int s) { return 1 - s; }
std::string conn_name(std::uint64_t id, int s) { return std::to_string(id) + (s == 0 ? ".srv" : ".cli"); }
}  // namespace

template <typename F>
void SimNetwork::schedule(std::int64_t at, F&& fn) {
  // Timers may outlive the network (the clock is usually destroyed last); they then do nothing.
  clock_.schedule_task(at, [alive = std::weak_ptr<int>(alive_), fn = std::forward<F>(fn)]() mutable {
    if (!alive.expired()) fn();
  });
}

// ---------------------------------------------------------------------------------------------- handles

SimConnection::SimConnection(SimNetwork& net, std::uint64_t pipe_id, int side, std::string remote)
    : net_(&net), net_alive_(net.alive_), pipe_id_(pipe_id), side_(side), remote_(std::move(remote)) {}

SimConnection::~SimConnection() {
  if (!net_alive_.expired()) net_->handle_destroyed(pipe_id_, side_);
}
void SimConnection::start(seam::ConnectionHandler* handler) {
  if (!net_alive_.expired()) net_->start(pipe_id_, side_, handler);
}
void SimConnection::write(std::string&& bytes) {
  if (!net_alive_.expired()) net_->write(pipe_id_, side_, std::move(bytes));
}
std::size_t SimConnection::pending_bytes() const {
  return net_alive_.expired() ? 0 : net_->pending_bytes(pipe_id_, side_);
}
void SimConnection::set_reading(bool enabled) {
  if (!net_alive_.expired()) net_->set_reading(pipe_id_, side_, enabled);
}
void SimConnection::close() {
  if (!net_alive_.expired()) net_->close(pipe_id_, side_);
}
bool SimConnection::upgrade_tls(UpgradeDone done) {
  if (net_alive_.expired() || tls_) return false;
  tls_ = true;
  net_->clock().post([alive = net_alive_, done = std::move(done)] {
    if (!alive.expired()) done("");
  });
  return true;
}
seam::Connection::TlsState SimConnection::tls_state() const {
  TlsState st;
  if (!tls_) return st;
  st.version = "TLS1.3";
  st.cipher_suite = "Unknown 4865";  // TLS_AES_128_GCM_SHA256, which nsqd has no name for
  st.negotiated_protocol_is_mutual = true;
  return st;
}

SimListener::SimListener(SimNetwork& net, std::string address)
    : net_(&net), net_alive_(net.alive_), address_(std::move(address)) {}

SimListener::~SimListener() {
  if (!net_alive_.expired()) net_->unregister_listener(this);
}
void SimListener::start(AcceptFn on_accept) { on_accept_ = std::move(on_accept); }
void SimListener::close() { closed_ = true; }

// ---------------------------------------------------------------------------------------------- network

SimNetwork::SimNetwork(VirtualClock& clock, Prng rng, Trace* trace, NetworkConfig config)
    : clock_(clock), rng_(std::move(rng)), trace_(trace), config_(config) {}

SimNetwork::~SimNetwork() = default;

void SimNetwork::trace(std::string_view kind, std::string_view detail) {
  if (trace_ != nullptr) trace_->record(clock_.now_ns(), kind, detail);
}

// "<id>.srv" / "<id>.cli" (conn_name), then " <detail>" if there is one, hashed without building the string.
void SimNetwork::trace_end(std::string_view kind, std::uint64_t id, int s, const std::string_view* detail) {
  if (trace_ == nullptr) return;
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, id);
  const std::string_view num(buf, static_cast<std::size_t>(r.ptr - buf));
  const std::string_view end = s == 0 ? ".srv" : ".cli";
  if (detail == nullptr) {
    trace_->record(clock_.now_ns(), kind, {num, end});
  } else {
    trace_->record(clock_.now_ns(), kind, {num, end, " ", *detail});
  }
}

std::int64_t SimNetwork::arrival_time(Side& from) {
  std::int64_t t = clock_.now_ns() + rng_.range(config_.min_latency_ns, config_.max_latency_ns);
  if (extra_latency_ns_ > 0) t += rng_.range(0, extra_latency_ns_);
  from.last_arrival = std::max(from.last_arrival, t);
  return from.last_arrival;
}

std::unique_ptr<SimListener> SimNetwork::listen(const std::string& address) {
  std::string addr = address;
  if (addr.size() >= 2 && addr.compare(addr.size() - 2, 2, ":0") == 0) {
    while (true) {
      std::string candidate = addr.substr(0, addr.size() - 1) + std::to_string(next_port_++);
      if (listeners_.count(candidate) == 0) {
        addr = candidate;
        break;
      }
    }
  }
  auto listener = std::make_unique<SimListener>(*this, addr);
  listeners_[addr] = listener.get();
  trace("net.listen", addr);
  return listener;
}

void SimNetwork::unregister_listener(SimListener* listener) {
  auto it = listeners_.find(listener->address_);
  if (it != listeners_.end() && it->second == listener) listeners_.erase(it);
}

std::unique_ptr<SimConnection> SimNetwork::connect(const std::string& address, const std::string& from_host) {
  const std::uint64_t id = ++last_pipe_id_;
  auto pipe = std::make_unique<Pipe>();
  pipe->id = id;
  pipe->target = address;
  pipe->side[0].stalled = pipe->side[1].stalled = partitioned_;
  const std::string local = from_host + ":" + std::to_string(next_ephemeral_port_++);
  auto client = std::make_unique<SimConnection>(*this, id, 1, address);
  pipe->side[1].handle = client.get();
  if (pipes_.size() <= id) pipes_.resize(id + 1);
  pipes_[id] = std::move(pipe);
  trace("net.connect", std::to_string(id) + " " + local + " -> " + address);
  schedule(clock_.now_ns() + rng_.range(config_.min_latency_ns, config_.max_latency_ns),
           [this, id, local] { accept(id, local); });
  return client;
}

void SimNetwork::accept(std::uint64_t id, std::string client_address) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  p->awaiting_accept = false;
  auto it = listeners_.find(p->target);
  if (it == listeners_.end() || it->second->closed_ || !it->second->on_accept_) {
    trace("net.refused", std::to_string(id));
    p->side[0].dead = true;
    p->side[0].closed = true;
    fail(*p, 1, "connection refused");
    maybe_collect(id);
    return;
  }
  auto server = std::make_unique<SimConnection>(*this, id, 0, std::move(client_address));
  p->side[0].handle = server.get();
  trace("net.accept", std::to_string(id));
  // Copy the callback: the engine may close the listener from inside it.
  auto on_accept = it->second->on_accept_;
  on_accept(std::move(server));
}

void SimNetwork::start(std::uint64_t id, int s, seam::ConnectionHandler* handler) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  Side& me = p->side[s];
  if (me.started) return;
  me.started = true;
  me.handler = handler;
  if (!me.held.empty() || me.eof_arrived || !me.fail_reason.empty()) schedule_delivery(id, s);
}

void SimNetwork::write(std::uint64_t id, int s, std::string&& bytes) {
  Pipe* p = find(id);
  if (p == nullptr || bytes.empty()) return;
  if (s == 0 && tap_ != nullptr) tap_->server_write(id, bytes);
  Side& me = p->side[s];
  if (me.closed || me.dead || me.eof_sent) return;
  if (me.outq.empty()) {
    me.outq = std::move(bytes);
  } else {
    me.outq += bytes;
  }
  // Never inline: the seam forbids callbacks from inside write().
  schedule_transmit(id, s);
}

std::size_t SimNetwork::pending_bytes(std::uint64_t id, int s) const {
  const Pipe* p = find(id);
  return p == nullptr ? 0 : p->side[s].outq.size();
}

void SimNetwork::schedule_transmit(std::uint64_t id, int s) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  Side& me = p->side[s];
  if (me.transmit_scheduled) return;
  me.transmit_scheduled = true;
  schedule(clock_.now_ns() + rng_.range(0, config_.max_accept_delay_ns), [this, id, s] { transmit(id, s); });
}

void SimNetwork::kick(std::uint64_t id, int s) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  Side& me = p->side[s];
  if (!me.outq.empty() || (me.closed && !me.eof_sent && !me.dead)) schedule_transmit(id, s);
}

void SimNetwork::transmit(std::uint64_t id, int s) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  Side& me = p->side[s];
  Side& peer = p->side[peer_of(s)];
  me.transmit_scheduled = false;
  if (me.dead || me.eof_sent) return;
  if (me.stalled) return;  // set_stalled(false) kicks us again
  if (peer.closed || peer.dead) {
    // The peer is gone: its EOF or reset is on the way to us. Bytes written meanwhile vanish.
    me.outq.clear();
  }
  const std::size_t used = me.in_transit + peer.held.size();
  const std::size_t room = used >= config_.window_bytes ? 0 : config_.window_bytes - used;
  std::size_t n = std::min(room, me.outq.size());
  std::size_t off = 0;
  while (off < n) {
    std::size_t len = rng_.chance(1, config_.small_chunk_odds)
                          ? static_cast<std::size_t>(rng_.range(1, static_cast<std::int64_t>(config_.max_small_chunk)))
                          : static_cast<std::size_t>(rng_.range(1, static_cast<std::int64_t>(config_.max_segment)));
    len = std::min(len, n - off);
    off += len;
    me.in_transit += len;
    me.transit_chunks.push_back(len);
    const int to = peer_of(s);
    schedule(arrival_time(me), [this, id, to] { arrive(id, to); });
  }
  if (n > 0) {
    if (me.transit_head == me.transit.size()) {
      me.transit.clear();
      me.transit_head = 0;
    }
    me.transit.append(me.outq, 0, n);
    me.outq.erase(0, n);
  }
  if (!me.outq.empty()) return;  // window full: the peer's next read kicks us
  if (me.closed) {
    send_eof(*p, s);
    return;
  }
  if (n > 0 && me.handler != nullptr) me.handler->on_drained();  // may destroy the handle; p is not used after
}

void SimNetwork::send_eof(Pipe& p, int s) {
  Side& me = p.side[s];
  if (me.eof_sent || me.dead) return;
  me.eof_sent = true;
  const std::uint64_t id = p.id;
  const int to = peer_of(s);
  schedule(arrival_time(me), [this, id, to] { arrive_eof(id, to); });
}

void SimNetwork::arrive(std::uint64_t id, int to) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  Side& me = p->side[to];
  Side& from = p->side[peer_of(to)];
  const std::size_t len = from.transit_chunks.front();
  from.transit_chunks.pop_front();
  const std::string_view chunk(from.transit.data() + from.transit_head, len);
  from.transit_head += len;
  from.in_transit -= std::min(from.in_transit, len);
  const bool lost = me.closed || me.dead;  // nobody reads a closed end; the data is lost as with a real RST
  if (!lost) {
    trace_end("net.data", id, peer_of(to), &chunk);
    me.held += chunk;
  }
  // Compact once the consumed front outweighs what is still in transit (amortised O(1) per byte).
  if (from.transit_head > 4096 && from.transit_head * 2 > from.transit.size()) {
    from.transit.erase(0, from.transit_head);
    from.transit_head = 0;
  }
  if (lost) {
    kick(id, peer_of(to));
    return;
  }
  deliver(id, to);
}

void SimNetwork::arrive_eof(std::uint64_t id, int to) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  Side& me = p->side[to];
  if (me.closed || me.dead) return;
  trace_end("net.eof", id, peer_of(to));
  me.eof_arrived = true;
  deliver(id, to);
}

void SimNetwork::fail(Pipe& p, int s, std::string reason) {
  Side& me = p.side[s];
  if (me.dead || me.closed) {
    me.dead = true;
    return;
  }
  me.dead = true;
  me.outq.clear();
  me.held.clear();
  me.fail_reason = std::move(reason);
  schedule_delivery(p.id, s);
}

void SimNetwork::schedule_delivery(std::uint64_t id, int s) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  Side& me = p->side[s];
  if (me.delivery_scheduled) return;
  me.delivery_scheduled = true;
  schedule(clock_.now_ns(), [this, id, s] {
    if (Pipe* q = find(id)) q->side[s].delivery_scheduled = false;
    deliver(id, s);
  });
}

void SimNetwork::deliver(std::uint64_t id, int s) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  Side& me = p->side[s];
  if (me.closed || !me.started || me.handler == nullptr) return;
  if (!me.fail_reason.empty()) {
    std::string reason = std::move(me.fail_reason);
    me.fail_reason.clear();
    me.closed = true;  // nothing more is reported to this end
    trace("net.closed", conn_name(id, s) + " " + reason);
    me.handler->on_closed(reason);
    return;
  }
  if (!me.reading) return;
  if (!me.held.empty()) {
    std::string data = std::move(me.held);
    me.held.clear();
    seam::ConnectionHandler* h = me.handler;
    if (s == 0 && tap_ != nullptr) tap_->server_read(id, data);
    h->on_read(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    // The handler may have closed or destroyed its end: look everything up again.
    kick(id, peer_of(s));
    p = find(id);
    if (p == nullptr) return;
  }
  Side& again = p->side[s];
  if (again.eof_arrived && again.held.empty() && !again.closed && again.reading && !again.dead) {
    again.dead = true;
    again.closed = true;
    again.outq.clear();
    trace("net.closed", conn_name(id, s) + " EOF");
    again.handler->on_closed("EOF");
  }
}

void SimNetwork::set_reading(std::uint64_t id, int s, bool enabled) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  Side& me = p->side[s];
  me.reading = enabled;
  if (enabled && (!me.held.empty() || me.eof_arrived)) schedule_delivery(id, s);
}

void SimNetwork::close(std::uint64_t id, int s) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  Side& me = p->side[s];
  if (me.closed) return;
  me.closed = true;
  me.handler = nullptr;
  me.held.clear();
  trace("net.close", conn_name(id, s));
  if (me.dead) return;
  if (me.outq.empty() && !me.stalled) {
    send_eof(*p, s);
    return;
  }
  // Queued bytes get a bounded linger (stalled or window-limited), then the connection is reset.
  schedule_transmit(id, s);
  schedule(clock_.now_ns() + config_.close_linger_ns, [this, id, s] {
    Pipe* q = find(id);
    if (q == nullptr || q->side[s].eof_sent || q->side[s].dead) return;
    trace("net.linger_expired", conn_name(id, s));
    q->side[s].dead = true;
    q->side[s].outq.clear();
    fail(*q, peer_of(s), "connection reset by peer");
  });
}

void SimNetwork::handle_destroyed(std::uint64_t id, int s) {
  Pipe* p = find(id);
  if (p == nullptr) return;
  close(id, s);
  p->side[s].handle = nullptr;
  // Collect later: we may be deep inside a delivery for this very pipe.
  schedule(clock_.now_ns(), [this, id] { maybe_collect(id); });
}

void SimNetwork::maybe_collect(std::uint64_t id) {
  Pipe* p = find(id);
  if (p == nullptr || p->awaiting_accept) return;
  for (const Side& side : p->side) {
    if (side.handle != nullptr) return;
  }
  pipes_[id].reset();
}

void SimNetwork::reset(std::uint64_t conn_id) {
  Pipe* p = find(conn_id);
  if (p == nullptr) return;
  trace("net.reset", std::to_string(conn_id));
  fail(*p, 0, "connection reset by peer");
  fail(*p, 1, "connection reset by peer");
}

void SimNetwork::set_stalled(std::uint64_t conn_id, bool stalled) {
  Pipe* p = find(conn_id);
  if (p == nullptr) return;
  trace("net.stall", std::to_string(conn_id) + (stalled ? " on" : " off"));
  for (int s = 0; s < 2; ++s) {
    p->side[s].stalled = stalled;
    if (!stalled) kick(conn_id, s);
  }
}

void SimNetwork::set_partitioned(bool partitioned) {
  partitioned_ = partitioned;
  for (std::uint64_t id : connection_ids()) set_stalled(id, partitioned);
}

std::vector<std::uint64_t> SimNetwork::connection_ids() const {
  std::vector<std::uint64_t> ids;
  for (const auto& pipe : pipes_) {
    if (pipe) ids.push_back(pipe->id);
  }
  return ids;
}

}  // namespace nsq::io_sim
