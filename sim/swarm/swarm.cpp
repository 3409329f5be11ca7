#include "sim/swarm/swarm.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <map>
#include <set>

#include "engine/channel.h"
#include "engine/http_api.h"
#include "engine/nsqd.h"
#include "engine/options.h"
#include "engine/topic.h"
#include "io_sim/prng.h"
#include "io_sim/sim_http_client.h"
#include "engine/lookup_peer.h"
#include "io_sim/sim_dialer.h"
#include "io_sim/sim_file_system.h"
#include "sim/swarm/fake_lookupd.h"
#include "io_sim/sim_logger.h"
#include "io_sim/sim_network.h"
#include "io_sim/trace.h"
#include "io_sim/virtual_clock.h"
#include "sim/checkers/checkers.h"
#include "sim/sim_client.h"

namespace nsq::sim::swarm {
namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kTick = 100 * kMs;
const std::string kAddress = "127.0.0.1:4150";
const std::string kLookupdAddress = "10.0.0.9:4160";

struct Agent {
  int index = 0;
  bool publisher = false;
  std::string topic, channel;  // consumers
  io_sim::Prng rng{0};
  std::unique_ptr<SimClient> client;
  int generation = 0;
  std::string label;  // current connection
  std::int64_t rdy = 1;
  std::int64_t obt_ms = 0;         // 0 = nsqd's default
  std::int64_t msg_timeout_ms = 0; // 0 = nsqd's default
  bool subscribed = false;
  bool cls_sent = false;
  bool reading = true;
  bool reconnect_pending = false;
  int seq = 0;  // publishes
  std::map<std::string, int> latest;  // message ID -> attempts of the latest delivery received (this connection)
};

class Swarm {
 public:
  Swarm(const Config& cfg, const RunOptions& opts)
      : cfg_(cfg),
        opts_(opts),
        trace_(opts.keep_trace_lines),
        clock_(&trace_),
        root_(cfg.seed),
        engine_rng_(root_.fork("engine")),
        plan_(root_.fork("plan")),
        chaos_(root_.fork("chaos")),
        net_(clock_, root_.fork("network"), &trace_, net_config(cfg)),
        fs_(clock_),
        logger_(clock_, trace_, seam::LogLevel::warn, opts.echo_trace, seam::LogLevel::info),
        model_(clock_, Model::Limits{
                           .default_obt_ns = 250 * kMs,
                           .default_msg_timeout_ns = cfg.msg_timeout_ms * kMs,
                           .max_msg_timeout_ns = 15 * 60 * 1000 * kMs,
                           .max_req_timeout_ns = 60 * 60 * 1000 * kMs,
                           .scan_interval_ns = 100 * kMs,
                           .ephemeral_lossy = cfg.mem_queue_size < 10000,
                       }) {
    trace_.set_echo(opts.echo_trace);
    model_.set_verbose(opts.echo_trace);
    model_.set_durable(cfg.durable);
    if (cfg.faults & kFaultLookupd) {
      lookupd_ = std::make_unique<FakeLookupd>(net_, kLookupdAddress, [this](std::uint64_t id) { model_.ignore_conn(id); });
    }
    start_engine();
    serve_when_persisted("nsqd serving");
    listener_ = net_.listen(kAddress);
    listener_->start([this](std::unique_ptr<seam::Connection> conn) {
      if (restarting_ || !nsqd_) {
        conn->close();  // nsqd is down
        return;
      }
      nsqd_->accept(std::move(conn));
    });
    net_.set_server_tap(&model_);
    checkers::install_all(model_);
  }

  ~Swarm() {
    net_.set_server_tap(nullptr);
    for (auto& a : agents_) a->client.reset();
    listener_.reset();
    http_.reset();
    lookup_peers_.reset();
    nsqd_.reset();
    lookupd_.reset();
  }

  RunResult run();

 private:
  static io_sim::NetworkConfig net_config(const Config& cfg) {
    io_sim::NetworkConfig n;
    n.max_latency_ns = std::max<std::int64_t>(n.min_latency_ns, cfg.max_latency_us * 1000);
    n.small_chunk_odds = static_cast<std::uint64_t>(std::max(1, cfg.small_chunk_odds));
    n.window_bytes = static_cast<std::size_t>(cfg.window_bytes);
    return n;
  }

  std::int64_t now() const { return clock_.now_ns(); }
  void at(std::int64_t t, std::function<void()> fn) { clock_.schedule_at(t, std::move(fn)); }
  void note(const std::string& what) { trace_.record(now(), "sim", what); }
  bool failed() const { return !model_.violations().empty(); }
  bool step_until(std::int64_t t);

