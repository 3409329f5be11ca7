// Flags and config file: nsqd's names, Go durations, priority flag > config > default, errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "io_real/go_duration.h"
#include "io_real/options_parser.h"

namespace nsq::io_real {
namespace {

ParseOutcome parse(std::vector<std::string> args) {
  args.insert(args.begin(), "nsqd");
  return parse_options(args, "testhost");
}

// A TOML file in a fresh temporary directory, removed with the object.
class TempConfig {
 public:
  explicit TempConfig(const std::string& text) {
    dir_ = std::filesystem::temp_directory_path() /
           ("nsqd-cpp-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir_);
    std::ofstream(path()) << text;
  }
  ~TempConfig() { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "nsqd.toml").string(); }

 private:
  std::filesystem::path dir_;
};

TEST(GoDuration, ParsesGoSyntax) {
  EXPECT_EQ(parse_go_duration("60s"), 60 * kSecond);
  EXPECT_EQ(parse_go_duration("250ms"), 250 * kMillisecond);
  EXPECT_EQ(parse_go_duration("1h"), kHour);
  EXPECT_EQ(parse_go_duration("1m30s"), 90 * kSecond);
  EXPECT_EQ(parse_go_duration("1.5s"), 1500 * kMillisecond);
  EXPECT_EQ(parse_go_duration("10us"), 10'000);
  EXPECT_EQ(parse_go_duration("7ns"), 7);
  EXPECT_EQ(parse_go_duration("-2s"), -2 * kSecond);
  EXPECT_EQ(parse_go_duration("0"), 0);
  EXPECT_FALSE(parse_go_duration(""));
  EXPECT_FALSE(parse_go_duration("10"));     // no unit
  EXPECT_FALSE(parse_go_duration("10x"));    // unknown unit
  EXPECT_FALSE(parse_go_duration("s"));      // no number
  EXPECT_FALSE(parse_go_duration("3000000h"));  // overflows int64 ns
}

TEST(OptionsParser, DefaultsAreNsqds) {
  const auto out = parse({});
  ASSERT_TRUE(out.options) << out.err;
  const Options& o = *out.options;
  EXPECT_EQ(o.tcp_address, "0.0.0.0:4150");
  EXPECT_EQ(o.http_address, "0.0.0.0:4151");
  EXPECT_EQ(o.msg_timeout, 60 * kSecond);
  EXPECT_EQ(o.hostname, "testhost");
  EXPECT_EQ(o.broadcast_address, "testhost");
  EXPECT_EQ(o.node_id, default_node_id("testhost"));
  EXPECT_GE(o.node_id, 0);
  EXPECT_LT(o.node_id, 1024);
}

TEST(OptionsParser, FlagsWithGoSyntax) {
  const auto out = parse({"--tcp-address=127.0.0.1:0", "--http-address", "", "--msg-timeout=1m30s",
                          "-max-req-timeout=250ms", "--lookupd-tcp-address=a:4160", "--lookupd-tcp-address=b:4160",
                          "--deflate=false", "--snappy", "--node-id=7", "--tls-min-version=tls1.2",
                          "--log-level=WARN", "--e2e-processing-latency-percentile=0.5,1",
                          "--e2e-processing-latency-percentile=0.99"});
  ASSERT_TRUE(out.options) << out.err;
  const Options& o = *out.options;
  EXPECT_EQ(o.tcp_address, "127.0.0.1:0");
  EXPECT_EQ(o.http_address, "");
  EXPECT_EQ(o.msg_timeout, 90 * kSecond);
  EXPECT_EQ(o.max_req_timeout, 250 * kMillisecond);
  EXPECT_EQ(o.lookupd_tcp_addresses, (std::vector<std::string>{"a:4160", "b:4160"}));
  EXPECT_FALSE(o.deflate);
  EXPECT_TRUE(o.snappy);
  EXPECT_EQ(o.node_id, 7);
  EXPECT_EQ(o.tls_min_version, 0x0303);
  EXPECT_EQ(o.log_level, "warn");
  EXPECT_EQ(o.e2e_processing_latency_percentiles, (std::vector<double>{1, 0.99, 0.5}));  // sorted descending
}

TEST(OptionsParser, ConfigFileUnderFlags) {
  TempConfig config(R"(
    id = 99
    tcp_address = "127.0.0.1:5150"
    http_address = "127.0.0.1:5151"
    msg_timeout = "2m"
    max_req_timeout = 1500          # integer durations are milliseconds
    sync_timeout = "300"            # all-digit strings too
    nsqlookupd_tcp_addresses = ["l1:4160", "l2:4160"]
    snappy = false
    deflate = 1                     # go-options inverts integer booleans
    max_deflate_level = 3
    unknown_key = "ignored"
  )");
  const auto out = parse({"--config", config.path(), "--http-address=127.0.0.1:0", "--max-deflate-level=9"});
  ASSERT_TRUE(out.options) << out.err;
  const Options& o = *out.options;
  EXPECT_EQ(o.node_id, 99);
  EXPECT_EQ(o.tcp_address, "127.0.0.1:5150");   // config
  EXPECT_EQ(o.http_address, "127.0.0.1:0");     // flag beats config
  EXPECT_EQ(o.msg_timeout, 2 * kMinute);
  EXPECT_EQ(o.max_req_timeout, 1500 * kMillisecond);
  EXPECT_EQ(o.sync_timeout, 300 * kMillisecond);
  EXPECT_EQ(o.lookupd_tcp_addresses, (std::vector<std::string>{"l1:4160", "l2:4160"}));
  EXPECT_FALSE(o.snappy);
  EXPECT_FALSE(o.deflate);
  EXPECT_EQ(o.max_deflate_level, 9);
  EXPECT_EQ(o.mem_queue_size, 10000);  // default
}

TEST(OptionsParser, BadValuesAreErrors) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--msg-timeout=10"},
           {"--mem-queue-size=abc"},
           {"--deflate=maybe"},
           {"--log-level=loud"},
           {"--tls-min-version=ssl3.0"},
           {"--max-deflate-level=0"},
           {"--node-id=1024"},
           {"--e2e-processing-latency-percentile=1.5"},
           {"--tls-required"},  // without cert and key
       }) {
    const auto out = parse(args);
    EXPECT_FALSE(out.options) << args[0];
    EXPECT_EQ(out.exit_code, 1) << args[0];
    EXPECT_FALSE(out.err.empty()) << args[0];
  }
  EXPECT_NE(parse({"--max-deflate-level=10"}).err.find("--max-deflate-level must be [1,9]"), std::string::npos);
  EXPECT_NE(parse({"--node-id=-1"}).err.find("--node-id must be [0,1024)"), std::string::npos);
}

