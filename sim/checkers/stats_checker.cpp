// nsqd's own counters (what /stats reports) agree with the model, after every step:
//  exact:   topic message_count and depth; channel message_count, requeue_count, and depth + in_flight + deferred
//           (every copy handed to the channel and neither finished nor dropped is somewhere in it)
//  bounded: deferred <= copies the model has deferred; timeout_count >= timeouts the model inferred
// and every 100 ms of virtual time, from the counters NSQD::stats() reports (read from the channels and clients
// directly; every 10th time, and at the end, through NSQD::stats() itself, the /stats path):
//  bounded: deferred >= copies certainly not yet due; in_flight >= copies certainly in flight;
//           timeout_count <= inferred + copies that may have expired
//  exact:   per connection ready_count (latest RDY processed), finish_count, requeue_count
//  bounded: per connection in_flight_count between what it certainly holds and what it may hold
#include "sim/checkers/checkers.h"

#include "engine/channel.h"
#include "engine/client.h"
#include "engine/nsqd.h"
#include "engine/topic.h"

namespace nsq::sim::checkers {
namespace {

class StatsChecker final : public Checker {
 public:
  const char* name() const override { return "stats"; }

  void after_step(const swarm::Model& m, NSQD& nsqd) override {
    auto& mm = const_cast<swarm::Model&>(m);
    refresh(m, nsqd);
    for (const Watched& w : watched_) {
      const swarm::TopicInst& ti = m.topics()[w.topic];
      Topic* t = w.t;
      // A runtime-created topic holds its messages until nsqlookupd's channel list arrives (or the query fails):
      // the model has already fanned them out, so counts are compared once the topic has started.
      if (!t->started()) continue;
      if (ti.inexact) {
        // After a crash or a failed publish: what nsqd holds beyond the model's view is replays and limbo.
        if (t->depth() + static_cast<std::int64_t>(ti.unanswered) < static_cast<std::int64_t>(ti.pending.size()) &&
            !ti.paused && !ti.ephemeral) {
          mm.fail(name(), "topic " + ti.name + " depth " + std::to_string(t->depth()) + " < " +
                              std::to_string(ti.pending.size()) + " acknowledged messages it must hold");
        }
      } else if (t->message_count() > ti.published || t->message_count() + ti.unanswered < ti.published) {
        mm.fail(name(), "topic " + ti.name + " message_count " + std::to_string(t->message_count()) + ", model " +
                            std::to_string(ti.published));
      }
      const bool lossy = ti.ephemeral && m.limits().ephemeral_lossy;
      const auto slack = static_cast<std::int64_t>(ti.unanswered);
      const auto pending = static_cast<std::int64_t>(ti.pending.size());
      if (!ti.inexact && !lossy && (t->depth() > pending || t->depth() + slack < pending)) {
        mm.fail(name(), "topic " + ti.name + " depth " + std::to_string(t->depth()) + ", model " +
                            std::to_string(ti.pending.size()));
      }
      for (const auto& [ci, ch] : w.chans) {
        const swarm::ChannelInst& inst = m.chan(ci);
        const std::string& cname = inst.name;
        if (inst.lossy) continue;
        auto where = [&] { return "channel " + ti.name + "/" + cname + " "; };
        if (inst.inexact) {
          const auto held = static_cast<std::uint64_t>(ch->depth()) + ch->in_flight_count() + ch->deferred_count();
          if (!inst.crashed && held + static_cast<std::uint64_t>(t->depth()) + ti.unanswered < inst.alive) {
            std::string some;
            int n = 0;
            for (const auto& [msg, idx] : inst.copies) {
              const swarm::Copy& cp = m.copy(idx);
              if (cp.state != swarm::CopyState::queued && cp.state != swarm::CopyState::deferred &&
                  cp.state != swarm::CopyState::in_flight) continue;
              if (++n > 8) break;
              some += "\n    " + m.describe(cp) + (cp.crashed ? " crashed" : "") + (m.msg(cp.msg).acked ? " acked" : "");
            }
            some += "\n    nsqd: depth " + std::to_string(ch->depth()) + " in_flight " + std::to_string(ch->in_flight_count()) +
                    " deferred " + std::to_string(ch->deferred_count());
            mm.fail(name(), where() + "holds " + std::to_string(held) + " (topic " + std::to_string(t->depth()) +
                                ") < " + std::to_string(inst.alive) + " copies the model knows are unfinished:" + some);
          }
          if (ch->message_count() + ti.unanswered < inst.assigned) {
            mm.fail(name(), where() + "message_count " + std::to_string(ch->message_count()) + " < model " +
                                std::to_string(inst.assigned));
          }
          continue;
        }
        if (ch->message_count() > inst.assigned || ch->message_count() + ti.unanswered < inst.assigned) {
          mm.fail(name(), where() + "message_count " + std::to_string(ch->message_count()) + ", model " +
                              std::to_string(inst.assigned));
        }
        if (ch->requeue_count() != inst.reqs_ok) {
          mm.fail(name(), where() + "requeue_count " + std::to_string(ch->requeue_count()) + ", model " +
                              std::to_string(inst.reqs_ok));
        }
        const auto held = static_cast<std::uint64_t>(ch->depth()) + ch->in_flight_count() + ch->deferred_count();
        if (held > inst.alive || held + ti.unanswered < inst.alive) {
          mm.fail(name(), where() + "depth " + std::to_string(ch->depth()) + " + in_flight " +
                              std::to_string(ch->in_flight_count()) + " + deferred " +
                              std::to_string(ch->deferred_count()) + " = " + std::to_string(held) +
                              ", model holds " + std::to_string(inst.alive) + " unfinished copies");
        }
        if (ch->deferred_count() > inst.deferred + inst.ambiguous) {
          mm.fail(name(), where() + "deferred " + std::to_string(ch->deferred_count()) + " > model's " +
                              std::to_string(inst.deferred));
        }
        if (ch->timeout_count() + inst.ambiguous < inst.timeouts_inferred) {
          mm.fail(name(), where() + "timeout_count " + std::to_string(ch->timeout_count()) + " < " +
                              std::to_string(inst.timeouts_inferred) + " timeouts seen on the wire");
        }
      }
    }
    if (m.now() >= next_full_) {
      next_full_ = m.now() + 100'000'000;
      if (++full_checks_ % 10 == 0) {
        full_check_from_stats(mm, nsqd);
      } else {
        full_check_live(mm);
      }
    }
  }

