// MemoryQueue against a model (std::deque of the fields a queued message keeps). Pushes draw GUID-like and
// arbitrary IDs, deferrals, disk seqs, empty/small/large bodies and bodies shared with a copy held elsewhere, in
// bursts long enough to span many chunks; after every step the sizes agree, every pop returns exactly the
// model's front, a shared body comes back as the very same Body (no copy), and an emptied or cleared queue gives
// its memory back.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <deque>
#include <ostream>
#include <string>
#include <vector>

#include "engine/guid.h"
#include "engine/memory_queue.h"

namespace {

struct Fields {
  nsq::MessageID id;
  std::int64_t timestamp = 0;
  std::uint16_t attempts = 0;
  std::int64_t deferred_ns = 0;
  std::uint64_t disk_seq = 0;
  std::string body;
  bool shared = false;  // a copy of the body is held outside the queue (another channel's message)
};

enum class Op { push, push_burst, pop, pop_burst, clear, drop_holders };

struct Step {
  Op op = Op::push;
  std::size_t count = 1;
  std::uint64_t seed = 0;
};

void showValue(const Step& s, std::ostream& os) {
  static const char* names[] = {"push", "push_burst", "pop", "pop_burst", "clear", "drop_holders"};
  os << names[static_cast<int>(s.op)] << "(count=" << s.count << ", seed=" << s.seed << ")";
}

rc::Gen<Step> gen_step() {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::weightedElement<Op>({{8, Op::push}, {2, Op::push_burst}, {6, Op::pop},
                                                   {2, Op::pop_burst}, {1, Op::clear}, {1, Op::drop_holders}}),
                     rc::gen::inRange<std::size_t>(1, 3000), rc::gen::arbitrary<std::uint64_t>()),
      [](const std::tuple<Op, std::size_t, std::uint64_t>& t) {
        return Step{std::get<0>(t), std::get<1>(t), std::get<2>(t)};
      });
}

// Deterministic field values from a seed (a burst of thousands of messages would make shrinking hopeless if
// each were generated separately).
std::uint64_t next(std::uint64_t& s) {
  s += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = s;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

Fields make_fields(std::uint64_t& s) {
  Fields f;
  const std::uint64_t r = next(s);
  if (r % 8 != 0) {
    f.id = nsq::GuidFactory::to_hex(next(s));  // what the engine makes: packs into 8 bytes
  } else {
    for (auto& c : f.id.bytes) c = static_cast<char>(next(s));  // e.g. read from a foreign disk queue
  }
  f.timestamp = static_cast<std::int64_t>(next(s));
  f.attempts = static_cast<std::uint16_t>(next(s));
  if ((r >> 3) % 4 == 0) f.deferred_ns = static_cast<std::int64_t>(next(s) | 1);
  if ((r >> 5) % 4 == 0) f.disk_seq = next(s) | 1;
  std::size_t len;
  switch ((r >> 7) % 8) {
    case 0: len = 0; break;
    case 1: len = nsq::MemoryQueue::kInlineMax + next(s) % 3000; break;  // kept in its own Body
    case 2: len = nsq::MemoryQueue::kInlineMax; break;
    default: len = next(s) % 400;
  }
  f.body.resize(len);
  for (char& c : f.body) c = static_cast<char>(next(s));
  f.shared = (r >> 10) % 4 == 0;
  return f;
}

void check_popped(const nsq::Message& m, const Fields& f, const nsq::BodyRef* holder) {
  RC_ASSERT(m.id == f.id);
  RC_ASSERT(m.timestamp == f.timestamp);
  RC_ASSERT(m.attempts == f.attempts);
  RC_ASSERT(m.deferred_ns == f.deferred_ns);
  RC_ASSERT(m.disk_seq == f.disk_seq);
  RC_ASSERT(m.body.view() == std::string_view(f.body));
  RC_ASSERT(m.heap_index == -1);
  // Zero-copy: a body shared with a copy outside the queue is the same Body when it comes back.
  if (holder != nullptr) RC_ASSERT(m.body.view().data() == holder->view().data());
}

}  // namespace

