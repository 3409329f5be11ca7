// AUTH on io_sim: the engine asks the auth server through the HttpClient seam on the virtual clock. Commands after
// AUTH (or after a check whose grant expired) wait for the answer, so replies keep command order; TTL expiry,
// timeouts, failover between servers and a client leaving mid-query are exact in virtual time.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/auth.h"
#include "engine/client.h"
#include "sim/sim_client.h"
#include "sim/sim_world.h"

namespace nsq::sim {
namespace {

constexpr std::int64_t kMs = kMillisecond;
constexpr const char* kAuthd = "auth.example:4181";

Options auth_options(std::vector<std::string> addresses = {kAuthd}) {
  Options o;
  o.auth_http_addresses = std::move(addresses);
  o.http_client_request_timeout = 2 * kSecond;
  return o;
}

io_sim::SimHttpClient::Reply grant(std::string json, std::int64_t delay_ns = 0) {
  io_sim::SimHttpClient::Reply r;
  r.body = std::move(json);
  r.delay_ns = delay_ns;
  return r;
}

struct Session {
  explicit Session(SimWorld& w) : client("c", w.net) {
    client.handlers().reply = [this](std::string_view cmd, bool ok, std::string_view text) {
      replies.push_back(std::string(cmd) + (ok ? " " : " ERR ") + std::string(text));
    };
    client.handlers().closed = [this](std::string_view) { closed = true; };
    client.connect(w.tcp_address);
  }
  SimClient client;
  std::vector<std::string> replies;
  bool closed = false;
};

const char* kPublishAll = R"({"ttl":3600,"identity":"ann","identity_url":"https://id/ann",
  "authorizations":[{"topic":"^orders$","channels":[".*"],"permissions":["publish","subscribe"]}]})";