  void at_end(const swarm::Model& m, NSQD& nsqd) override { full_check_from_stats(const_cast<swarm::Model&>(m), nsqd); }

 private:
  // The live (topic, channels) pairs present in both the model and nsqd, with nsqd's objects: rebuilt only when
  // either side's topology changed (the per-step check then does no name lookups).
  struct Watched {
    std::size_t topic;
    Topic* t;
    std::vector<std::pair<std::uint32_t, Channel*>> chans;
  };
  void refresh(const swarm::Model& m, NSQD& nsqd) {
    if (&nsqd == watched_nsqd_ && nsqd.topology_version() == watched_version_ &&
        m.topology_epoch() == watched_epoch_) {
      return;
    }
    watched_nsqd_ = &nsqd;
    watched_version_ = nsqd.topology_version();
    watched_epoch_ = m.topology_epoch();
    watched_.clear();
    for (std::size_t i = 0; i < m.topics().size(); ++i) {
      const swarm::TopicInst& ti = m.topics()[i];
      if (!ti.live) continue;
      Topic* t = nsqd.find_topic(ti.name);
      if (t == nullptr) continue;  // reported by the model's topology check
      Watched w{i, t, {}};
      for (const auto& [cname, ci] : ti.channels) {
        if (Channel* ch = t->find_channel(cname)) w.chans.emplace_back(ci, ch);
      }
      watched_.push_back(std::move(w));
    }
  }
  std::vector<Watched> watched_;
  const NSQD* watched_nsqd_ = nullptr;
  std::uint64_t watched_version_ = ~std::uint64_t{0};
  std::uint64_t watched_epoch_ = ~std::uint64_t{0};

  // What the full check compares, from either source.
  struct ClientView {
    const std::string* client_id;
    std::int64_t ready_count, in_flight_count;
    std::uint64_t message_count, finish_count, requeue_count;
  };
  struct ChannelView {
    std::int64_t depth, in_flight_count, deferred_count;
    std::uint64_t timeout_count;
  };

  void full_check_from_stats(swarm::Model& m, NSQD& nsqd) {
    for (const TopicStats& ts : nsqd.stats({}, {}, true)) {
      const swarm::TopicInst* ti = m.live_topic(ts.topic_name);
      if (ti == nullptr) continue;
      for (const ChannelStats& cs : ts.channels) {
        auto it = ti->channels.find(cs.channel_name);
        if (it == ti->channels.end()) continue;
        const swarm::ChannelInst& inst = m.chan(it->second);
        if (inst.inexact || inst.lossy) continue;
        clients_.clear();
        for (const ClientStats& cl : cs.clients) {
          clients_.push_back(ClientView{&cl.client_id, cl.ready_count, cl.in_flight_count, cl.message_count,
                                        cl.finish_count, cl.requeue_count});
        }
        check_channel(m, ts.topic_name, cs.channel_name, inst,
                      ChannelView{cs.depth, cs.in_flight_count, cs.deferred_count, cs.timeout_count});
      }
    }
  }

