// Property 2: big-endian integers, frames and nsqd's ByteToBase10.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <charconv>
#include <cstdint>
#include <string>

#include "engine/wire.h"

using nsq::wire::FrameType;

RC_GTEST_PROP(Wire, IntegersRoundTrip, (std::uint16_t a, std::uint32_t b, std::uint64_t c)) {
  std::string out;
  nsq::wire::append_u16(out, a);
  nsq::wire::append_u32(out, b);
  nsq::wire::append_u64(out, c);
  RC_ASSERT(out.size() == 14u);
  RC_ASSERT(nsq::wire::read_u16(out.data()) == a);
  RC_ASSERT(nsq::wire::read_u32(out.data() + 2) == b);
  RC_ASSERT(nsq::wire::read_u64(out.data() + 6) == c);
  // Big-endian: the most significant byte first.
  RC_ASSERT(static_cast<unsigned char>(out[2]) == (b >> 24));
  RC_ASSERT(static_cast<unsigned char>(out[13]) == (c & 0xFF));
}

// A sequence of frames appended to one buffer reads back as the same sequence: size = 4 + len(data).
RC_GTEST_PROP(Wire, FramesRoundTrip, (const std::vector<std::pair<int, std::string>>& frames)) {
  std::string out;
  for (const auto& [t, data] : frames) {
    nsq::wire::append_frame(out, static_cast<FrameType>(((t % 3) + 3) % 3), data);
  }
  std::size_t at = 0;
  for (const auto& [t, data] : frames) {
    RC_ASSERT(out.size() - at >= 8u);
    const std::uint32_t size = nsq::wire::read_u32(out.data() + at);
    const std::uint32_t type = nsq::wire::read_u32(out.data() + at + 4);
    RC_ASSERT(size == 4 + data.size());
    RC_ASSERT(type == static_cast<std::uint32_t>(((t % 3) + 3) % 3));
    RC_ASSERT(out.substr(at + 8, size - 4) == data);
    at += 4 + size;
  }
  RC_ASSERT(at == out.size());
}

namespace {

// Model of Go's protocol.ByteToBase10, computed differently from the engine: the digit string is cut into
// pieces of at most 18 digits, each converted exactly with from_chars, and combined modulo 2^64.
bool model_base10(const std::string& s, std::uint64_t& out) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < s.size(); i += 18) {
    const std::string piece = s.substr(i, 18);
    std::uint64_t p = 0;
    std::from_chars(piece.data(), piece.data() + piece.size(), p);
    std::uint64_t scale = 1;
    for (std::size_t k = 0; k < piece.size(); ++k) scale *= 10;
    v = v * scale + p;  // unsigned: wraps modulo 2^64
  }
  out = v;
  return true;
}

rc::Gen<std::string> gen_numberish() {
  return rc::gen::weightedOneOf<std::string>({
      {6, rc::gen::container<std::string>(rc::gen::inRange('0', static_cast<char>('9' + 1)))},
      {2, rc::gen::container<std::string>(rc::gen::elementOf(std::string("0123456789 +-.xa\n\0", 18)))},
      {1, rc::gen::arbitrary<std::string>()},
      {1, rc::gen::map(rc::gen::inRange<std::size_t>(19, 60),
                       [](std::size_t n) { return std::string(n, '9'); })},
  });
}

}  // namespace

RC_GTEST_PROP(Wire, ParseBase10MatchesModel, ()) {
  const std::string s = *gen_numberish();
  std::uint64_t want = 0, got = 0xDEADBEEF;
  const bool want_ok = model_base10(s, want);
  const bool got_ok = nsq::wire::parse_base10(s, got);
  RC_ASSERT(got_ok == want_ok);
  if (got_ok) {
    RC_ASSERT(got == want);
  } else {
    RC_ASSERT(got == 0xDEADBEEFu);  // untouched on failure
  }
}

RC_GTEST_PROP(Wire, ParseBase10OfPrintedNumber, (std::uint64_t v)) {
  std::uint64_t got = 1;
  RC_ASSERT(nsq::wire::parse_base10(std::to_string(v), got));
  RC_ASSERT(got == v);
  // Leading zeros do not matter; empty is 0.
  RC_ASSERT(nsq::wire::parse_base10("000" + std::to_string(v), got));
  RC_ASSERT(got == v);
}

TEST(Wire, ParseBase10EdgeCases) {
  std::uint64_t v = 7;
  EXPECT_TRUE(nsq::wire::parse_base10("", v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(nsq::wire::parse_base10("18446744073709551616", v));  // 2^64 wraps to 0
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(nsq::wire::parse_base10("18446744073709551617", v));
  EXPECT_EQ(v, 1u);
  EXPECT_FALSE(nsq::wire::parse_base10("-1", v));
  EXPECT_FALSE(nsq::wire::parse_base10(" 1", v));
  EXPECT_FALSE(nsq::wire::parse_base10("+1", v));
}