  void setup();
  void connect(Agent& a);
  void on_reply(Agent& a, std::string_view cmd, bool ok, std::string_view text);
  void on_closed(Agent& a, std::string_view reason);
  void on_message(Agent& a, const wire::Message& m);
  void act(Agent& a, int generation, const wire::Message& m);
  void set_rdy(Agent& a, std::int64_t n);
  void schedule_reconnect(Agent& a, std::int64_t delay);
  void schedule_publish(Agent& a);
  void publish(Agent& a);
  void chaos_tick();
  void fault();
  void admin_action();
  void heal();
  bool engine_holds_anything();
  bool check_lookupd();
  void start_engine();
  void begin_restart(bool clean);
  void finish_restart(bool clean);
  void disk_fault();
  void serve_when_persisted(std::string what);
  void heal_disk();
  void publish_http(Agent& a, const std::string& topic, const std::vector<std::string>& bodies, bool mpub,
                    std::int64_t delay_ms);

  Config cfg_;
  RunOptions opts_;
  io_sim::Trace trace_;
  io_sim::VirtualClock clock_;
  io_sim::Prng root_;
  io_sim::Prng engine_rng_;
  io_sim::Prng plan_;
  io_sim::Prng chaos_;
  io_sim::SimNetwork net_;
  io_sim::SimFileSystem fs_;
  io_sim::SimDialer dialer_{net_, "10.0.0.1"};
  std::unique_ptr<FakeLookupd> lookupd_;
  std::unique_ptr<LookupPeers> lookup_peers_;
  io_sim::SimLogger logger_;
  io_sim::SimHttpClient http_client_{clock_};  // no /channels or auth handler: a runtime topic's query fails and is ignored
  Model model_;
  std::unique_ptr<NSQD> nsqd_;
  std::unique_ptr<HttpApi> http_;
  std::unique_ptr<io_sim::SimListener> listener_;
  std::vector<std::unique_ptr<Agent>> agents_;
  std::vector<std::string> topics_;
  std::vector<std::vector<std::string>> channels_;  // per topic
  std::set<std::uint64_t> stalled_;
  bool partitioned_ = false;
  bool restarting_ = false;
  bool disk_faulty_ = false;
  std::uint64_t restarts_ = 0;
  std::uint64_t crashes_ = 0;
  std::uint64_t disk_faults_ = 0;
  bool liveness_ = false;
  std::int64_t safety_end_ = 0;
  int messages_left_ = 0;
  std::uint64_t steps_ = 0;
  std::uint64_t safety_steps_ = 0;
  std::uint64_t faults_ = 0;
  std::uint64_t admins_ = 0;
  std::string abort_reason_;
  bool done_ = false;
};

bool Swarm::step_until(std::int64_t t) {
  for (;;) {
    auto next = clock_.next_deadline();
    if (!next || *next > t) break;
    if (steps_ >= opts_.max_steps) {
      abort_reason_ = "event budget of " + std::to_string(opts_.max_steps) + " engine events exhausted";
      return false;
    }
    if (!liveness_ && cfg_.steps != 0 && safety_steps_ >= cfg_.steps) return false;
    clock_.run_next();
    ++steps_;
    if (!liveness_) ++safety_steps_;
    model_.after_step(*nsqd_);
    if (failed()) return false;
  }
  clock_.run_until(t);
  return true;
}

// ------------------------------------------------------------------------------------------------ engine

void Swarm::start_engine() {
  Options o;
  o.node_id = 1;
  o.hostname = "sim-host";
  o.broadcast_address = "sim-host";
  o.tcp_address = kAddress;
  o.msg_timeout = cfg_.msg_timeout_ms * kMs;
  o.queue_scan_interval = 100 * kMs;
  o.data_path = "/data";
  o.durable = cfg_.durable;
  o.mem_queue_size = cfg_.mem_queue_size;
  o.sync_every = cfg_.sync_every;
  o.sync_timeout = cfg_.sync_timeout_ms * kMs;
  if (lookupd_) o.lookupd_tcp_addresses = {kLookupdAddress};
  Seams seams{clock_, engine_rng_, logger_, &fs_};
  seams.dialer = &dialer_;
  seams.http_client = &http_client_;
  nsqd_ = std::make_unique<NSQD>(std::move(o), seams);
  nsqd_->set_ports(4150, 4151);
  http_ = std::make_unique<HttpApi>(*nsqd_);
  if (std::string err = nsqd_->load_metadata(); !err.empty()) model_.fail("restart", "load_metadata: " + err);
  if (lookupd_) {
    lookup_peers_ = std::make_unique<LookupPeers>(*nsqd_);
    lookup_peers_->start();
  }
}

// Clean: nsqd's SIGTERM path (shutdown, then close() writes memory, in-flight and deferred messages to disk and
// syncs), then a new NSQD on the same files. Crash: the engine is dropped where it stands and the file system
// loses (or tears) everything not yet synced. Clients see their connections close and reconnect.
void Swarm::begin_restart(bool clean) {
  restarting_ = true;
  model_.begin_restart();
  if (clean) {
    ++restarts_;
    note("restart (clean)");
    heal_disk();  // a clean shutdown on a failing disk would lose what it cannot write (logged), as nsqd does
    nsqd_->shutdown();
    auto finished = std::make_shared<bool>(false);
    nsqd_->close([this, finished] {
      *finished = true;
      at(now(), [this] { finish_restart(true); });
    });
    at(now() + 10'000 * kMs, [this, finished] {
      if (!*finished && !done_) model_.fail("restart", "close() never reported its data durable");
    });
    return;
  }
  ++crashes_;
  note("crash");
  http_.reset();
  lookup_peers_.reset();
  nsqd_.reset();
  // Each file keeps its durable bytes; of an unsynced appended tail, a seeded prefix (none, part, all).
  fs_.crash([this](std::size_t n) -> std::size_t {
    const auto r = chaos_.uniform(3);
    return r == 0 ? 0 : r == 1 ? static_cast<std::size_t>(chaos_.uniform(n + 1)) : n;
  });
  heal_disk();
  finish_restart(false);
}

