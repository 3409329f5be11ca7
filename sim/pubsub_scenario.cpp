#include "sim/pubsub_scenario.h"

#include <deque>
#include <functional>
#include <limits>
#include <memory>

#include "sim/delivery_checker.h"
#include "sim/sim_client.h"
#include "sim/sim_world.h"

namespace nsq::sim {
namespace {

constexpr std::int64_t kMs = kMillisecond;
constexpr std::int64_t kMsgTimeout = 2 * kSecond;
constexpr std::int64_t kHeartbeatMs = 2000;  // consumers' IDENTIFY heartbeat_interval
constexpr std::int64_t kRunLimit = 120 * kSecond;
const std::string kTopic = "orders";

struct Consumer {
  std::string name;
  std::string channel;
  std::int64_t rdy = 1;
  bool negotiate = false;
  io_sim::Prng rng;
  std::unique_ptr<SimClient> client;
  int generation = 0;
  bool silent = false;               // stopped answering anything (heartbeats included)
  bool expect_server_close = false;  // nsqd should drop it for missed heartbeats
  bool counted_subscribed = false;
  int index = 0;  // gives each consumer its own simulated host
  std::string conn() const { return name + "#" + std::to_string(generation); }
};

struct Publisher {
  std::string name;
  std::unique_ptr<SimClient> client;
  std::deque<std::vector<std::string>> awaiting;  // bodies of each publish command not yet answered
};

Options engine_options() {
  Options o;
  o.node_id = 1;
  o.hostname = "sim-host";
  o.broadcast_address = "sim-host";
  o.msg_timeout = kMsgTimeout;
  o.queue_scan_interval = 100 * kMs;
  return o;
}

class PubSubScenario {
 public:
  explicit PubSubScenario(const ScenarioOptions& options)
      : opts_(options),
        world_(options.seed, engine_options()),
        plan_(world_.root.fork("plan")),
        checker_(DeliveryChecker::Limits{
            .msg_timeout_ns = kMsgTimeout,
            // output buffer timeout (250 ms) + network latency and transport delays, with margin
            .max_delivery_latency_ns = 500 * kMs,
            .max_command_latency_ns = 1 * kSecond,
            .wall_minus_monotonic_ns = io_sim::VirtualClock::kEpochWallNs - io_sim::VirtualClock::kStartNs,
        }) {
    world_.trace.set_echo(options.echo);
  }

  ScenarioResult run();

 private:
  std::int64_t now() const { return world_.clock.now_ns(); }
  void at(std::int64_t t, std::function<void()> fn) { world_.clock.schedule_at(t, std::move(fn)); }
  void note(std::string_view what) { world_.trace.record(now(), "scn", what); }
  void fail(std::string what) {
    if (failures_.size() < 50) failures_.push_back("[" + io_sim::Trace::format_time(now()) + "] " + std::move(what));
  }

  Consumer& add_consumer(std::string name, std::string channel, std::int64_t rdy);
  void connect_consumer(Consumer& c);
  void on_consumer_reply(Consumer& c, std::string_view cmd, bool ok, std::string_view text);
  void on_consumer_closed(Consumer& c, std::string_view reason);
  void on_message(Consumer& c, const wire::Message& m);
  void act(Consumer& c, int generation, const wire::Message& m);
  void fin(Consumer& c, const std::string& id);
  void req(Consumer& c, const std::string& id, std::int64_t delay_ms);
  void set_rdy(Consumer& c, std::int64_t n);

  Publisher& add_publisher(std::string name);
  void publish(Publisher& p, const std::string& cmd, std::vector<std::string> bodies, std::int64_t delay_ms);
  void plan_publishing(std::int64_t start);
  void plan_disruptions(std::int64_t start);
  void check_stats();

