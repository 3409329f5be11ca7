// AUTH against the real binary with an auth server inside the test (fact sheet §7.1). Expected texts were
// confirmed by running nsqd v1.3.0 against the same kind of auth server: same frames, same auth requests.
#include <algorithm>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "daemon.h"
#include "fake_http_server.h"
#include "http_client.h"
#include "test_util.h"
#include "v2_client.h"

namespace nsqit {
namespace {

const char* kGood = R"({"ttl":3600,"identity":"id<1>","identity_url":"http://x/&","authorizations":[
  {"topic":"^allowed","channels":[".*"],"permissions":["subscribe","publish"]},
  {"topic":"sub_only","channels":["^ch[0-9]+$"],"permissions":["subscribe"]}]})";
const char* kGoodReply = R"({"identity":"id\u003c1\u003e","identity_url":"http://x/\u0026","permission_count":2})";

// Answers by secret: "good" (above), "none" (no authorizations), "short" (ttl 1 s, everything; then only
// topic "only"), "badre" (a pattern that does not compile); anything else 403.
FakeHttpReply answer(const FakeHttpRequest& r, int& short_asked) {
  const auto it = r.query.find("secret");
  const std::string secret = it == r.query.end() ? "" : it->second;
  if (secret == "good") return {200, kGood};
  if (secret == "none") return {200, R"({"ttl":3600,"authorizations":[]})"};
  if (secret == "badre") {
    return {200, R"({"ttl":3600,"authorizations":[{"topic":"(","channels":[".*"],"permissions":["publish"]}]})"};
  }
  if (secret == "short") {
    if (++short_asked == 1) {
      return {200, R"({"ttl":1,"authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish"]}]})"};
    }
    return {200, R"({"ttl":1,"authorizations":[{"topic":"^only$","channels":[".*"],"permissions":["publish"]}]})"};
  }
  return {403, R"({"message":"nope"})"};
}

struct AuthFixture {
  AuthFixture(std::vector<std::string> extra = {})
      : server([this](const FakeHttpRequest& r) { return answer(r, short_asked); }),
        daemon(with_auth(std::move(extra), server.address())) {}
  static std::vector<std::string> with_auth(std::vector<std::string> extra, const std::string& address) {
    extra.push_back("--auth-http-address=" + address);
    return extra;
  }
  void auth(V2Client& c, const std::string& secret) { c.send_with_body("AUTH", secret); }

  int short_asked = 0;
  FakeHttpServer server;
  Daemon daemon;
};

TEST(Auth, CommandsNeedAuthFirst) {
  AuthFixture f;
  {
    V2Client c(f.daemon.tcp_port());
    c.identify(R"({"feature_negotiation":true})");
    const Frame r = c.read_reply();
    EXPECT_EQ(nlohmann::json::parse(r.data)["auth_required"], true) << r.data;
    c.pub("t", "x");
    EXPECT_TRUE(c.expect_fatal("E_AUTH_FIRST AUTH required before PUB"));
  }
  for (const std::string cmd : {"SUB", "MPUB", "DPUB"}) {
    V2Client c(f.daemon.tcp_port());
    if (cmd == "SUB") c.sub("t", "c");
    if (cmd == "MPUB") c.mpub("t", {"x"});
    if (cmd == "DPUB") c.dpub("t", 10, "x");
    EXPECT_TRUE(c.expect_fatal("E_AUTH_FIRST AUTH required before " + cmd)) << cmd;
  }
  EXPECT_TRUE(f.server.requests().empty());
}

TEST(Auth, GrantedTopicsAndChannels) {
  AuthFixture f;
  const int port = f.daemon.tcp_port();
  {
    V2Client c(port);
    f.auth(c, "good");
    EXPECT_TRUE(c.expect_response(kGoodReply));
    c.pub("allowed_x", "m");
    EXPECT_TRUE(c.expect_ok());
    c.mpub("xallowed", {"m"});  // "^allowed" does not match
    EXPECT_TRUE(c.expect_fatal(R"(E_UNAUTHORIZED AUTH failed for MPUB on "xallowed" "")"));
  }
  const auto reqs = f.server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/auth?common_name=&remote_ip=127.0.0.1&secret=good&tls=false");
  EXPECT_EQ(reqs[0].headers.at("accept"), "application/vnd.nsq; version=1.0");
  {
    V2Client c(port);
    f.auth(c, "good");
    EXPECT_TRUE(c.expect_response(kGoodReply));
    c.sub("sub_only", "ch12");
    EXPECT_TRUE(c.expect_ok());
  }
  {
    V2Client c(port);
    f.auth(c, "good");
    EXPECT_TRUE(c.expect_response(kGoodReply));
    c.sub("sub_only", "chx");
    EXPECT_TRUE(c.expect_fatal(R"(E_UNAUTHORIZED AUTH failed for SUB on "sub_only" "chx")"));
  }
  {
    V2Client c(port);
    f.auth(c, "good");
    EXPECT_TRUE(c.expect_response(kGoodReply));
    c.dpub("sub_only", 10, "m");  // subscribe-only grant
    EXPECT_TRUE(c.expect_fatal(R"(E_UNAUTHORIZED AUTH failed for DPUB on "sub_only" "")"));
  }
  {
    V2Client c(port);
    f.auth(c, "good");
    EXPECT_TRUE(c.expect_response(kGoodReply));
    f.auth(c, "good");
    EXPECT_TRUE(c.expect_fatal("E_INVALID AUTH already set"));
  }
  EXPECT_EQ(f.server.requests().size(), 5u) << "a second AUTH does not ask the server";
}

TEST(Auth, RefusedAnswers) {
  AuthFixture f;
  for (const auto& [secret, error] : std::vector<std::pair<std::string, std::string>>{
           {"wrong", "E_AUTH_FAILED AUTH failed"},  // 403
           {"badre", "E_AUTH_FAILED AUTH failed"},
           {"none", "E_UNAUTHORIZED AUTH no authorizations found"}}) {
    V2Client c(f.daemon.tcp_port());
    f.auth(c, secret);
    EXPECT_TRUE(c.expect_fatal(error)) << secret;
  }
  EXPECT_TRUE(f.daemon.process().wait_output(
      [](const std::string& out) { return out.find("AUTH failed failed to auth against") != std::string::npos; },
      Ms(2000)))
      << f.daemon.output();
}

TEST(Auth, ServerDownFailsAuth) {
  int port = 0;
  {
    FakeHttpServer gone([](const FakeHttpRequest&) { return FakeHttpReply{}; });
    port = gone.port();
  }  // closed: connections are refused
  Daemon d({"--auth-http-address=127.0.0.1:" + std::to_string(port)});
  V2Client c(d.tcp_port());
  c.send_with_body("AUTH", "good");
  EXPECT_TRUE(c.expect_fatal("E_AUTH_FAILED AUTH failed"));
}

TEST(Auth, HangingServerFailsAtTheRequestTimeout) {
  FakeHttpServer hang([](const FakeHttpRequest&) {
    FakeHttpReply r;
    r.hang = true;
    return r;
  });
  Daemon d({"--auth-http-address=" + hang.address(), "--http-client-request-timeout=500ms"});
  V2Client c(d.tcp_port());
  Stopwatch sw;
  c.send_with_body("AUTH", "good");
  c.nop();
  EXPECT_TRUE(c.expect_fatal("E_AUTH_FAILED AUTH failed", Ms(5000)));
  EXPECT_GE(sw.ms(), 400);
}

TEST(Auth, ExpiredGrantIsAskedForAgain) {
  AuthFixture f;
  V2Client c(f.daemon.tcp_port());
  f.auth(c, "short");
  const Frame r = c.read_reply();
  EXPECT_EQ(r.data, R"({"identity":"","identity_url":"","permission_count":1})");
  c.pub("anything", "1");
  EXPECT_TRUE(c.expect_ok());
  std::this_thread::sleep_for(Ms(1200));
  c.pub("only", "2");  // expired: asked again; the new grant allows only "only"
  EXPECT_TRUE(c.expect_ok());
  c.pub("anything", "3");
  EXPECT_TRUE(c.expect_fatal(R"(E_UNAUTHORIZED AUTH failed for PUB on "anything" "")"));
  EXPECT_EQ(f.short_asked, 2);
}

TEST(Auth, StatsShowIdentityAndHttpIsNotChecked) {
  AuthFixture f;
  const int hp = f.daemon.http_port();
  // HTTP endpoints are never authorized.
  ASSERT_EQ(http_post(hp, "/pub?topic=allowed_h", "m").status, 200);
  V2Client c(f.daemon.tcp_port());
  f.auth(c, "good");
  EXPECT_TRUE(c.expect_response(kGoodReply));
  ASSERT_TRUE(c.subscribe("allowed_h", "c"));
  const auto stats = nlohmann::ordered_json::parse(http_get(hp, "/stats?format=json&topic=allowed_h").body);
  const auto& client = stats["topics"][0]["channels"][0]["clients"][0];
  EXPECT_EQ(client["authed"], true);
  EXPECT_EQ(client["auth_identity"], "id<1>");
  EXPECT_EQ(client["auth_identity_url"], "http://x/&");
  std::vector<std::string> keys;
  for (auto it = client.begin(); it != client.end(); ++it) keys.push_back(it.key());
  const auto at = [&](const std::string& k) { return std::find(keys.begin(), keys.end(), k) - keys.begin(); };
  EXPECT_EQ(at("authed"), at("user_agent") + 1);
  EXPECT_EQ(at("auth_identity_url"), at("tls") - 1);
}

TEST(Auth, DisabledWithoutAuthServer) {
  Daemon d;
  V2Client c(d.tcp_port());
  c.send_with_body("AUTH", "x");
  EXPECT_TRUE(c.expect_fatal("E_AUTH_DISABLED AUTH disabled"));
}

TEST(Auth, PostMethodSendsJsonValuesToAFullUrl) {
  FakeHttpServer server([](const FakeHttpRequest&) { return FakeHttpReply{200, kGood}; });
  Daemon d({"--auth-http-address=http://" + server.address() + "/custom", "--auth-http-request-method=post"});
  V2Client c(d.tcp_port());
  c.send_with_body("AUTH", "s<e>");
  EXPECT_TRUE(c.expect_response(kGoodReply));
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/custom");
  EXPECT_EQ(reqs[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(reqs[0].body,
            R"({"common_name":[""],"remote_ip":["127.0.0.1"],"secret":["s\u003ce\u003e"],"tls":["false"]})");
}

TEST(Auth, BadRequestMethodIsFatal) {
  TempDir tmp;
  const RunResult r = run_command({nsqd_binary(), "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0",
                                   "--data-path=" + tmp.path().string(), "--auth-http-request-method=put"},
                                  Ms(10000));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--auth-http-request-method must be post or get"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace nsqit