void Swarm::finish_restart(bool clean) {
  if (clean) {
    http_.reset();
    lookup_peers_.reset();
    nsqd_.reset();
  }
  start_engine();
  model_.restarted(clean, cfg_.durable, *nsqd_);
  serve_when_persisted(std::string("nsqd back after ") + (clean ? "clean restart" : "crash"));
}

// As the daemon's main: nsqd.dat and the message-ID lease are written before nsqd serves (see id_lease.h).
void Swarm::serve_when_persisted(std::string what) {
  restarting_ = true;
  nsqd_->persist_metadata_now([this, what = std::move(what), engine = nsqd_.get()](const seam::IoResult& r) {
    if (engine != nsqd_.get()) return;
    if (!r.ok()) model_.fail("restart", "start-up persist failed: " + r.message);
    note(what);
    restarting_ = false;
  });
}

// One disk fault window: write errors (sometimes short), a full disk, or failing fsyncs.
void Swarm::disk_fault() {
  if (disk_faulty_ || restarting_) return;
  disk_faulty_ = true;
  ++disk_faults_;
  const auto kind = chaos_.uniform(3);
  const std::int64_t until = now() + chaos_.range(50, 1500) * kMs;
  if (kind == 0) {
    fs_.write_error = EIO;
    fs_.short_write_bytes = chaos_.chance(1, 2) ? static_cast<std::size_t>(chaos_.range(1, 40)) : 0;
    note("fault disk write-error short=" + std::to_string(fs_.short_write_bytes));
  } else if (kind == 1) {
    fs_.capacity = fs_.used_bytes() + static_cast<std::uint64_t>(chaos_.range(0, 400));
    note("fault disk full");
  } else {
    fs_.sync_error = EIO;
    note("fault disk fsync-error");
  }
  model_.note_disk_fault(until);
  at(until, [this] { heal_disk(); });
}

void Swarm::heal_disk() {
  if (!disk_faulty_) return;
  disk_faulty_ = false;
  fs_.write_error = 0;
  fs_.short_write_bytes = 0;
  fs_.sync_error = 0;
  fs_.capacity.reset();
  model_.note_disk_fault(now());
  note("disk healed");
}

// ------------------------------------------------------------------------------------------------ agents

void Swarm::setup() {
  for (int t = 0; t < cfg_.topics; ++t) {
    std::string name = "t" + std::to_string(t);
    if (plan_.chance(static_cast<std::uint64_t>(cfg_.ephemeral_topic_share), 100)) name += "#ephemeral";
    topics_.push_back(name);
    channels_.emplace_back();
    for (int c = 0; c < cfg_.channels_per_topic; ++c) {
      std::string ch = "c" + std::to_string(c);
      if (plan_.chance(static_cast<std::uint64_t>(cfg_.ephemeral_share), 100)) ch += "#ephemeral";
      channels_.back().push_back(ch);
    }
  }
  int pair = 0;
  const int pairs = cfg_.topics * cfg_.channels_per_topic;
  for (int i = 0; i < cfg_.clients; ++i) {
    auto a = std::make_unique<Agent>();
    a->index = i;
    a->publisher = i < cfg_.publishers;
    a->rng = root_.fork("agent/" + std::to_string(i));
    a->client = std::make_unique<SimClient>((a->publisher ? "p" : "c") + std::to_string(i), net_);
    if (!a->publisher) {
      const int p = pair++ % pairs;
      a->topic = topics_[static_cast<std::size_t>(p / cfg_.channels_per_topic)];
      a->channel = channels_[static_cast<std::size_t>(p / cfg_.channels_per_topic)]
                            [static_cast<std::size_t>(p % cfg_.channels_per_topic)];
      const auto r = a->rng.uniform(10);
      a->rdy = r < 3 ? 1 : r < 7 ? a->rng.range(2, 10) : a->rng.range(10, 100);
      a->obt_ms = a->rng.chance(1, 2) ? 0 : a->rng.range(25, 250);
      a->msg_timeout_ms = a->rng.chance(3, 4) ? 0 : a->rng.range(1, 4) * 1000;
    }
    Agent& ref = *a;
    auto& h = ref.client->handlers();
    h.message = [this, &ref](const wire::Message& m) { on_message(ref, m); };
    h.reply = [this, &ref](std::string_view cmd, bool ok, std::string_view text) { on_reply(ref, cmd, ok, text); };
    h.closed = [this, &ref](std::string_view reason) { on_closed(ref, reason); };
    agents_.push_back(std::move(a));
  }
  messages_left_ = cfg_.messages;
  for (auto& a : agents_) {
    Agent* ap = a.get();
    at(now() + plan_.range(0, 200) * kMs, [this, ap] { connect(*ap); });
    if (ap->publisher) schedule_publish(*ap);
  }
}

