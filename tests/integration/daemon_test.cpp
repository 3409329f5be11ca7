// The nsqd binary as a process: flags, config file, data-dir lock, signals (fact sheet §2.13, §5).
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon.h"
#include "test_util.h"
#include "v2_client.h"

namespace nsqit {
namespace {

const Ms kRunTimeout{15000};

// Runs nsqd with loopback/ephemeral listeners and a fresh data dir plus `flags`; returns exit code + output.
RunResult run_nsqd(const std::vector<std::string>& flags, const std::string& data_path = "") {
  TempDir tmp;
  std::vector<std::string> argv{nsqd_binary(), "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
                                "--data-path=" + (data_path.empty() ? tmp.path().string() : data_path)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return run_command(argv, kRunTimeout);
}

nlohmann::json negotiate(int tcp_port) {
  V2Client c(tcp_port);
  c.identify(R"({"feature_negotiation":true})");
  Frame f = c.read_reply();
  EXPECT_EQ(f.type, FrameType::Response) << f.describe();
  auto j = nlohmann::json::parse(f.data, nullptr, false);
  EXPECT_TRUE(j.is_object()) << f.data;
  return j;
}

TEST(DaemonProcess, VersionPrintsVersionAndExitsZero) {
  auto r = run_command({nsqd_binary(), "--version"}, kRunTimeout);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("nsqd v1.3.0", 0), 0u) << "output: " << r.output;
}

TEST(DaemonProcess, HelpExitsZeroAndListsFlags) {
  auto r = run_command({nsqd_binary(), "--help"}, kRunTimeout);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const char* flag : {"tcp-address", "http-address", "data-path", "mem-queue-size", "msg-timeout",
                           "max-rdy-count", "config", "version"})
    EXPECT_NE(r.output.find(flag), std::string::npos) << "--help does not mention " << flag << ":\n" << r.output;
}

// Go's flag package (ExitOnError) exits with status 2 on a parse error; nsqd's own validation exits 1.
// Either way it must fail and say why.
TEST(DaemonProcess, UnknownFlagFails) {
  auto r = run_nsqd({"--no-such-flag=1"});
  EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2) << "exit " << r.exit_code << "\n" << r.output;
  EXPECT_NE(r.output.find("no-such-flag"), std::string::npos) << r.output;
}

