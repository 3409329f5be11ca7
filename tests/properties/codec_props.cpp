// Property 1: the V2 command framing. A client-side encoder written here (independently of the engine) turns
// generated command sequences into bytes; CommandParser must give back exactly the same commands however the
// stream is cut into chunks.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <sstream>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "engine/command_parser.h"
#include "prop_util.h"

namespace {

enum class Kind { line, sized, mpub };

struct Cmd {
  Kind kind = Kind::line;
  std::vector<std::string> params;  // params[0] is the command word
  std::string body;                 // sized
  std::vector<std::string> messages;  // mpub
  bool crlf = false;                // encode the line with "\r\n" (parser strips one '\r')

  bool operator==(const Cmd& o) const {
    return kind == o.kind && params == o.params && body == o.body && messages == o.messages;
  }
};

void showValue(const Cmd& c, std::ostream& os) {
  os << "{";
  for (const auto& p : c.params) os << propu::printable(p) << " ";
  if (c.kind == Kind::sized) os << "body=" << propu::printable(c.body);
  if (c.kind == Kind::mpub) {
    os << "messages=[";
    for (const auto& m : c.messages) os << propu::printable(m) << ",";
    os << "]";
  }
  if (c.crlf) os << " crlf";
  os << "}";
}

// ---- client-side encoder -------------------------------------------------------------------------------------

void put_i32(std::string& out, std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  out.push_back(static_cast<char>(u >> 24));
  out.push_back(static_cast<char>((u >> 16) & 0xFF));
  out.push_back(static_cast<char>((u >> 8) & 0xFF));
  out.push_back(static_cast<char>(u & 0xFF));
}

void encode(const Cmd& c, std::string& out) {
  for (std::size_t i = 0; i < c.params.size(); ++i) {
    if (i > 0) out.push_back(' ');
    out += c.params[i];
  }
  out += c.crlf ? "\r\n" : "\n";
  if (c.kind == Kind::sized) {
    put_i32(out, static_cast<std::int32_t>(c.body.size()));
    out += c.body;
  } else if (c.kind == Kind::mpub) {
    std::size_t total = 4;
    for (const auto& m : c.messages) total += 4 + m.size();
    put_i32(out, static_cast<std::int32_t>(total));
    put_i32(out, static_cast<std::int32_t>(c.messages.size()));
    for (const auto& m : c.messages) {
      put_i32(out, static_cast<std::int32_t>(m.size()));
      out += m;
    }
  }
}

std::string encode_all(const std::vector<Cmd>& cmds) {
  std::string out;
  for (const auto& c : cmds) encode(c, out);
  return out;
}

// ---- generators ----------------------------------------------------------------------------------------------

// A parameter: any bytes but ' ' and '\n' (possibly empty, possibly with '\r' and NUL inside).
rc::Gen<std::string> gen_param() {
  return rc::gen::container<std::string>(
      rc::gen::suchThat(rc::gen::arbitrary<char>(), [](char ch) { return ch != ' ' && ch != '\n'; }));
}

rc::Gen<std::string> gen_body() {
  // Mostly small binary bodies, sometimes big ones so the parser's 64 KiB compaction is exercised.
  return rc::gen::weightedOneOf<std::string>({
      {8, rc::gen::container<std::string>(rc::gen::arbitrary<char>())},
      {2, rc::gen::container<std::string>(rc::gen::elementOf(std::string("\n\r \0x", 5)))},
      {1, rc::gen::map(rc::gen::inRange<std::size_t>(1000, 40000),
                       [](std::size_t n) {
                         std::string s(n, 'b');
                         for (std::size_t i = 0; i < n; i += 97) s[i] = '\n';
                         return s;
                       })},
  });
}

rc::Gen<Cmd> gen_cmd() {
  auto line = rc::gen::map(
      rc::gen::tuple(rc::gen::element<std::string>("SUB", "RDY", "FIN", "REQ", "TOUCH", "NOP", "CLS", "nop", "X"),
                     rc::gen::resize(8, rc::gen::container<std::vector<std::string>>(gen_param())),
                     rc::gen::arbitrary<bool>()),
      [](const std::tuple<std::string, std::vector<std::string>, bool>& t) {
        Cmd c;
        c.kind = Kind::line;
        c.params.push_back(std::get<0>(t));
        for (const auto& p : std::get<1>(t)) c.params.push_back(p);
        c.crlf = std::get<2>(t);
        return c;
      });
  auto sized = rc::gen::map(
      rc::gen::tuple(rc::gen::element<std::string>("IDENTIFY", "AUTH", "PUB", "DPUB"),
                     rc::gen::resize(4, rc::gen::container<std::vector<std::string>>(gen_param())), gen_body(),
                     rc::gen::arbitrary<bool>()),
      [](const std::tuple<std::string, std::vector<std::string>, std::string, bool>& t) {
        Cmd c;
        c.kind = Kind::sized;
        c.params.push_back(std::get<0>(t));
        for (const auto& p : std::get<1>(t)) c.params.push_back(p);
        c.body = std::get<2>(t);
        c.crlf = std::get<3>(t);
        return c;
      });
  auto mpub = rc::gen::map(
      rc::gen::tuple(rc::gen::resize(3, rc::gen::container<std::vector<std::string>>(gen_param())),
                     rc::gen::resize(12, rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(gen_body()))),
                     rc::gen::arbitrary<bool>()),
      [](const std::tuple<std::vector<std::string>, std::vector<std::string>, bool>& t) {
        Cmd c;
        c.kind = Kind::mpub;
        c.params.push_back("MPUB");
        for (const auto& p : std::get<0>(t)) c.params.push_back(p);
        c.messages = std::get<1>(t);
        c.crlf = std::get<2>(t);
        return c;
      });
  return rc::gen::map(rc::gen::weightedOneOf<Cmd>({{5, line}, {3, sized}, {2, mpub}}), [](Cmd c) {
    // A last parameter ending in '\r' only survives when the line ends in "\r\n" (exactly one '\r' is stripped).
    if (!c.params.back().empty() && c.params.back().back() == '\r') c.crlf = true;
    return c;
  });
}

