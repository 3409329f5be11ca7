// One simulated world: virtual clock, seeded randomness, network, logger and an NSQD listening on the
// simulated network. Randomness is forked per domain so that, e.g., a new client draw does not change the
// network's chunking.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/nsqd.h"
#include "engine/options.h"
#include "io_sim/prng.h"
#include "io_sim/sim_dialer.h"
#include "io_sim/sim_http_client.h"
#include "io_sim/sim_logger.h"
#include "io_sim/sim_network.h"
#include "io_sim/trace.h"
#include "io_sim/virtual_clock.h"

namespace nsq::sim {

struct SimWorld {
  SimWorld(std::uint64_t seed, Options options, io_sim::NetworkConfig net_config = {},
           seam::LogLevel log_level = seam::LogLevel::info)
      : root(seed),
        engine_rng(root.fork("engine")),
        net(clock, root.fork("network"), &trace, net_config),
        logger(clock, trace, log_level) {
    options.tcp_address = tcp_address;
    Seams seams{clock, engine_rng, logger, nullptr};
    seams.http_client = &http;
    seams.dialer = &dialer;
    nsqd = std::make_unique<NSQD>(std::move(options), seams);
    nsqd->set_ports(4150, 4151);
    listener = net.listen(tcp_address);
    listener->start([this](std::unique_ptr<seam::Connection> conn) { nsqd->accept(std::move(conn)); });
  }
  ~SimWorld() {
    listener.reset();
    nsqd.reset();  // before the network and clock it uses
  }

  // Runs timers up to time t, but at most budget of them; false if the budget ran out first.
  bool run_until(std::int64_t t, std::uint64_t& budget) {
    for (;;) {
      auto next = clock.next_deadline();
      if (!next || *next > t) break;
      if (budget == 0) return false;
      --budget;
      clock.run_next();
    }
    clock.run_until(t);
    return true;
  }

  const std::string tcp_address = "127.0.0.1:4150";
  io_sim::Trace trace;
  io_sim::VirtualClock clock{&trace};
  io_sim::Prng root;
  io_sim::Prng engine_rng;
  io_sim::SimNetwork net;
  io_sim::SimLogger logger;
  io_sim::SimHttpClient http{clock};  // nsqlookupd and auth servers: register handlers per host:port
  io_sim::SimDialer dialer{net};      // nsqd's outgoing connections (nsqlookupd TCP)
  std::unique_ptr<NSQD> nsqd;
  std::unique_ptr<io_sim::SimListener> listener;
};

}  // namespace nsq::sim