  ScenarioOptions opts_;
  SimWorld world_;
  io_sim::Prng plan_;
  DeliveryChecker checker_;
  std::vector<std::unique_ptr<Consumer>> consumers_;
  std::vector<std::unique_ptr<Publisher>> publishers_;
  std::vector<std::string> failures_;
  int subscribed_ = 0;
  bool publishing_planned_ = false;
  std::int64_t last_publish_at_ = std::numeric_limits<std::int64_t>::max();
  bool ending_ = false;
};

// ------------------------------------------------------------------------------------------- consumers

Consumer& PubSubScenario::add_consumer(std::string name, std::string channel, std::int64_t rdy) {
  auto c = std::make_unique<Consumer>(Consumer{name, channel, rdy, false, world_.root.fork("consumer/" + name),
                                               std::make_unique<SimClient>(name, world_.net)});
  c->negotiate = c->rng.chance(1, 2);
  c->index = static_cast<int>(consumers_.size()) + 1;
  Consumer& ref = *c;
  auto& h = ref.client->handlers();
  h.message = [this, &ref](const wire::Message& m) { on_message(ref, m); };
  h.reply = [this, &ref](std::string_view cmd, bool ok, std::string_view text) {
    on_consumer_reply(ref, cmd, ok, text);
  };
  h.soft_error = [this, &ref](std::string_view text) { checker_.soft_error(ref.conn(), text, now()); };
  h.closed = [this, &ref](std::string_view reason) { on_consumer_closed(ref, reason); };
  checker_.add_channel(channel);
  consumers_.push_back(std::move(c));
  return ref;
}

void PubSubScenario::connect_consumer(Consumer& c) {
  ++c.generation;
  note("connect " + c.conn());
  c.client->connect(world_.tcp_address, "10.0.1." + std::to_string(c.index));
  checker_.connection_opened(c.conn(), c.channel);
  c.client->identify(R"({"client_id":")" + c.name + R"(","hostname":"sim-)" + c.name +
                     R"(","user_agent":"nsqd-sim/0.1","heartbeat_interval":)" + std::to_string(kHeartbeatMs) +
                     R"(,"feature_negotiation":)" + (c.negotiate ? "true" : "false") + "}");
}

void PubSubScenario::on_consumer_reply(Consumer& c, std::string_view cmd, bool ok, std::string_view text) {
  if (!ok) return fail(c.conn() + " " + std::string(cmd) + " failed: " + std::string(text));
  if (cmd == "IDENTIFY") {
    c.client->sub(kTopic, c.channel);
  } else if (cmd == "SUB") {
    if (text != "OK") fail(c.conn() + " SUB replied " + std::string(text));
    set_rdy(c, c.rdy);
    if (!c.counted_subscribed) {
      c.counted_subscribed = true;
      // Publishing starts once every channel exists, so each channel gets a copy of every message.
      if (++subscribed_ == static_cast<int>(consumers_.size()) && !publishing_planned_) {
        publishing_planned_ = true;
        plan_publishing(now() + 50 * kMs);
        plan_disruptions(now() + 50 * kMs);
      }
    }
  }
}

void PubSubScenario::on_consumer_closed(Consumer& c, std::string_view reason) {
  const std::string conn = c.conn();
  checker_.connection_closed(conn, now());
  note("closed " + conn + " " + std::string(reason));
  if (!c.expect_server_close) {
    if (!ending_) fail(conn + " closed unexpectedly: " + std::string(reason));
    return;
  }
  // nsqd's read deadline is 2 x heartbeat after its last read, which was no earlier than our last write.
  const std::int64_t quiet = now() - c.client->last_sent_ns();
  if (quiet < 2 * kHeartbeatMs * kMs || quiet > 2 * kHeartbeatMs * kMs + 500 * kMs) {
    fail(conn + " dropped " + std::to_string(quiet / kMs) + " ms after its last write; expected ~" +
         std::to_string(2 * kHeartbeatMs) + " ms (2 x heartbeat)");
  }
  c.silent = false;
  c.expect_server_close = false;
  at(now() + c.rng.range(200, 800) * kMs, [this, &c] { connect_consumer(c); });
}