TEST(SimAuth, LaterCommandsWaitForTheAuthServer) {
  SimWorld w(3, auth_options());
  w.http.set_handler(kAuthd, [](const seam::HttpRequest&) { return grant(kPublishAll, 300 * kMs); });
  Session s(w);
  s.client.auth("s3cret");
  s.client.pub("orders", "m1");
  w.clock.run_for(200 * kMs);
  EXPECT_TRUE(s.replies.empty());
  EXPECT_EQ(w.nsqd->find_topic("orders"), nullptr) << "PUB ran before AUTH was answered";
  w.clock.run_for(200 * kMs);
  ASSERT_EQ(s.replies.size(), 2u);
  EXPECT_EQ(s.replies[0], R"(AUTH {"identity":"ann","identity_url":"https://id/ann","permission_count":1})");
  EXPECT_EQ(s.replies[1], "PUB OK");
  ASSERT_EQ(w.http.requests().size(), 1u);
  const seam::HttpRequest& req = w.http.requests()[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.host, kAuthd);
  EXPECT_EQ(req.target, "/auth?common_name=&remote_ip=10.0.0.2&secret=s3cret&tls=false");
  EXPECT_EQ(req.request_timeout_ns, 2 * kSecond);
  // /stats shows who the client is.
  const auto& clients = w.nsqd->clients();
  ASSERT_EQ(clients.size(), 1u);
  const ClientStats cs = clients.begin()->second->stats();
  EXPECT_TRUE(cs.authed);
  EXPECT_EQ(cs.auth_identity, "ann");
  EXPECT_EQ(cs.auth_identity_url, "https://id/ann");
}

TEST(SimAuth, ExpiredGrantIsAskedForAgainAtTheNextCheck) {
  SimWorld w(3, auth_options());
  int asked = 0;
  w.http.set_handler(kAuthd, [&](const seam::HttpRequest&) {
    ++asked;
    if (asked == 1) return grant(R"({"ttl":2,"authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish"]}]})");
    return grant(R"({"ttl":2,"authorizations":[{"topic":"^b$","channels":[".*"],"permissions":["publish"]}]})");
  });
  Session s(w);
  s.client.auth("x");
  s.client.pub("a", "1");
  w.clock.run_for(1900 * kMs);
  s.client.pub("a", "2");  // still within the TTL: no new query
  w.clock.run_for(50 * kMs);
  EXPECT_EQ(asked, 1);
  w.clock.run_for(1 * kSecond);
  s.client.pub("b", "3");  // expired: asked again, the new grant allows b
  s.client.pub("a", "4");  // ...but no longer a
  w.clock.run_for(100 * kMs);
  EXPECT_EQ(asked, 2);
  ASSERT_EQ(s.replies.size(), 5u);
  EXPECT_EQ(s.replies[1], "PUB OK");
  EXPECT_EQ(s.replies[2], "PUB OK");
  EXPECT_EQ(s.replies[3], "PUB OK");
  EXPECT_EQ(s.replies[4], R"(PUB ERR E_UNAUTHORIZED AUTH failed for PUB on "a" "")");
  EXPECT_TRUE(s.closed);
}

TEST(SimAuth, HangingAuthServerFailsAtTheRequestTimeout) {
  SimWorld w(3, auth_options());
  w.http.set_handler(kAuthd, [](const seam::HttpRequest&) {
    io_sim::SimHttpClient::Reply r;
    r.hang = true;
    return r;
  });
  Session s(w);
  s.client.auth("x");
  w.clock.run_for(2 * kSecond - 1 * kMs);
  EXPECT_TRUE(s.replies.empty());
  w.clock.run_for(10 * kMs);
  ASSERT_EQ(s.replies.size(), 1u);
  EXPECT_EQ(s.replies[0], "AUTH ERR E_AUTH_FAILED AUTH failed");
}

TEST(SimAuth, TriesEveryServerUntilOneAnswers) {
  SimWorld w(3, auth_options({"down-1:4181", "down-2:4181", kAuthd}));
  w.http.set_handler(kAuthd, [](const seam::HttpRequest&) { return grant(kPublishAll); });
  Session s(w);
  s.client.auth("x");
  w.clock.run_for(100 * kMs);
  ASSERT_EQ(s.replies.size(), 1u);
  EXPECT_EQ(s.replies[0].rfind("AUTH {", 0), 0u) << s.replies[0];
  EXPECT_EQ(w.http.requests().back().host, kAuthd);
  EXPECT_LE(w.http.requests().size(), 3u);
}

TEST(SimAuth, ClientLeavingMidQueryIsNoticedAfterTheAnswer) {
  // As nsqd, whose IOLoop is blocked in the auth call: reads stop while the query runs, the hang-up is seen after.
  SimWorld w(3, auth_options());
  w.http.set_handler(kAuthd, [](const seam::HttpRequest&) { return grant(kPublishAll, 1 * kSecond); });
  Session s(w);
  s.client.auth("x");
  w.clock.run_for(100 * kMs);
  EXPECT_EQ(w.http.in_flight(), 1u);
  s.client.close();
  w.clock.run_for(100 * kMs);
  EXPECT_EQ(w.nsqd->client_count(), 1u);
  w.clock.run_for(1 * kSecond);
  EXPECT_EQ(w.http.in_flight(), 0u);
  EXPECT_EQ(w.nsqd->client_count(), 0u);
}

TEST(SimAuth, EngineGoingAwayCancelsTheQuery) {
  SimWorld w(3, auth_options());
  w.http.set_handler(kAuthd, [](const seam::HttpRequest&) { return grant(kPublishAll, 1 * kSecond); });
  Session s(w);
  s.client.auth("x");
  w.clock.run_for(100 * kMs);
  EXPECT_EQ(w.http.in_flight(), 1u);
  w.listener.reset();
  w.nsqd.reset();
  EXPECT_EQ(w.http.in_flight(), 0u);
  w.clock.run_for(2 * kSecond);  // nothing left to call back into
}

// nsqd's http_api client: a 403 over plain http is asked again, once, over https at the port the body names.
TEST(SimAuth, Forbidden403IsRetriedOverHttps) {
  SimWorld w(3, auth_options());
  w.http.set_handler(kAuthd, [](const seam::HttpRequest&) {
    io_sim::SimHttpClient::Reply r;
    r.status = 403;
    r.body = R"({"message": "TLS_REQUIRED", "https_port": 4182})";
    return r;
  });
  w.http.set_handler("auth.example:4182", [](const seam::HttpRequest& req) {
    if (!req.https) {
      io_sim::SimHttpClient::Reply r;
      r.status = 400;
      return r;
    }
    return grant(kPublishAll);
  });
  Session s(w);
  s.client.auth("x");
  w.clock.run_for(100 * kMs);
  ASSERT_EQ(s.replies.size(), 1u);
  EXPECT_EQ(s.replies[0].rfind("AUTH {", 0), 0u) << s.replies[0];
  ASSERT_EQ(w.http.requests().size(), 2u);
  EXPECT_FALSE(w.http.requests()[0].https);
  EXPECT_TRUE(w.http.requests()[1].https);
  EXPECT_EQ(w.http.requests()[1].target, w.http.requests()[0].target);
  // An https server answering 403 is not retried again.
  w.http.set_handler("auth.example:4182", [](const seam::HttpRequest&) {
    io_sim::SimHttpClient::Reply r;
    r.status = 403;
    r.body = R"({"https_port": 4182})";
    return r;
  });
  Session s2(w);
  s2.client.auth("x");
  w.clock.run_for(100 * kMs);
  ASSERT_EQ(s2.replies.size(), 1u);
  EXPECT_EQ(s2.replies[0], "AUTH ERR E_AUTH_FAILED AUTH failed");
  EXPECT_EQ(w.http.requests().size(), 4u);
}

TEST(SimAuth, HttpsUrlsAndPostBodies) {
  seam::HttpRequest req;
  AuthRequest r{"10.0.0.2", false, "", "a&b\"<"};
  EXPECT_EQ(AuthQuery::build_request("https://auth.example/v1/auth", r, "get", req), "");
  EXPECT_TRUE(req.https);
  EXPECT_EQ(req.host, "auth.example:443");
  EXPECT_EQ(req.target, "/v1/auth?common_name=&remote_ip=10.0.0.2&secret=a%26b%22%3C&tls=false");
  EXPECT_EQ(AuthQuery::build_request("http://[fd00::1]:81", r, "post", req), "");
  EXPECT_FALSE(req.https);
  EXPECT_EQ(req.host, "[fd00::1]:81");
  EXPECT_EQ(req.target, "/");
  EXPECT_EQ(req.body, R"({"common_name":[""],"remote_ip":["10.0.0.2"],"secret":["a\u0026b\"\u003c"],"tls":["false"]})");
  EXPECT_NE(AuthQuery::build_request("ftp://x", r, "get", req), "");
}

