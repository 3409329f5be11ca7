// A minimal nsqlookupd for the swarm: speaks the "  V1" protocol nsqd's lookup peer uses (IDENTIFY, REGISTER,
// UNREGISTER, PING, each answered [int32 size][data]) and keeps each connection's registrations with
// nsqlookupd v1.3.0's rules: REGISTER t c registers the channel and its topic, UNREGISTER t c the channel,
// UNREGISTER t the topic and all its channels, and a closed connection takes its registrations with it.
//
// A partition (the lookupd fault) stalls its connections and refuses new ones; after healing, nsqd's peer
// reconnects and replays everything, and registrations() must equal the engine's topics and channels.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "io_sim/sim_network.h"

namespace nsq::sim::swarm {

class FakeLookupd {
 public:
  // on_conn: the id of every connection it accepts (the swarm keeps the model away from them).
  FakeLookupd(io_sim::SimNetwork& net, std::string address, std::function<void(std::uint64_t)> on_conn);
  ~FakeLookupd();

  const std::string& address() const { return address_; }
  void set_partitioned(bool on);
  bool partitioned() const { return partitioned_; }
  // (topic, channel) pairs registered by live connections; channel "" = the topic itself.
  std::set<std::pair<std::string, std::string>> registrations() const;
  std::size_t live_connections() const { return conns_.size(); }
  std::uint64_t commands() const { return commands_; }

 private:
  struct Conn;
  void on_closed(std::uint64_t id);

  io_sim::SimNetwork& net_;
  std::string address_;
  std::function<void(std::uint64_t)> on_conn_;
  std::unique_ptr<io_sim::SimListener> listener_;
  std::map<std::uint64_t, std::unique_ptr<Conn>> conns_;
  bool partitioned_ = false;
  std::uint64_t commands_ = 0;
};

}  // namespace nsq::sim::swarm