// ---- recording handler ---------------------------------------------------------------------------------------

struct Recorder final : nsq::CommandHandler {
  std::vector<Cmd> got;
  std::vector<std::string> problems;
  bool too_long = false;
  Kind pending = Kind::line;
  std::size_t stop_after = SIZE_MAX;  // on_command returns false for command number stop_after

  nsq::BodyPlan on_line(nsq::ParsedCommand& cmd) override {
    const nsq::BodyPlan plan = nsq::CommandParser::body_plan_for(cmd.name());
    pending = plan == nsq::BodyPlan::sized ? Kind::sized : plan == nsq::BodyPlan::mpub ? Kind::mpub : Kind::line;
    return plan;
  }
  bool on_body_size(nsq::ParsedCommand& cmd, std::int32_t size) override {
    if (cmd.body_size != size) problems.push_back("on_body_size: cmd.body_size != size");
    if (cmd.params.empty()) problems.push_back("on_body_size: params lost");
    return true;
  }
  bool on_mpub_count(nsq::ParsedCommand& cmd, std::int32_t) override {
    if (cmd.name() != "MPUB") problems.push_back("on_mpub_count: params lost");
    return true;
  }
  bool on_mpub_message_size(nsq::ParsedCommand& cmd, std::int32_t, std::int32_t) override {
    if (cmd.name() != "MPUB") problems.push_back("on_mpub_message_size: params lost");
    return true;
  }
  bool on_command(nsq::ParsedCommand& cmd) override {
    Cmd c;
    c.kind = pending;
    for (auto p : cmd.params) c.params.emplace_back(p);
    if (pending == Kind::sized) {
      c.body = std::string(cmd.body);
      if (cmd.body_size != static_cast<std::int32_t>(cmd.body.size())) problems.push_back("body_size != body.size()");
    }
    for (auto m : cmd.messages) c.messages.emplace_back(m);
    got.push_back(std::move(c));
    return got.size() - 1 != stop_after;
  }
  void on_line_too_long() override { too_long = true; }
};

Recorder feed_chunks(const std::string& bytes, const std::vector<std::size_t>& cuts) {
  Recorder r;
  nsq::CommandParser p;
  for (const auto& [off, len] : propu::chunks(bytes.size(), cuts)) {
    p.feed(r, reinterpret_cast<const std::uint8_t*>(bytes.data()) + off, len);
  }
  return r;
}

void check_same(const Recorder& r, const std::vector<Cmd>& cmds) {
  RC_ASSERT(r.problems.empty());
  RC_ASSERT(!r.too_long);
  RC_ASSERT(r.got.size() == cmds.size());
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    if (!(r.got[i] == cmds[i])) {
      std::ostringstream os;
      os << "command " << i << " decoded as ";
      showValue(r.got[i], os);
      os << " but was ";
      showValue(cmds[i], os);
      RC_FAIL(os.str());
    }
  }
}

}  // namespace

// Round trip and split invariance: arbitrary commands, arbitrary chunking.
RC_GTEST_PROP(Codec, RoundTripAnyChunking, ()) {
  const auto cmds = *rc::gen::resize(30, rc::gen::container<std::vector<Cmd>>(gen_cmd()));
  const std::string bytes = encode_all(cmds);
  const auto cuts = *propu::gen_cuts(bytes.size());
  check_same(feed_chunks(bytes, cuts), cmds);
  // One feed with everything, and (for small streams) one byte at a time.
  check_same(feed_chunks(bytes, {}), cmds);
  if (bytes.size() <= 4096) {
    std::vector<std::size_t> every(bytes.size());
    for (std::size_t i = 0; i < every.size(); ++i) every[i] = i;
    check_same(feed_chunks(bytes, every), cmds);
  }
}

