// The V2 command framer alone, as a differential check: the same byte stream fed whole and fed in arbitrary
// chunks must give the same commands, bodies and final state (nsqd's bufio reader does not care how bytes
// arrive). Input: [chunking seed byte][stream].
#include <cstdint>
#include <cstdlib>
#include <string>

#include "engine/command_parser.h"
#include "tests/fuzz/fuzz_world.h"

namespace {

// Accepts every stage within small limits and writes down everything it sees.
class Recorder final : public nsq::CommandHandler {
 public:
  std::string log;
  nsq::BodyPlan on_line(nsq::ParsedCommand& cmd) override {
    log += "L";
    for (auto p : cmd.params) log += "[" + std::string(p) + "]";
    if (cmd.name() == "QUIT") return nsq::BodyPlan::stop;
    return nsq::CommandParser::body_plan_for(cmd.name());
  }
  bool on_body_size(nsq::ParsedCommand&, std::int32_t size) override {
    log += "S" + std::to_string(size);
    return size >= 0 && size <= 4096;
  }
  bool on_mpub_count(nsq::ParsedCommand&, std::int32_t count) override {
    log += "C" + std::to_string(count);
    return count > 0 && count <= 64;
  }
  bool on_mpub_message_size(nsq::ParsedCommand&, std::int32_t index, std::int32_t size) override {
    log += "M" + std::to_string(index) + ":" + std::to_string(size);
    return size > 0 && size <= 512;
  }
  bool on_command(nsq::ParsedCommand& cmd) override {
    log += "X" + std::string(cmd.name()) + "{" + std::string(cmd.body) + "}";
    for (auto m : cmd.messages) log += "<" + std::string(m) + ">";
    return cmd.name() != "CLS";
  }
  void on_line_too_long() override { log += "TOO_LONG"; }
};

std::string run(std::string_view stream, std::uint8_t seed, bool whole) {
  Recorder r;
  nsq::CommandParser p;
  std::uint32_t x = seed * 2654435761u + 1;
  std::size_t i = 0;
  bool going = true;
  while (going && i < stream.size()) {
    std::size_t n = stream.size() - i;
    if (!whole) {
      x = x * 1103515245u + 12345u;
      n = std::min<std::size_t>(n, 1 + (x >> 16) % 37);
    }
    going = p.feed(r, reinterpret_cast<const std::uint8_t*>(stream.data() + i), n);
    i += n;
  }
  std::string code, desc;
  r.log += p.stopped() ? "|stopped" : "|open";
  if (p.pending_read_error(code, desc)) r.log += "|" + code + ":" + desc;
  return r.log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nsq::fuzz::Input in(data, size);
  const std::uint8_t seed = in.byte();
  const std::string_view stream = in.rest();
  const std::string whole = run(stream, seed, true);
  const std::string chunked = run(stream, seed, false);
  if (whole != chunked) {
    std::fprintf(stderr, "whole:   %s\nchunked: %s\n", whole.c_str(), chunked.c_str());
    std::abort();
  }
  return 0;
}