void Swarm::connect(Agent& a) {
  a.reconnect_pending = false;
  ++a.generation;
  a.label = a.client->name() + "#" + std::to_string(a.generation);
  a.subscribed = false;
  a.cls_sent = false;
  a.reading = true;
  a.latest.clear();
  a.client->connect(kAddress, "10.0." + std::to_string(a.publisher ? 2 : 1) + "." + std::to_string(a.index + 1));
  model_.register_conn(a.client->connection_id(), a.label, a.obt_ms * kMs, a.msg_timeout_ms * kMs);
  note("connect " + a.label);
  std::string json = R"({"client_id":")" + a.label + R"(","hostname":"sim","user_agent":"nsqd-sim","heartbeat_interval":)" +
                     std::to_string(cfg_.heartbeat_ms);
  if (a.obt_ms > 0) json += R"(,"output_buffer_timeout":)" + std::to_string(a.obt_ms);
  if (a.msg_timeout_ms > 0) json += R"(,"msg_timeout":)" + std::to_string(a.msg_timeout_ms);
  json += "}";
  a.client->identify(json);
}

void Swarm::schedule_reconnect(Agent& a, std::int64_t delay) {
  if (a.reconnect_pending) return;
  a.reconnect_pending = true;
  const int gen = a.generation;
  at(now() + delay, [this, &a, gen] {
    if (done_ || a.generation != gen) return;
    a.client->close();
    connect(a);
  });
}

void Swarm::on_reply(Agent& a, std::string_view cmd, bool ok, std::string_view text) {
  if (!ok) {
    // Fatal errors close the connection; our clients only send valid commands, so this is noteworthy but can
    // happen legitimately (e.g. SUB racing an ephemeral channel's removal).
    note(a.label + " " + std::string(cmd) + " error " + std::string(text));
    return;
  }
  if (a.publisher) return;
  if (cmd == "IDENTIFY") {
    a.client->sub(a.topic, a.channel);
  } else if (cmd == "SUB") {
    a.subscribed = true;
    set_rdy(a, liveness_ ? std::max<std::int64_t>(a.rdy, 5) : a.rdy);
  }
}

void Swarm::on_closed(Agent& a, std::string_view reason) {
  note("closed " + a.label + " " + std::string(reason));
  a.subscribed = false;
  schedule_reconnect(a, a.rng.range(50, 800) * kMs);
}

void Swarm::set_rdy(Agent& a, std::int64_t n) {
  if (!a.client->connected() || !a.subscribed || a.cls_sent) return;
  a.client->rdy(n);
}

void Swarm::on_message(Agent& a, const wire::Message& m) {
  a.latest[m.id] = m.attempts;
  const int gen = a.generation;
  const std::int64_t think = liveness_ ? a.rng.range(0, 5) : a.rng.range(0, cfg_.think_max_ms);
  at(now() + think * kMs, [this, &a, gen, m] { act(a, gen, m); });
}

void Swarm::act(Agent& a, int generation, const wire::Message& m) {
  if (done_ || generation != a.generation || !a.client->connected()) return;
  // Like a careful client, act only on the latest delivery of an ID (an older one's FIN would resolve the newer).
  if (auto it = a.latest.find(m.id); it != a.latest.end() && it->second != m.attempts) return;
  a.latest.erase(m.id);
  if (liveness_ || m.attempts >= 5) {
    a.client->fin(m.id);
    return;
  }
  const auto roll = static_cast<int>(a.rng.uniform(100));
  int edge = cfg_.p_req;
  if (roll < edge) {
    note(a.label + " REQ " + m.body);
    a.client->req(m.id, 0);
    return;
  }
  edge += cfg_.p_req_delay;
  if (roll < edge) {
    note(a.label + " REQ+delay " + m.body);
    a.client->req(m.id, a.rng.range(1, 3000));
    return;
  }
  edge += cfg_.p_touch;
  if (roll < edge) {
    a.client->touch(m.id);
    const int gen = a.generation;
    a.latest[m.id] = m.attempts;
    at(now() + a.rng.range(100, 2000) * kMs, [this, &a, gen, id = m.id, att = m.attempts] {
      if (done_ || gen != a.generation || !a.client->connected()) return;
      if (auto it = a.latest.find(id); it == a.latest.end() || it->second != att) return;
      a.latest.erase(id);
      a.client->fin(id);
    });
    return;
  }
  edge += cfg_.p_ignore;
  if (roll < edge) {
    note(a.label + " ignores " + m.body);
    return;
  }
  a.client->fin(m.id);
}