RC_GTEST_PROP(MemoryQueue, MatchesDequeModel, ()) {
  const auto steps = *rc::gen::container<std::vector<Step>>(gen_step());
  nsq::MemoryQueue q;
  std::deque<Fields> model;
  std::deque<const nsq::BodyRef*> holder_of;  // parallel to model: the outside copy of a shared body, or null
  std::deque<nsq::BodyRef> holders;            // stable addresses
  auto push_one = [&](std::uint64_t& s) {
    Fields f = make_fields(s);
    auto m = std::make_unique<nsq::Message>();
    m->id = f.id;
    m->timestamp = f.timestamp;
    m->attempts = f.attempts;
    m->deferred_ns = f.deferred_ns;
    m->disk_seq = f.disk_seq;
    m->body = nsq::BodyRef(f.body);
    m->pri = 12345;  // in-flight bookkeeping is not kept
    m->heap_index = 7;
    const nsq::BodyRef* holder = nullptr;
    if (f.shared) {
      holders.push_back(m->body);
      holder = &holders.back();
    }
    q.push(std::move(m));
    model.push_back(std::move(f));
    holder_of.push_back(holder);
  };
  auto pop_one = [&] {
    nsq::MessagePtr m = q.pop();
    if (model.empty()) {
      RC_ASSERT(m == nullptr);
      return;
    }
    RC_ASSERT(m != nullptr);
    check_popped(*m, model.front(), holder_of.front());
    model.pop_front();
    holder_of.pop_front();
  };
  for (const Step& st : steps) {
    std::uint64_t s = st.seed;
    switch (st.op) {
      case Op::push: push_one(s); break;
      case Op::push_burst:
        for (std::size_t i = 0; i < st.count; ++i) push_one(s);
        break;
      case Op::pop: pop_one(); break;
      case Op::pop_burst:
        for (std::size_t i = 0; i < st.count; ++i) pop_one();
        break;
      case Op::clear:
        q.clear();
        model.clear();
        holder_of.clear();
        RC_ASSERT(q.chunk_bytes() == 0u);
        // The queue's references are gone: each outside copy is the body's only holder now.
        for (const nsq::BodyRef& h : holders) RC_ASSERT(!h.shared());
        break;
      case Op::drop_holders:
        // The outside copies go away (the other channel delivered them); queued bodies must stay intact.
        for (auto& h : holder_of) h = nullptr;
        holders.clear();
        break;
    }
    RC_ASSERT(q.size() == model.size());
    RC_ASSERT(q.empty() == model.empty());
    if (model.empty()) RC_ASSERT(q.chunk_bytes() <= nsq::MemoryQueue::kMinChunk);
  }
  while (!model.empty()) pop_one();
  RC_ASSERT(q.pop() == nullptr);
  RC_ASSERT(q.chunk_bytes() <= nsq::MemoryQueue::kMinChunk);
}

// Memory per queued message: a 200-byte body with a GUID costs its 223-byte record (plus chunk-end slack), not
// a Message and a separate Body.
TEST(MemoryQueue, TwoHundredByteMessagesCostTheirRecord) {
  nsq::MemoryQueue q;
  nsq::GuidFactory guid(1);
  const std::string body(200, 'x');
  constexpr std::size_t kCount = 100000;
  for (std::size_t i = 0; i < kCount; ++i) {
    auto m = std::make_unique<nsq::Message>();
    m->id = guid.next(static_cast<std::int64_t>(i) << 20);
    m->timestamp = static_cast<std::int64_t>(i);
    m->body = nsq::BodyRef(body);
    q.push(std::move(m));
  }
  const double per_message = static_cast<double>(q.chunk_bytes()) / kCount;
  EXPECT_GE(per_message, 223.0);
  EXPECT_LE(per_message, 223.0 * 1.05);
  for (std::size_t i = 0; i < kCount; ++i) {
    nsq::MessagePtr m = q.pop();
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(m->timestamp, static_cast<std::int64_t>(i));
    ASSERT_EQ(m->body.view(), body);
  }
  EXPECT_TRUE(q.empty());
}