  // The same pairs as NSQD::stats() joined with the model by name (watched_ is current: after_step refreshed it).
  void full_check_live(swarm::Model& m) {
    for (const Watched& w : watched_) {
      const swarm::TopicInst& ti = m.topics()[w.topic];
      for (const auto& [ci, ch] : w.chans) {
        const swarm::ChannelInst& inst = m.chan(ci);
        if (inst.inexact || inst.lossy) continue;
        clients_.clear();
        for (const Client* cl : ch->clients()) {
          clients_.push_back(ClientView{&cl->client_id(), cl->ready_count(), cl->in_flight_count(),
                                        cl->message_count(), cl->finish_count(), cl->requeue_count()});
        }
        check_channel(m, ti.name, inst.name, inst,
                      ChannelView{ch->depth(), static_cast<std::int64_t>(ch->in_flight_count()),
                                  static_cast<std::int64_t>(ch->deferred_count()), ch->timeout_count()});
      }
    }
  }

  void check_channel(swarm::Model& m, const std::string& topic_name, const std::string& channel_name,
                     const swarm::ChannelInst& inst, const ChannelView& cs) {
    const std::int64_t now = m.now();
    std::int64_t certain_deferred = 0, certain_in_flight = 0, maybe_expired = 0;
    for (std::uint32_t idx : inst.copy_list) {
      const swarm::Copy& cp = m.copy(idx);
      if (cp.state == swarm::CopyState::deferred && cp.not_before > now) ++certain_deferred;
      if (cp.ghost_conn != 0 && cp.ghost_optional) ++maybe_expired;
      if (cp.state == swarm::CopyState::in_flight) {
        if (cp.earliest_expiry > now && !cp.ambiguous) {
          ++certain_in_flight;
        } else {
          ++maybe_expired;
        }
      }
    }
    auto where = [&] { return "stats " + topic_name + "/" + channel_name + " "; };
    // (--durable: a deferred copy waits on the channel's disk queue, counted in depth, until it is read back.)
    if (cs.deferred_count + cs.depth < certain_deferred) {
      m.fail(name(), where() + "deferred_count " + std::to_string(cs.deferred_count) + " + depth " +
                         std::to_string(cs.depth) + " < " + std::to_string(certain_deferred) +
                         " certainly deferred");
    }
    if (cs.in_flight_count < certain_in_flight) {
      m.fail(name(), where() + "in_flight_count " + std::to_string(cs.in_flight_count) + " < " +
                         std::to_string(certain_in_flight) + " certainly in flight");
    }
    const std::uint64_t max_timeouts =
        inst.timeouts_inferred + inst.timeout_slack + inst.ambiguous + static_cast<std::uint64_t>(maybe_expired);
    if (cs.timeout_count > max_timeouts) {
      m.fail(name(), where() + "timeout_count " + std::to_string(cs.timeout_count) + " > " +
                         std::to_string(max_timeouts) + " possible");
    }
    for (const ClientView& cl : clients_) {
      const swarm::Conn* cp = m.conn_by_label(*cl.client_id);
      if (cp == nullptr) continue;
      const swarm::Conn& conn = *cp;
      const std::int64_t rdy = conn.rdy.empty() ? 0 : conn.rdy.back().second;
      auto who = [&] { return where() + "client " + conn.label + " "; };
      if (cl.ready_count != rdy) {
        m.fail(name(), who() + "ready_count " + std::to_string(cl.ready_count) + ", model " + std::to_string(rdy));
      }
      if (cl.finish_count != conn.fins_ok) {
        m.fail(name(), who() + "finish_count " + std::to_string(cl.finish_count) + ", model " +
                           std::to_string(conn.fins_ok));
      }
      if (cl.requeue_count != conn.reqs_ok) {
        m.fail(name(), who() + "requeue_count " + std::to_string(cl.requeue_count) + ", model " +
                           std::to_string(conn.reqs_ok));
      }
      // The connection's in-flight count: at least what it certainly holds; at most what it may hold
      // (held in the model, possibly expired included, plus deliveries nsqd has not written yet).
      std::int64_t certain = 0;
      for (std::uint32_t idx : conn.held) {
        const swarm::Copy& h = m.copy(idx);
        if (h.earliest_expiry > now && !h.ambiguous && !h.crashed) ++certain;
      }
      const auto unwritten =
          cl.message_count > conn.messages ? static_cast<std::int64_t>(cl.message_count - conn.messages) : 0;
      const auto may_hold =
          static_cast<std::int64_t>(conn.held.size()) + unwritten + static_cast<std::int64_t>(inst.ambiguous);
      if (cl.in_flight_count < certain || cl.in_flight_count > may_hold) {
        m.fail(name(), who() + "in_flight_count " + std::to_string(cl.in_flight_count) + " outside [" +
                           std::to_string(certain) + ", " + std::to_string(may_hold) + "]");
      }
      if (cl.message_count < conn.messages) {
        m.fail(name(), who() + "message_count " + std::to_string(cl.message_count) + " < " +
                           std::to_string(conn.messages) + " written");
      }
    }
  }

  std::vector<ClientView> clients_;  // reused
  std::uint64_t full_checks_ = 0;
  std::int64_t next_full_ = 0;
};

}  // namespace

std::unique_ptr<Checker> make_stats_checker() { return std::make_unique<StatsChecker>(); }

}  // namespace nsq::sim::checkers