void Swarm::publish_http(Agent& a, const std::string& topic, const std::vector<std::string>& bodies, bool mpub,
                         std::int64_t delay_ms) {
  HttpRequest req;
  req.method = "POST";
  if (mpub) {
    req.path = "/mpub";
    req.query = "topic=" + topic;
    for (const auto& b : bodies) req.body += b + "\n";
  } else {
    req.path = "/pub";
    req.query = "topic=" + topic + (delay_ms > 0 ? "&defer=" + std::to_string(delay_ms) : "");
    req.body = bodies.front();
  }
  req.content_length = req.body.size();
  note(a.client->name() + " HTTP " + req.path + "?" + req.query + " " + std::to_string(bodies.size()) + " messages");
  model_.http_publish(topic, bodies, delay_ms * kMs);
  // In --durable mode the answer comes once the messages are fsynced (or their sync failed); the engine that
  // owes it may crash first, and then it never comes (not acknowledged).
  NSQD* engine = nsqd_.get();
  http_->handle_async(req, [this, engine, path = req.path, bodies](HttpResponse r) {
    if (r.status == 200) {
      model_.http_answer(bodies, true);
      return;
    }
    model_.http_answer(bodies, false);
    // A disk fault: nsqd answers every failed put 503 EXITING, and is unhealthy: /ping must say so.
    if (r.status == 503 && disk_faulty_ && engine == nsqd_.get()) {
      HttpRequest ping;
      ping.method = "GET";
      ping.path = "/ping";
      const HttpResponse p = http_->handle(ping);
      if (p.status != 500 || p.body.rfind("NOK - ", 0) != 0) {
        model_.fail("health", "HTTP " + path + " failed (" + r.body + ") but /ping answered " +
                                  std::to_string(p.status) + " " + p.body);
      }
      return;
    }
    // Otherwise 503 is legitimate only after a disk fault (the sync that failed may finish after the window) or
    // for a durable publish whose topic was deleted before its fsync.
    if (r.status == 503 && (disk_faults_ > 0 || cfg_.durable)) return;
    model_.fail("model", "HTTP " + path + " answered " + std::to_string(r.status) + " " + r.body);
  });
}

void Swarm::schedule_publish(Agent& a) {
  const int per_pub = std::max(1, cfg_.messages / std::max(1, cfg_.publishers));
  const std::int64_t mean = std::max<std::int64_t>(1, cfg_.duration_ms / per_pub);
  at(now() + a.rng.range(mean / 2, mean * 3 / 2 + 1) * kMs + a.rng.range(0, 999) * 1000, [this, &a] { publish(a); });
}

void Swarm::publish(Agent& a) {
  if (done_ || liveness_ || messages_left_ <= 0 || now() >= safety_end_) return;
  schedule_publish(a);
  const std::string& topic = topics_[a.rng.uniform(topics_.size())];
  auto body = [&] { return a.client->name() + "-" + std::to_string(a.seq++); };
  const bool http = a.rng.chance(static_cast<std::uint64_t>(cfg_.http_share), 100) || !a.client->connected();
  const bool mpub = a.rng.chance(static_cast<std::uint64_t>(cfg_.mpub_share), 100);
  const bool dpub = !mpub && a.rng.chance(static_cast<std::uint64_t>(cfg_.dpub_share), 100);
  std::vector<std::string> bodies;
  const int n = mpub ? static_cast<int>(std::min<std::int64_t>(a.rng.range(2, 10), messages_left_)) : 1;
  for (int i = 0; i < n; ++i) bodies.push_back(body());
  messages_left_ -= n;
  const std::int64_t delay_ms = dpub ? a.rng.range(1, 5000) : 0;
  if (http) {
    if (restarting_) return;  // nsqd is down: the request would not connect
    publish_http(a, topic, bodies, mpub, delay_ms);
    return;
  }
  if (mpub) {
    a.client->mpub(topic, bodies);
  } else if (dpub) {
    a.client->dpub(topic, delay_ms, bodies.front());
  } else {
    a.client->pub(topic, bodies.front());
  }
}

// ------------------------------------------------------------------------------------------- chaos

