// Property 4: message IDs. Whatever the wall clock does (steady, stalled for thousands of IDs, going backwards),
// one factory's IDs are strictly increasing as 16-char lowercase hex strings (hence unique), and carry the node
// id in bits 12..21. With a clock that only moves forward and fewer than 4096 IDs per tick they are exactly
// nsqd's ((t - twepoch) << 22) | (node << 12) | seq.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "engine/guid.h"

namespace {

constexpr std::int64_t kTwepoch = 1288834974288LL;
// Wall clocks from nsqd's epoch (in its >>20 units) to ~2088, where the 41-bit tick field is still not full.
constexpr std::int64_t kWallMin = (kTwepoch + 1) << 20;
constexpr std::int64_t kWallMax = kWallMin + (std::int64_t{1} << 40) * (std::int64_t{1} << 20);

struct ClockStep {
  int kind = 0;             // 0 forward, 1 stall (repeat the same wall time), 2 backwards
  std::int64_t amount = 0;  // ns forward/backwards, or number of IDs for a stall
};

void showValue(const ClockStep& s, std::ostream& os) {
  static const char* names[] = {"forward", "stall", "backwards"};
  os << names[s.kind] << "(" << s.amount << ")";
}

rc::Gen<ClockStep> gen_step(bool allow_backwards) {
  auto forward =
      rc::gen::map(rc::gen::inRange<std::int64_t>(0, 3 << 20), [](std::int64_t n) { return ClockStep{0, n}; });
  auto stall = rc::gen::map(rc::gen::inRange<std::int64_t>(1, 5000), [](std::int64_t n) { return ClockStep{1, n}; });
  if (!allow_backwards) return rc::gen::weightedOneOf<ClockStep>({{6, forward}, {2, stall}});
  auto back = rc::gen::map(rc::gen::inRange<std::int64_t>(1, std::int64_t{5000} << 20),
                           [](std::int64_t n) { return ClockStep{2, n}; });
  return rc::gen::weightedOneOf<ClockStep>({{6, forward}, {2, stall}, {2, back}});
}

std::uint64_t from_hex(const std::string& s) {
  std::uint64_t v = 0;
  for (char c : s) v = (v << 4) | static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  return v;
}

bool lower_hex16(const std::string& s) {
  if (s.size() != 16) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

RC_GTEST_PROP(Guid, StrictlyIncreasingWithNodeId, ()) {
  const auto node = *rc::gen::inRange<std::int64_t>(0, 1024);
  std::int64_t wall = *rc::gen::inRange<std::int64_t>(kWallMin, kWallMax);
  const auto steps = *rc::gen::container<std::vector<ClockStep>>(gen_step(true));
  nsq::GuidFactory f(node);
  std::string prev;
  std::size_t n = 0;
  auto next = [&] {
    const std::string id(f.next(wall).view());
    RC_ASSERT(lower_hex16(id));
    if (!prev.empty() && !(prev < id)) {
      RC_FAIL("ID " + std::to_string(n) + " " + id + " not greater than previous " + prev);
    }
    RC_ASSERT(static_cast<std::int64_t>((from_hex(id) >> 12) & 0x3FF) == node);
    prev = id;
    ++n;
  };
  next();
  for (const ClockStep& s : steps) {
    if (s.kind == 0) {
      wall = std::min(wall + s.amount, kWallMax);
      next();
    } else if (s.kind == 1) {
      for (std::int64_t i = 0; i < s.amount; ++i) next();
    } else {
      wall = std::max(wall - s.amount, kWallMin);
      next();
    }
  }
}

RC_GTEST_PROP(Guid, MatchesNsqdFormulaOnSteadyClock, ()) {
  const auto node = *rc::gen::inRange<std::int64_t>(0, 1024);
  std::int64_t wall = *rc::gen::inRange<std::int64_t>(kWallMin, kWallMax);
  const auto steps = *rc::gen::container<std::vector<ClockStep>>(gen_step(false));
  nsq::GuidFactory f(node);
  std::int64_t last_tick = -1, seq = 0;
  auto next = [&] {
    const std::int64_t tick = wall >> 20;
    seq = tick == last_tick ? seq + 1 : 0;
    last_tick = tick;
    if (seq > 4095) return false;  // beyond nsqd's formula (nsqd would sleep)
    const auto want = static_cast<std::uint64_t>(((tick - kTwepoch) << 22) | (node << 12) | seq);
    RC_ASSERT(from_hex(std::string(f.next(wall).view())) == want);
    return true;
  };
  RC_ASSERT(next());
  for (const ClockStep& s : steps) {
    if (s.kind == 0) {
      wall = std::min(wall + s.amount, kWallMax);
      if (!next()) return;
    } else {
      for (std::int64_t i = 0; i < s.amount; ++i) {
        if (!next()) return;
      }
    }
  }
}

TEST(Guid, ObservedNsqdSuffix) {
  // nsqd-reference §1.10: node 617 gives IDs ending in 269000, 269001 within one tick.
  nsq::GuidFactory f(617);
  const std::int64_t wall = (std::int64_t{1288834974288} + 400000000000) << 20;  // tick offset divisible by 4
  EXPECT_TRUE(std::string(f.next(wall).view()).ends_with("269000"));
  EXPECT_TRUE(std::string(f.next(wall).view()).ends_with("269001"));
}