void PubSubScenario::on_message(Consumer& c, const wire::Message& m) {
  checker_.delivered(c.conn(), m, now());
  if (c.silent) return;
  const int generation = c.generation;
  at(now() + c.rng.range(1, 40) * kMs, [this, &c, generation, m] { act(c, generation, m); });
}

void PubSubScenario::act(Consumer& c, int generation, const wire::Message& m) {
  if (generation != c.generation || c.silent || !c.client->connected()) return;
  if (m.attempts >= 4) return fin(c, m.id);  // bounded retries keep the run finite
  const auto roll = c.rng.uniform(100);
  if (roll < 72) {
    fin(c, m.id);
  } else if (roll < 80) {
    req(c, m.id, 0);
  } else if (roll < 88) {
    req(c, m.id, c.rng.range(100, 1500));
  } else if (roll < 94) {
    c.client->touch(m.id);
    at(now() + c.rng.range(200, 1200) * kMs, [this, &c, generation, id = m.id] {
      if (generation == c.generation && !c.silent && c.client->connected()) fin(c, id);
    });
  } else {
    note(c.conn() + " ignores " + m.body);  // nsqd must time it out and redeliver
  }
}

void PubSubScenario::fin(Consumer& c, const std::string& id) {
  c.client->fin(id);
  checker_.fin_sent(c.conn(), id, now());
}

void PubSubScenario::req(Consumer& c, const std::string& id, std::int64_t delay_ms) {
  c.client->req(id, delay_ms);
  checker_.req_sent(c.conn(), id, delay_ms * kMs, now());
}

void PubSubScenario::set_rdy(Consumer& c, std::int64_t n) {
  c.client->rdy(n);
  checker_.rdy_sent(c.conn(), n, now());
}

// ------------------------------------------------------------------------------------------ publishers

Publisher& PubSubScenario::add_publisher(std::string name) {
  auto p = std::make_unique<Publisher>(Publisher{name, std::make_unique<SimClient>(name, world_.net), {}});
  Publisher& ref = *p;
  auto& h = ref.client->handlers();
  h.reply = [this, &ref](std::string_view cmd, bool ok, std::string_view text) {
    if (cmd == "PUB" || cmd == "MPUB" || cmd == "DPUB") {
      if (ref.awaiting.empty()) return fail(ref.name + ": reply with no publish outstanding");
      for (const auto& body : ref.awaiting.front()) checker_.publish_acked(body, ok && text == "OK", text);
      ref.awaiting.pop_front();
    } else if (!ok) {
      fail(ref.name + " " + std::string(cmd) + " failed: " + std::string(text));
    }
  };
  h.closed = [this, &ref](std::string_view reason) {
    if (!ending_) fail(ref.name + " closed unexpectedly: " + std::string(reason));
  };
  publishers_.push_back(std::move(p));
  return ref;
}

void PubSubScenario::publish(Publisher& p, const std::string& cmd, std::vector<std::string> bodies,
                             std::int64_t delay_ms) {
  for (const auto& b : bodies) checker_.publish_sent(b, now(), delay_ms * kMs);
  if (cmd == "PUB") {
    p.client->pub(kTopic, bodies.front());
  } else if (cmd == "MPUB") {
    p.client->mpub(kTopic, bodies);
  } else {
    p.client->dpub(kTopic, delay_ms, bodies.front());
  }
  p.awaiting.push_back(std::move(bodies));
}

