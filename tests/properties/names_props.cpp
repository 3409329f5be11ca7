// Property 5: topic/channel name rules against nsqd's regex, and go_quote on printable ASCII.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

// GCC 12's <regex> trips -Wmaybe-uninitialized (a false positive inside std::function) under -O1 + sanitizers.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#include <string>

#include "engine/names.h"

namespace {

bool model_valid(const std::string& name) {
  static const std::regex re("^[.a-zA-Z0-9_-]+(#ephemeral)?$");
  return !name.empty() && name.size() <= 64 && std::regex_match(name, re);
}

rc::Gen<std::string> gen_name() {
  const std::string valid = "abcxyzABCXYZ0189._-";
  const std::string other = std::string("#e /:\\\"\n\0\x7f\xc3\xa9", 12);
  auto ch = rc::gen::weightedOneOf<char>({{10, rc::gen::elementOf(valid)}, {1, rc::gen::elementOf(other)}});
  auto base = rc::gen::weightedOneOf<std::string>({
      {8, rc::gen::container<std::string>(ch)},
      {1, rc::gen::map(rc::gen::inRange<std::size_t>(50, 70), [](std::size_t n) { return std::string(n, 'a'); })},
      {1, rc::gen::arbitrary<std::string>()},
  });
  return rc::gen::map(rc::gen::tuple(base, rc::gen::inRange(0, 4)), [](const std::tuple<std::string, int>& t) {
    std::string s = std::get<0>(t);
    if (std::get<1>(t) == 1) s += "#ephemeral";
    if (std::get<1>(t) == 2) s += "#ephemera";
    return s;
  });
}

}  // namespace

RC_GTEST_PROP(Names, ValidityMatchesRegexModel, ()) {
  const std::string name = *gen_name();
  RC_ASSERT(nsq::is_valid_topic_name(name) == model_valid(name));
  RC_ASSERT(nsq::is_valid_channel_name(name) == model_valid(name));
  RC_ASSERT(nsq::is_ephemeral_name(name) == name.ends_with("#ephemeral"));
}

RC_GTEST_PROP(Names, GoQuotePrintableAscii, ()) {
  const std::string s =
      *rc::gen::container<std::string>(rc::gen::inRange(static_cast<char>(0x20), static_cast<char>(0x7F)));
  std::string want = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') want.push_back('\\');
    want.push_back(c);
  }
  want.push_back('"');
  RC_ASSERT(nsq::go_quote(s) == want);
}

TEST(Names, EdgeCases) {
  EXPECT_FALSE(nsq::is_valid_topic_name(""));
  EXPECT_FALSE(nsq::is_valid_topic_name("#ephemeral"));
  EXPECT_TRUE(nsq::is_valid_topic_name(std::string(64, 'a')));
  EXPECT_FALSE(nsq::is_valid_topic_name(std::string(65, 'a')));
  EXPECT_TRUE(nsq::is_valid_topic_name(std::string(54, 'a') + "#ephemeral"));
  EXPECT_FALSE(nsq::is_valid_topic_name(std::string(55, 'a') + "#ephemeral"));
  EXPECT_FALSE(nsq::is_valid_topic_name("a#ephemeral#ephemeral"));
  EXPECT_EQ(nsq::go_quote(std::string("\n\0\x7f", 3)), "\"\\n\\x00\\x7f\"");
}
