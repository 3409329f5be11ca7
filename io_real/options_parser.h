// nsqd's command line and config file → nsq::Options. Flag names, config keys, defaults, value syntax and the
// priority (explicit flag > config file > default) are nsqd v1.3.0's (go-options); see the fact sheet §5.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/options.h"

namespace nsq::io_real {

struct ParseOutcome {
  std::optional<Options> options;  // set: run nsqd with these
  int exit_code = 0;               // otherwise exit now with this code,
  std::string out;                 // after printing this to stdout (--help, --version)
  std::string err;                 // and this to stderr (errors)
};

// args[0] is the program name. hostname is the OS hostname (broadcast-address and node-id defaults).
ParseOutcome parse_options(const std::vector<std::string>& args, const std::string& hostname);

// nsqd's default --node-id: crc32(md5(hostname)) % 1024.
std::int64_t default_node_id(const std::string& hostname);

}  // namespace nsq::io_real