void Swarm::chaos_tick() {
  if (done_ || liveness_ || now() >= safety_end_) return;
  at(now() + kTick, [this] { chaos_tick(); });
  for (auto& ap : agents_) {
    Agent& a = *ap;
    if (a.publisher || !a.client->connected() || !a.subscribed) continue;
    // per mille per second -> per 10000 per 100 ms tick
    if (a.rng.chance(static_cast<std::uint64_t>(cfg_.p_rdy_change), 10000)) {
      const auto r = a.rng.uniform(10);
      const std::int64_t n = r < 2 ? 0 : r < 5 ? 1 : a.rng.range(2, 50);
      note(a.label + " RDY " + std::to_string(n));
      set_rdy(a, n);
      if (n == 0) {
        at(now() + a.rng.range(100, 2000) * kMs, [this, &a, gen = a.generation] {
          if (gen == a.generation) set_rdy(a, a.rdy);
        });
      }
    }
    if (!a.cls_sent && a.rng.chance(static_cast<std::uint64_t>(cfg_.p_cls), 10000)) {
      note(a.label + " CLS");
      a.cls_sent = true;
      a.client->cls();
      schedule_reconnect(a, a.rng.range(200, 2000) * kMs);  // hangs up after draining a while
    }
    if (a.rng.chance(static_cast<std::uint64_t>(cfg_.p_disconnect), 10000)) {
      note(a.label + " hangs up");
      a.client->close();
      a.subscribed = false;
      schedule_reconnect(a, a.rng.range(50, 1500) * kMs);
    }
  }
  if (cfg_.faults != 0) {
    for (int i = 0; i < kFaultCount; ++i) {
      if ((cfg_.faults & (1u << i)) == 0 || (1u << i) == kFaultSplit) continue;
      // Restarts and crashes are rarer than network faults: a few per run at most.
      const std::uint64_t rate = i >= 7 ? static_cast<std::uint64_t>(cfg_.fault_rate) / (i == 9 ? 2 : 4) + 1
                                        : static_cast<std::uint64_t>(cfg_.fault_rate);
      if (chaos_.chance(rate, 1000)) {
        ++faults_;
        const auto kind = static_cast<Fault>(1u << i);
        const auto conns = net_.connection_ids();
        switch (kind) {
          case kFaultReset:
            if (!conns.empty()) {
              const auto id = conns[chaos_.uniform(conns.size())];
              note("fault reset " + std::to_string(id));
              net_.reset(id);
            }
            break;
          case kFaultStall:
            if (!conns.empty()) {
              const auto id = conns[chaos_.uniform(conns.size())];
              note("fault stall " + std::to_string(id));
              net_.set_stalled(id, true);
              stalled_.insert(id);
              at(now() + chaos_.range(100, 3000) * kMs, [this, id] {
                if (stalled_.erase(id) != 0) net_.set_stalled(id, false);
              });
            }
            break;
          case kFaultPartition:
            if (!partitioned_) {
              note("fault partition");
              partitioned_ = true;
              net_.set_partitioned(true);
              at(now() + chaos_.range(100, 2000) * kMs, [this] {
                if (partitioned_) {
                  partitioned_ = false;
                  net_.set_partitioned(false);
                }
              });
            }
            break;
          case kFaultSlowReader: {
            Agent& a = *agents_[chaos_.uniform(agents_.size())];
            if (a.publisher || !a.reading || !a.client->connected()) break;
            note("fault slow-reader " + a.label);
            a.reading = false;
            a.client->set_reading(false);
            at(now() + chaos_.range(500, 6000) * kMs, [this, &a, gen = a.generation] {
              if (gen != a.generation) return;
              a.reading = true;
              a.client->set_reading(true);
            });
            break;
          }
          case kFaultLatency: {
            const auto extra = chaos_.range(1, 300) * kMs;
            note("fault latency +" + std::to_string(extra / kMs) + "ms");
            net_.set_extra_latency(extra);
            at(now() + chaos_.range(200, 3000) * kMs, [this] { net_.set_extra_latency(0); });
            break;
          }
          case kFaultWallJump: {
            if (restarting_) break;
            const auto delta = chaos_.range(-20'000, 20'000) * kMs;
            note("fault wall-jump " + std::to_string(delta / kMs) + "ms");
            clock_.jump_wall(delta);
            model_.note_wall_jump(delta);
            break;
          }
          case kFaultRestart:
          case kFaultCrash:
            if (!restarting_) begin_restart(kind == kFaultRestart);
            break;
          case kFaultDisk:
            disk_fault();
            break;
          case kFaultClockStall: {
            if (restarting_) break;
            const auto d = chaos_.range(10, 3000) * kMs;
            note("fault clock-stall " + std::to_string(d / kMs) + "ms");
            clock_.stall(d);
            model_.note_stall(d);
            break;
          }
          case kFaultLookupd:
            if (lookupd_ && !lookupd_->partitioned()) {
              note("fault lookupd partition");
              lookupd_->set_partitioned(true);
              at(now() + chaos_.range(200, 20'000) * kMs, [this] {
                if (lookupd_->partitioned()) {
                  note("lookupd partition healed");
                  lookupd_->set_partitioned(false);
                }
              });
            }
            break;
          default:
            break;
        }
      }
    }
  }
  if (cfg_.admin && !restarting_ && chaos_.chance(static_cast<std::uint64_t>(cfg_.admin_rate), 1000)) admin_action();
}