TEST(OptionsParser, BadConfigValueAndMissingFileAreErrors) {
  TempConfig config("msg_timeout = true\n");
  const auto bad = parse({"--config=" + config.path()});
  EXPECT_FALSE(bad.options);
  EXPECT_EQ(bad.exit_code, 1);
  const auto missing = parse({"--config=/nonexistent/nsqd.toml"});
  EXPECT_FALSE(missing.options);
  EXPECT_EQ(missing.exit_code, 1);
}

TEST(OptionsParser, UnknownFlagIsAnError) {
  const auto out = parse({"--no-such-flag=1"});
  EXPECT_FALSE(out.options);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("no-such-flag"), std::string::npos);
}

TEST(OptionsParser, VersionAndHelpExitZero) {
  const auto version = parse({"--version"});
  EXPECT_FALSE(version.options);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, "nsqd v1.3.0 (built w/nsqd-cpp)\n");
  const auto help = parse({"--help"});
  EXPECT_FALSE(help.options);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--lookupd-tcp-address"), std::string::npos);
}

TEST(OptionsParser, TlsClientAuthPolicyImpliesTlsRequired) {
  const auto out = parse({"--tls-client-auth-policy=require", "--tls-cert=c.pem", "--tls-key=k.pem"});
  ASSERT_TRUE(out.options) << out.err;
  EXPECT_EQ(out.options->tls_required, 2);
  const auto tcp_https = parse({"--tls-required=tcp-https", "--tls-cert=c.pem", "--tls-key=k.pem"});
  ASSERT_TRUE(tcp_https.options) << tcp_https.err;
  EXPECT_EQ(tcp_https.options->tls_required, 1);
}

}  // namespace
}  // namespace nsq::io_real