void PubSubScenario::plan_publishing(std::int64_t start) {
  note("publishing starts");
  std::int64_t last = start;
  auto plan = [&](Publisher& p, std::int64_t count, auto&& make) {
    std::int64_t t = start;
    for (std::int64_t i = 0; i < count; ++i) make(p, i, t);
    last = std::max(last, t);
  };
  plan(*publishers_[0], plan_.range(30, 60), [&](Publisher& p, std::int64_t i, std::int64_t& t) {
    t += plan_.range(5, 60) * kMs;
    at(t, [this, &p, i] { publish(p, "PUB", {p.name + "-" + std::to_string(i)}, 0); });
  });
  plan(*publishers_[1], plan_.range(5, 10), [&](Publisher& p, std::int64_t i, std::int64_t& t) {
    t += plan_.range(50, 300) * kMs;
    std::vector<std::string> bodies;
    const auto n = plan_.range(1, 10);
    for (std::int64_t k = 0; k < n; ++k) bodies.push_back(p.name + "-b" + std::to_string(i) + "-" + std::to_string(k));
    at(t, [this, &p, bodies] { publish(p, "MPUB", bodies, 0); });
  });
  plan(*publishers_[2], plan_.range(8, 16), [&](Publisher& p, std::int64_t i, std::int64_t& t) {
    t += plan_.range(20, 200) * kMs;
    const std::int64_t delay_ms = plan_.chance(1, 5) ? 0 : plan_.range(100, 3000);
    at(t, [this, &p, i, delay_ms] { publish(p, "DPUB", {p.name + "-" + std::to_string(i)}, delay_ms); });
  });
  last_publish_at_ = last;
}

void PubSubScenario::plan_disruptions(std::int64_t start) {
  // b2 hangs up mid-stream with messages in flight (they must stay in flight until they time out), then
  // comes back as a new connection.
  Consumer& b2 = *consumers_[1];
  const std::int64_t gone = start + plan_.range(800, 2000) * kMs;
  const std::int64_t back = gone + plan_.range(300, 1500) * kMs;
  at(gone, [this, &b2] {
    note("disconnect " + b2.conn());
    b2.client->close();
    checker_.connection_closed(b2.conn(), now());
  });
  at(back, [this, &b2] { connect_consumer(b2); });

  // a1 goes silent (no FIN, no heartbeat answers): nsqd must drop it after 2 heartbeats; it then reconnects.
  Consumer& a1 = *consumers_[3];
  at(start + plan_.range(1000, 2500) * kMs, [this, &a1] {
    note("silent " + a1.conn());
    a1.silent = true;
    a1.expect_server_close = true;
    a1.client->set_answer_heartbeats(false);
  });

  // b3 narrows its RDY window for a while, then widens it again.
  Consumer& b3 = *consumers_[2];
  const std::int64_t narrow = start + plan_.range(500, 1500) * kMs;
  const std::int64_t widen = narrow + plan_.range(1000, 3000) * kMs;
  at(narrow, [this, &b3] {
    if (b3.client->connected()) set_rdy(b3, 1);
  });
  at(widen, [this, &b3] {
    if (b3.client->connected()) set_rdy(b3, b3.rdy);
  });
}

// ------------------------------------------------------------------------------------------------- run

void PubSubScenario::check_stats() {
  const auto stats = world_.nsqd->stats(kTopic, "", true);
  if (stats.size() != 1 || stats[0].topic_name != kTopic) return fail("stats: topic " + kTopic + " missing");
  const TopicStats& t = stats[0];
  const auto published = static_cast<std::uint64_t>(checker_.published());
  if (t.depth != 0) fail("stats: topic depth " + std::to_string(t.depth));
  if (t.message_count != published) {
    fail("stats: topic message_count " + std::to_string(t.message_count) + " != published " + std::to_string(published));
  }
  for (const char* name : {"audit", "billing"}) {
    const ChannelStats* ch = nullptr;
    for (const auto& c : t.channels) {
      if (c.channel_name == name) ch = &c;
    }
    if (ch == nullptr) {
      fail(std::string("stats: channel ") + name + " missing");
      continue;
    }
    const std::string where = std::string("stats: channel ") + name + " ";
    if (ch->depth != 0) fail(where + "depth " + std::to_string(ch->depth));
    if (ch->in_flight_count != 0) fail(where + "in_flight " + std::to_string(ch->in_flight_count));
    if (ch->deferred_count != 0) fail(where + "deferred " + std::to_string(ch->deferred_count));
    if (ch->message_count != published) {
      fail(where + "message_count " + std::to_string(ch->message_count) + " != published " + std::to_string(published));
    }
    for (const auto& cl : ch->clients) {
      if (cl.in_flight_count != 0) fail(where + "client " + cl.client_id + " in_flight " + std::to_string(cl.in_flight_count));
    }
  }
}

