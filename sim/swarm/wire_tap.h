// Parsers for the two byte streams the reference model watches at the engine's side of each connection:
// commands a client sent (as nsqd reassembles them) and frames nsqd wrote. Only well-formed input is expected
// (the simulated clients are ours); anything else marks the stream corrupt.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sim/wire.h"

namespace nsq::sim::swarm {

struct Command {
  std::string name;                 // "PUB", "FIN", ...
  std::vector<std::string> params;  // after the name
  std::string body;                 // PUB/DPUB/IDENTIFY body
  std::vector<std::string> bodies;  // MPUB bodies
};

class CommandStream {
 public:
  void feed(std::string_view bytes) { buf_.append(bytes.data(), bytes.size()); }
  std::optional<Command> next();
  bool corrupt() const { return corrupt_; }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
  bool magic_ = false;
  bool corrupt_ = false;
};

}  // namespace nsq::sim::swarm