// The answer is decoded as Go decodes it into nsqd's auth.State, with nsqd's checks (confirmed against nsqd v1.3.0).
TEST(SimAuth, AnswersAreDecodedAndCheckedAsNsqdDoes) {
  std::string err;
  auto parse = [&](const std::string& body) { return AuthState::parse(body, 0, err); };
  const std::string all = R"("authorizations":[{"topic":".*","channels":[".*"],"permissions":["publish"]}])";
  EXPECT_TRUE(parse(R"({"TTL":5,"Identity":"x",)" + all + "}"));  // field names match case-insensitively
  EXPECT_FALSE(parse(R"({"ttl":5,"expires":123,)" + all + "}"));  // lands in Expires time.Time
  EXPECT_TRUE(parse(R"({"ttl":5,"expires":"2026-01-01T00:00:00Z",)" + all + "}"));
  EXPECT_FALSE(parse(R"({"ttl":1.5,)" + all + "}"));
  EXPECT_FALSE(parse(R"({"ttl":0,)" + all + "}"));
  EXPECT_EQ(err, "invalid TTL 0 (must be >0)");
  EXPECT_FALSE(parse(R"({"ttl":5,"authorizations":[{"topic":"a","channels":[],"permissions":["admin"]}]})"));
  EXPECT_EQ(err, "unknown permission admin");
  EXPECT_FALSE(parse(R"({"ttl":5,"authorizations":[{"topic":"(","channels":[],"permissions":[]}]})"));
  EXPECT_FALSE(parse(R"j({"ttl":5,"authorizations":[{"topic":"a(?=b)","channels":[],"permissions":[]}]})j"));
  EXPECT_FALSE(parse("[]"));
  EXPECT_FALSE(parse("{"));
  auto ok = parse(R"({"ttl":5,"authorizations":null})");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->authorizations.empty());

  auto s = parse(R"({"ttl":5,"authorizations":[
      {"topic":"a","channels":["^c[0-9]$"],"permissions":["subscribe"]},
      {"topic":"(?i)^UP","channels":["x"],"permissions":["publish"]}]})");
  ASSERT_TRUE(s) << err;
  EXPECT_TRUE(s->is_allowed("xxaxx", "c1"));  // unanchored topic pattern
  EXPECT_FALSE(s->is_allowed("xxaxx", "c12"));
  EXPECT_FALSE(s->is_allowed("a", ""));  // subscribe grant does not publish
  EXPECT_FALSE(s->is_allowed("upper", ""));  // a publish grant needs a channel pattern matching ""
  auto p = parse(R"({"ttl":5,"authorizations":[{"topic":"(?i)^UP","channels":[""],"permissions":["publish"]}]})");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->is_allowed("upper", ""));
  EXPECT_EQ(p->expires_ns, 5 * kSecond);
}

}  // namespace
}  // namespace nsq::sim
