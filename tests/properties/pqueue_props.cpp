// Property 3: InFlightPqueue against a model (a multiset of (pri, message)). After every operation the heap is
// ordered, every member knows its index, non-members have index -1, and the contents equal the model's.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <iterator>
#include <memory>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "engine/in_flight_pqueue.h"

namespace {

enum class Op { push, remove, update, pop_if_due, clear };

struct Step {
  Op op = Op::push;
  std::int64_t pri = 0;   // push/update priority, pop_if_due bound
  std::size_t pick = 0;   // which member (modulo the size) to remove/update
};

void showValue(const Step& s, std::ostream& os) {
  static const char* names[] = {"push", "remove", "update", "pop_if_due", "clear"};
  os << names[static_cast<int>(s.op)] << "(pri=" << s.pri << ", pick=" << s.pick << ")";
}

rc::Gen<Step> gen_step() {
  // Small priority range so that ties are common.
  return rc::gen::map(
      rc::gen::tuple(rc::gen::weightedElement<Op>({{6, Op::push}, {2, Op::remove}, {3, Op::update},
                                                   {3, Op::pop_if_due}, {1, Op::clear}}),
                     rc::gen::weightedOneOf<std::int64_t>({{4, rc::gen::inRange<std::int64_t>(-5, 20)},
                                                           {1, rc::gen::arbitrary<std::int64_t>()}}),
                     rc::gen::inRange<std::size_t>(0, 1000)),
      [](const std::tuple<Op, std::int64_t, std::size_t>& t) {
        return Step{std::get<0>(t), std::get<1>(t), std::get<2>(t)};
      });
}

void check_heap(const nsq::InFlightPqueue& q, const std::set<std::pair<std::int64_t, nsq::Message*>>& model,
                const std::vector<std::unique_ptr<nsq::Message>>& pool) {
  const auto& items = q.items();
  RC_ASSERT(items.size() == model.size());
  RC_ASSERT(q.size() == model.size());
  RC_ASSERT(q.empty() == model.empty());
  for (std::size_t i = 0; i < items.size(); ++i) {
    RC_ASSERT(items[i]->heap_index == static_cast<std::int32_t>(i));
    if (i > 0) RC_ASSERT(items[(i - 1) / nsq::InFlightPqueue::kArity]->pri <= items[i]->pri);
    RC_ASSERT(model.count({items[i]->pri, items[i]}) == 1u);
  }
  for (const auto& m : pool) {
    const bool member = model.count({m->pri, m.get()}) == 1;
    if (!member) RC_ASSERT(m->heap_index == -1);
  }
  if (!model.empty()) RC_ASSERT(q.top()->pri == model.begin()->first);
}

}  // namespace

RC_GTEST_PROP(InFlightPqueue, MatchesModel, ()) {
  const auto steps = *rc::gen::container<std::vector<Step>>(gen_step());
  nsq::InFlightPqueue q;
  std::set<std::pair<std::int64_t, nsq::Message*>> model;
  std::vector<std::unique_ptr<nsq::Message>> pool;
  auto nth = [&](std::size_t k) {
    auto it = model.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(k % model.size()));
    return *it;
  };
  for (const Step& s : steps) {
    switch (s.op) {
      case Op::push: {
        pool.push_back(std::make_unique<nsq::Message>());
        nsq::Message* m = pool.back().get();
        m->pri = s.pri;
        q.push(m);
        model.insert({s.pri, m});
        break;
      }
      case Op::remove: {
        if (model.empty()) break;
        auto [pri, m] = nth(s.pick);
        q.remove(m);
        model.erase({pri, m});
        RC_ASSERT(m->heap_index == -1);
        break;
      }
      case Op::update: {
        if (model.empty()) break;
        auto [pri, m] = nth(s.pick);
        model.erase({pri, m});
        q.update(m, s.pri);
        RC_ASSERT(m->pri == s.pri);
        model.insert({s.pri, m});
        break;
      }
      case Op::pop_if_due: {
        nsq::Message* got = q.pop_if_due(s.pri);
        if (model.empty() || model.begin()->first > s.pri) {
          RC_ASSERT(got == nullptr);
        } else {
          RC_ASSERT(got != nullptr);
          RC_ASSERT(got->pri == model.begin()->first);  // a minimum (ties in any order)
          RC_ASSERT(model.erase({got->pri, got}) == 1u);
          RC_ASSERT(got->heap_index == -1);
        }
        break;
      }
      case Op::clear:
        q.clear();
        model.clear();
        break;
    }
    check_heap(q, model, pool);
  }
  // Draining with pop_if_due(max) yields the model's priorities in order.
  std::vector<std::int64_t> drained;
  while (nsq::Message* m = q.pop_if_due(INT64_MAX)) drained.push_back(m->pri);
  std::vector<std::int64_t> want;
  for (const auto& [pri, m] : model) want.push_back(pri);
  RC_ASSERT(drained == want);
  RC_ASSERT(q.empty());
}