void Swarm::admin_action() {
  const std::size_t ti = chaos_.uniform(topics_.size());
  const std::string& tname = topics_[ti];
  const std::string& cname = channels_[ti][chaos_.uniform(channels_[ti].size())];
  Topic* t = nsqd_->find_topic(tname);
  Channel* ch = t ? t->find_channel(cname) : nullptr;
  const auto roll = chaos_.uniform(100);
  auto act = [&](const char* what, const std::string& channel) {
    ++admins_;
    note(std::string("admin ") + what + " " + tname + (channel.empty() ? "" : "/" + channel));
    model_.admin(what, tname, channel);
  };
  if (roll < 20 && t) {
    if (!t->paused()) {
      act("topic_pause", "");
      t->pause();
      at(now() + chaos_.range(100, 3000) * kMs, [this, tname] {
        Topic* tt = nsqd_->find_topic(tname);
        if (tt && tt->paused() && !liveness_) {
          ++admins_;
          note("admin topic_unpause " + tname);
          model_.admin("topic_unpause", tname, "");
          tt->unpause();
        }
      });
    }
  } else if (roll < 40 && ch) {
    if (!ch->paused()) {
      act("channel_pause", cname);
      ch->pause();
      at(now() + chaos_.range(100, 3000) * kMs, [this, tname, cname] {
        Topic* tt = nsqd_->find_topic(tname);
        Channel* cc = tt ? tt->find_channel(cname) : nullptr;
        if (cc && cc->paused() && !liveness_) {
          ++admins_;
          note("admin channel_unpause " + tname + "/" + cname);
          model_.admin("channel_unpause", tname, cname);
          cc->unpause();
        }
      });
    }
  } else if (roll < 55 && ch) {
    act("channel_empty", cname);
    ch->empty();
  } else if (roll < 65 && t) {
    act("topic_empty", "");
    t->empty();
  } else if (roll < 75 && ch) {
    act("channel_delete", cname);
    t->delete_channel(cname);
  } else if (roll < 80 && t) {
    act("topic_delete", "");
    nsqd_->delete_topic(tname);
  } else if (roll < 90 && t && !ch) {
    act("channel_create", cname);
    t->get_channel(cname);
  } else if (!t) {
    act("topic_create", "");
    nsqd_->get_topic(tname);
  }
}

// After a crash nsqd may hold messages the model has in limbo: the liveness phase waits for those too.
bool Swarm::engine_holds_anything() {
  for (const TopicStats& ts : nsqd_->stats({}, {}, false)) {
    if (!ts.channels.empty() && ts.depth != 0) return true;
    for (const ChannelStats& cs : ts.channels) {
      if (cs.depth != 0 || cs.in_flight_count != 0 || cs.deferred_count != 0) return true;
    }
  }
  return false;
}

// Registrations resume after a partition heals: nsqd's peer reconnects (backoff up to 15 s) and replays its whole
// state, so the fake nsqlookupd must end up with exactly nsqd's topics and channels.
bool Swarm::check_lookupd() {
  auto expected = [this] {
    std::set<std::pair<std::string, std::string>> want;
    for (const TopicStats& ts : nsqd_->stats({}, {}, false)) {
      want.emplace(ts.topic_name, "");
      for (const ChannelStats& cs : ts.channels) want.emplace(ts.topic_name, cs.channel_name);
    }
    return want;
  };
  const std::int64_t limit = now() + 40'000 * kMs;
  while (now() < limit) {
    if (lookupd_->registrations() == expected() && lookupd_->live_connections() == 1) return true;
    if (!step_until(now() + 250 * kMs)) return false;
  }
  std::string diff;
  const auto want = expected();
  const auto have = lookupd_->registrations();
  for (const auto& w : want) {
    if (have.count(w) == 0) diff += " missing " + w.first + (w.second.empty() ? "" : "/" + w.second);
  }
  for (const auto& h : have) {
    if (want.count(h) == 0) diff += " stale " + h.first + (h.second.empty() ? "" : "/" + h.second);
  }
  model_.fail("lookupd", "40 s after healing, nsqlookupd's registrations (" +
                             std::to_string(lookupd_->live_connections()) + " connections) differ from nsqd's:" + diff);
  return false;
}