// A line fits iff it is at most 16384 bytes including its '\n'; a longer one is reported as too long (whatever
// the chunking), and nothing of it reaches on_command.
RC_GTEST_PROP(Codec, LineLengthLimit, ()) {
  const auto len = *rc::gen::inRange<std::size_t>(nsq::kMaxLineSize - 8, nsq::kMaxLineSize + 8);  // without '\n'
  const bool crlf = *rc::gen::arbitrary<bool>();
  Cmd c;
  c.params = {"NOP", std::string(len - 4 - (crlf ? 1 : 0), 'x')};  // "NOP " + filler (+ '\r') = len bytes
  c.crlf = crlf;
  std::string bytes;
  encode(c, bytes);
  RC_ASSERT(bytes.size() == len + 1);
  Cmd nop;
  nop.params = {"NOP"};
  encode(nop, bytes);  // a following command must be parsed only when the long line was accepted
  const auto cuts = *propu::gen_cuts(bytes.size());
  Recorder r = feed_chunks(bytes, cuts);
  if (len + 1 <= nsq::kMaxLineSize) {
    RC_ASSERT(!r.too_long);
    RC_ASSERT(r.got.size() == 2u);
    RC_ASSERT(r.got[0] == c);
  } else {
    RC_ASSERT(r.too_long);
    RC_ASSERT(r.got.empty());
  }
}

// Once the handler stops (on_command returns false), nothing more reaches it and feed() keeps returning false.
RC_GTEST_PROP(Codec, StopsForGood, ()) {
  const auto cmds = *rc::gen::resize(20, rc::gen::nonEmpty(rc::gen::container<std::vector<Cmd>>(gen_cmd())));
  const auto stop = *rc::gen::inRange<std::size_t>(0, cmds.size());
  const std::string bytes = encode_all(cmds);
  const auto cuts = *propu::gen_cuts(bytes.size());
  Recorder r;
  r.stop_after = stop;
  nsq::CommandParser p;
  bool stopped_seen = false;
  for (const auto& [off, len] : propu::chunks(bytes.size(), cuts)) {
    const bool more = p.feed(r, reinterpret_cast<const std::uint8_t*>(bytes.data()) + off, len);
    if (stopped_seen) RC_ASSERT(!more);
    stopped_seen = stopped_seen || !more;
  }
  RC_ASSERT(stopped_seen);
  RC_ASSERT(p.stopped());
  RC_ASSERT(r.got.size() == stop + 1);
  for (std::size_t i = 0; i <= stop; ++i) RC_ASSERT(r.got[i] == cmds[i]);
}

TEST(Codec, LineOfExactly16384BytesParses) {
  std::string line = "NOP " + std::string(nsq::kMaxLineSize - 5, 'a') + "\n";
  ASSERT_EQ(line.size(), nsq::kMaxLineSize);
  Recorder r = feed_chunks(line, {});
  EXPECT_FALSE(r.too_long);
  ASSERT_EQ(r.got.size(), 1u);
  EXPECT_EQ(r.got[0].params.size(), 2u);
}

TEST(Codec, Line16385WithoutNewlineIsTooLong) {
  std::string line(nsq::kMaxLineSize + 1, 'a');
  Recorder r = feed_chunks(line, {});
  EXPECT_TRUE(r.too_long);
  EXPECT_TRUE(r.got.empty());
  // And fed in two pieces, the second one arriving after the limit was already reached.
  Recorder r2 = feed_chunks(line, {nsq::kMaxLineSize - 1, nsq::kMaxLineSize});
  EXPECT_TRUE(r2.too_long);
}

TEST(Codec, CrLfStrippedOnce) {
  Recorder r = feed_chunks("NOP\r\nNOP\r\r\nNOP\n", {});
  ASSERT_EQ(r.got.size(), 3u);
  EXPECT_EQ(r.got[0].params, std::vector<std::string>{"NOP"});
  EXPECT_EQ(r.got[1].params, std::vector<std::string>{"NOP\r"});
  EXPECT_EQ(r.got[2].params, std::vector<std::string>{"NOP"});
}

TEST(Codec, DoubledSpacesGiveEmptyParams) {
  Recorder r = feed_chunks("SUB  t c \n\nRDY \n", {});
  ASSERT_EQ(r.got.size(), 3u);
  EXPECT_EQ(r.got[0].params, (std::vector<std::string>{"SUB", "", "t", "c", ""}));
  EXPECT_EQ(r.got[1].params, std::vector<std::string>{""});
  EXPECT_EQ(r.got[2].params, (std::vector<std::string>{"RDY", ""}));
}