ScenarioResult PubSubScenario::run() {
  const std::int64_t start = now();
  std::uint64_t budget = opts_.max_timers;

  // Several RDY sizes per channel: 1 (strict one-at-a-time), a few, many.
  add_consumer("b1", "billing", plan_.range(1, 2));
  add_consumer("b2", "billing", plan_.range(3, 6));
  add_consumer("b3", "billing", plan_.range(10, 25));
  add_consumer("a1", "audit", plan_.range(2, 4));
  add_consumer("a2", "audit", plan_.range(5, 12));
  for (const char* name : {"p1", "p2", "p3"}) add_publisher(name);

  for (auto& c : consumers_) {
    Consumer* cp = c.get();
    at(start + plan_.range(0, 50) * kMs, [this, cp] { connect_consumer(*cp); });
  }
  for (auto& p : publishers_) {
    Publisher* pp = p.get();
    at(start + plan_.range(0, 50) * kMs, [this, pp] {
      pp->client->connect(world_.tcp_address, "10.0.2.1");
      if (pp->name == "p1") pp->client->identify(R"({"client_id":"p1","user_agent":"nsqd-sim/0.1"})");
    });
  }

  bool budget_ok = true;
  bool done = false;
  while (budget_ok && now() < start + kRunLimit) {
    budget_ok = world_.run_until(now() + 100 * kMs, budget);
    if (now() > last_publish_at_ && checker_.all_finished_sent()) {
      done = true;
      break;
    }
  }
  if (!budget_ok) fail("event budget of " + std::to_string(opts_.max_timers) + " timers exhausted");
  if (budget_ok && !done) fail("not finished after " + std::to_string(kRunLimit / kSecond) + " s of virtual time");
  const std::int64_t verdict_at = now();

  // Quiet period: late errors come back, the queue scanner runs, nothing may be left anywhere.
  if (budget_ok) budget_ok = world_.run_until(now() + 3 * kSecond, budget);
  if (budget_ok) {  // after a cut-short run these would only repeat "not finished"
    check_stats();
    checker_.finish(now());
  }

  ending_ = true;
  for (auto& c : consumers_) c->client->close();
  for (auto& p : publishers_) p->client->close();
  world_.run_until(now() + 500 * kMs, budget);
  world_.nsqd->shutdown();
  world_.run_until(now() + 1 * kSecond, budget);

  ScenarioResult r;
  r.failures = failures_;
  for (const auto& f : checker_.failures()) r.failures.push_back(f);
  r.passed = r.failures.empty();
  r.trace_hash = world_.trace.hash();
  r.trace_events = world_.trace.events();
  r.timers_run = world_.clock.timers_run();
  r.virtual_ns = verdict_at - start;
  r.published = checker_.published();
  r.deliveries = checker_.deliveries();
  r.redeliveries = checker_.redeliveries();
  r.trace_tail.assign(world_.trace.tail().begin(), world_.trace.tail().end());
  r.summary = "published=" + std::to_string(r.published) + " deliveries=" + std::to_string(r.deliveries) +
              " redeliveries=" + std::to_string(r.redeliveries) + " timers=" + std::to_string(r.timers_run) +
              " virtual=" + io_sim::Trace::format_time(r.virtual_ns) + "s";
  return r;
}

}  // namespace

ScenarioResult run_pubsub_scenario(const ScenarioOptions& options) {
  PubSubScenario scenario(options);
  return scenario.run();
}

}  // namespace nsq::sim