void Swarm::heal() {
  note("liveness phase: heal every fault");
  liveness_ = true;
  heal_disk();
  if (lookupd_) lookupd_->set_partitioned(false);
  partitioned_ = false;
  net_.set_partitioned(false);
  for (auto id : stalled_) net_.set_stalled(id, false);
  stalled_.clear();
  net_.set_extra_latency(0);
  for (const auto& tm : model_.topics()) {
    if (!tm.live) continue;
    Topic* t = nsqd_->find_topic(tm.name);
    if (t == nullptr) continue;
    if (t->paused()) {
      model_.admin("topic_unpause", tm.name, "");
      t->unpause();
    }
    std::vector<std::string> names;
    for (const auto& [n, c] : t->channels()) names.push_back(n);
    for (const auto& n : names) {
      Channel* c = t->find_channel(n);
      if (c && c->paused()) {
        model_.admin("channel_unpause", tm.name, n);
        c->unpause();
      }
    }
  }
  for (auto& ap : agents_) {
    Agent& a = *ap;
    if (!a.reading) {
      a.reading = true;
      a.client->set_reading(true);
    }
    if (a.publisher) continue;
    if (!a.client->connected() || a.cls_sent) {
      a.reconnect_pending = false;
      schedule_reconnect(a, a.rng.range(0, 100) * kMs);
    } else if (a.subscribed) {
      a.rdy = std::max<std::int64_t>(a.rdy, 5);
      set_rdy(a, a.rdy);
    }
  }
}

RunResult Swarm::run() {
  const auto wall_start = std::chrono::steady_clock::now();
  const std::int64_t start = now();
  safety_end_ = start + cfg_.duration_ms * kMs;
  note("config " + cfg_.describe());
  setup();
  at(start + kTick, [this] { chaos_tick(); });

  bool ok = step_until(safety_end_);
  // A clean restart still closing finishes first (it takes milliseconds of virtual time).
  for (int i = 0; ok && restarting_ && i < 200; ++i) ok = step_until(now() + 50 * kMs);
  if (!failed() && abort_reason_.empty() && !restarting_) {
    // Safety phase over (or its step cap reached): liveness.
    heal();
    model_.after_step(*nsqd_);
    const std::int64_t limit = now() + opts_.liveness_limit_ms * kMs;
    ok = true;
    while (ok && now() < limit) {
      ok = step_until(now() + 500 * kMs);
      bool pending = false;
      for (const auto& t : model_.topics()) pending |= t.live && !t.channels.empty() && !t.pending.empty();
      // Every consumer back first: a topic without channels holds messages that are nobody's yet.
      bool all_back = true;
      for (const auto& a : agents_) all_back &= a->publisher || (a->subscribed && a->client->connected() && !a->cls_sent);
      if (all_back && model_.unresolved() == 0 && !pending && !engine_holds_anything()) break;
    }
    if (ok && !failed()) ok = step_until(now() + 1000 * kMs);  // quiet period: late frames, scans
    if (ok && !failed() && lookupd_) ok = check_lookupd();
    if (!failed() && abort_reason_.empty()) model_.at_end(*nsqd_);
  }
  if (!abort_reason_.empty()) model_.fail("budget", abort_reason_);
  const std::int64_t verdict_at = now();
  RunResult r;
  r.violations = model_.violations();
  r.trace_tail.assign(trace_.tail().begin(), trace_.tail().end());
  r.trace_hash = trace_.hash();
  r.trace_events = trace_.events();

  // Wind down without judging: nothing after the verdict counts.
  done_ = true;
  net_.set_server_tap(nullptr);
  for (auto& a : agents_) a->client->close();
  nsqd_->shutdown();
  clock_.run_until(now() + 100 * kMs);

  r.passed = r.violations.empty();
  if (!r.passed) r.first_checker = r.violations.front().checker;
  r.steps = steps_;
  r.model_events = model_.events();
  r.virtual_ns = verdict_at - start;
  r.published = model_.published();
  r.deliveries = model_.deliveries();
  r.faults_injected = faults_;
  r.admin_actions = admins_;
  r.restarts = restarts_;
  r.crashes = crashes_;
  r.disk_faults = disk_faults_;
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  r.summary = "published=" + std::to_string(r.published) + " deliveries=" + std::to_string(r.deliveries) +
              " steps=" + std::to_string(r.steps) + " faults=" + std::to_string(r.faults_injected) +
              " admin=" + std::to_string(r.admin_actions) +
              " restarts=" + std::to_string(r.restarts) + " crashes=" + std::to_string(r.crashes) +
              " disk_faults=" + std::to_string(r.disk_faults) + " virtual=" + io_sim::Trace::format_time(r.virtual_ns) + "s";
  return r;
}

}  // namespace

RunResult run_swarm(const Config& config, const RunOptions& options) {
  Swarm s(config, options);
  return s.run();
}

}  // namespace nsq::sim::swarm