TEST(DaemonProcess, BadFlagValuesFail) {
  {
    auto r = run_nsqd({"--mem-queue-size=abc"});
    EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2) << "exit " << r.exit_code << "\n" << r.output;
    EXPECT_NE(r.output.find("mem-queue-size"), std::string::npos) << r.output;
  }
  {
    auto r = run_nsqd({"--msg-timeout=notaduration"});
    EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2) << "exit " << r.exit_code << "\n" << r.output;
    EXPECT_NE(r.output.find("msg-timeout"), std::string::npos) << r.output;
  }
  {
    auto r = run_nsqd({"--max-deflate-level=10"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("--max-deflate-level must be [1,9]"), std::string::npos) << r.output;
  }
  {
    auto r = run_nsqd({"--max-deflate-level=0"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("--max-deflate-level must be [1,9]"), std::string::npos) << r.output;
  }
  {
    auto r = run_nsqd({"--node-id=1024"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("--node-id must be [0,1024)"), std::string::npos) << r.output;
  }
  {
    auto r = run_nsqd({"--tls-min-version=ssl3.0"});
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.exit_code, -1) << "must exit, not run: " << r.output;
  }
}

TEST(DaemonProcess, ConfigFileValuesAreApplied) {
  TempDir dir;
  auto cfg = dir.path() / "nsqd.toml";
  std::ofstream(cfg) << "# nsqd config\nmax_rdy_count = 77\nmsg_timeout = \"3s\"\nmax_deflate_level = 4\n"
                        "unknown_key_is_ignored = true\n";
  Daemon d({"--config=" + cfg.string()});
  auto j = negotiate(d.tcp_port());
  EXPECT_EQ(j.value("max_rdy_count", -1), 77);
  EXPECT_EQ(j.value("msg_timeout", -1), 3000);
  EXPECT_EQ(j.value("max_deflate_level", -1), 4);
  EXPECT_EQ(j.value("deflate_level", -1), 4) << "default level 6 capped by max_deflate_level";
}

TEST(DaemonProcess, ConfigIntegerDurationIsMilliseconds) {
  TempDir dir;
  auto cfg = dir.path() / "nsqd.toml";
  std::ofstream(cfg) << "msg_timeout = 4500\n";
  Daemon d({"--config=" + cfg.string()});
  EXPECT_EQ(negotiate(d.tcp_port()).value("msg_timeout", -1), 4500);
}

TEST(DaemonProcess, CommandLineFlagOverridesConfigFile) {
  TempDir dir;
  auto cfg = dir.path() / "nsqd.toml";
  std::ofstream(cfg) << "max_rdy_count = 77\nmsg_timeout = \"3s\"\n";
  Daemon d({"--config=" + cfg.string(), "--max-rdy-count=88"});
  auto j = negotiate(d.tcp_port());
  EXPECT_EQ(j.value("max_rdy_count", -1), 88) << "flag must win over config";
  EXPECT_EQ(j.value("msg_timeout", -1), 3000) << "config value still applies where no flag was given";
}

TEST(DaemonProcess, SecondInstanceOnSameDataPathIsRefused) {
  Daemon first;
  auto r = run_nsqd({}, first.data_path());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot flock directory"), std::string::npos) << r.output;
  // the first one is unaffected
  V2Client c(first.tcp_port());
  EXPECT_TRUE(c.publish("still_alive", "x"));
}

TEST(DaemonProcess, ListenFailureIsFatal) {
  Daemon first;
  TempDir tmp;
  auto r = run_command({nsqd_binary(), "--tcp-address=127.0.0.1:" + std::to_string(first.tcp_port()),
                        "--http-address=127.0.0.1:0", "--data-path=" + tmp.path().string()},
                       kRunTimeout);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("listen (127.0.0.1:" + std::to_string(first.tcp_port()) + ") failed"), std::string::npos)
      << r.output;
}

TEST(DaemonProcess, SigtermExitsZero) {
  Daemon d;
  {
    V2Client c(d.tcp_port());
    ASSERT_TRUE(c.publish(unique_name(), "before shutdown"));
  }
  EXPECT_EQ(d.stop(SIGTERM), 0) << d.output();
}

// Go's flag package accepts an empty value (`--http-address=` disables HTTP); it must not consume the next
// argument as its value.
TEST(DaemonProcess, EmptyFlagValueDoesNotSwallowTheNextFlag) {
  TempDir dir;
  Process p({nsqd_binary(), "--tcp-address=127.0.0.1:0", "--http-address=", "--https-address=",
             "--data-path=" + dir.path().string()});
  bool started = p.wait_output([](const std::string& o) { return o.find("TCP: listening on") != std::string::npos; },
                               Ms(10000));
  ASSERT_TRUE(started) << p.output();
  EXPECT_EQ(p.output().find("HTTP: listening"), std::string::npos) << "--http-address= disables HTTP\n" << p.output();
  auto second = run_nsqd({}, dir.path().string());
  EXPECT_NE(second.output.find("cannot flock directory " + dir.path().string()), std::string::npos)
      << "the first nsqd must hold the lock on --data-path given after the empty flags:\n" << second.output;
  p.signal(SIGTERM);
  p.wait(Ms(10000));
}

TEST(DaemonProcess, SigintExitsZero) {
  Daemon d;
  {
    V2Client c(d.tcp_port());
    ASSERT_TRUE(c.subscribe(unique_name(), "c"));
    // a connected client must not block shutdown
    EXPECT_EQ(d.stop(SIGINT), 0) << d.output();
    EXPECT_TRUE(c.expect_closed(Ms(3000))) << "shutdown closes client connections";
  }
}

TEST(DaemonProcess, LogsListenLinesOnStartup) {
  Daemon d;
  auto out = d.output();
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(TCP: listening on 127\.0\.0\.1:\d+)"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(HTTP: listening on 127\.0\.0\.1:\d+)"))) << out;
  EXPECT_GT(d.tcp_port(), 0);
  EXPECT_GT(d.http_port(), 0);
  EXPECT_NE(d.tcp_port(), d.http_port());
}

}  // namespace
}  // namespace nsqit
