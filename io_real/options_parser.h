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

// Options nsqd v1.3.0 accepts that nsqd-cpp does not implement yet: the error to refuse them with (naming the
// issue that brings them), or nullopt. Never silently ignored: a daemon asked for auth, which it cannot provide
// yet, exits instead of running without it. (TLS, snappy and deflate are implemented.)
std::optional<std::string> unsupported_option(const Options& options);

// nsqd's default --node-id: crc32(md5(hostname)) % 1024.
std::int64_t default_node_id(const std::string& hostname);

}  // namespace nsq::io_real
