// The HTTP API's query parser: Go url.ParseQuery semantics.
#include <gtest/gtest.h>

#include "engine/http_query.h"

namespace nsq {
namespace {

TEST(QueryParams, FirstValueWinsAndDecodes) {
  const auto q = QueryParams::parse("topic=a%2Eb&topic=second&defer=10&msg=hello+world%21");
  ASSERT_TRUE(q);
  ASSERT_NE(q->first("topic"), nullptr);
  EXPECT_EQ(*q->first("topic"), "a.b");
  EXPECT_EQ(q->all("topic")->size(), 2u);
  EXPECT_EQ(*q->first("defer"), "10");
  EXPECT_EQ(*q->first("msg"), "hello world!");
  EXPECT_EQ(q->first("missing"), nullptr);
}

TEST(QueryParams, KeyWithoutValueIsPresentAndEmpty) {
  const auto q = QueryParams::parse("binary&topic=&&x=1");
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->has("binary"));
  EXPECT_EQ(*q->first("binary"), "");
  EXPECT_EQ(*q->first("topic"), "");
  EXPECT_EQ(*q->first("x"), "1");
}

TEST(QueryParams, EmptyQueryHasNothing) {
  const auto q = QueryParams::parse("");
  ASSERT_TRUE(q);
  EXPECT_FALSE(q->has("topic"));
}

TEST(QueryParams, MalformedQueriesAreErrors) {
  EXPECT_FALSE(QueryParams::parse("topic=%zz"));
  EXPECT_FALSE(QueryParams::parse("topic=abc%"));
  EXPECT_FALSE(QueryParams::parse("topic=abc%4"));
  EXPECT_FALSE(QueryParams::parse("topic=a;b"));  // Go 1.17+ rejects ';' separators
}

TEST(QueryUnescape, PercentAndPlus) {
  EXPECT_EQ(query_unescape("a+b%20c%2b"), "a b c+");
  EXPECT_EQ(query_unescape("%41%42"), "AB");
  EXPECT_FALSE(query_unescape("%G1"));
}

}  // namespace
}  // namespace nsq
