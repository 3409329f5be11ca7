// nsqd's HTTP API handlers over arbitrary query strings and bodies: /pub, /mpub, /config/<name> (GET and PUT),
// topic and channel admin, /stats. Input: [method byte][path byte][query '\n' body].
#include <cstdint>
#include <string>

#include "engine/http_api.h"
#include "engine/http_query.h"
#include "tests/fuzz/fuzz_world.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const char* const kMethods[] = {"GET", "POST", "PUT", "DELETE", "HEAD"};
  static const char* const kPaths[] = {
      "/pub", "/mpub", "/config/nsqlookupd_tcp_addresses", "/config/log_level", "/config/",
      "/topic/create", "/topic/delete", "/topic/empty", "/topic/pause", "/topic/unpause",
      "/channel/create", "/channel/delete", "/channel/empty", "/channel/pause", "/channel/unpause",
      "/stats", "/info", "/ping", "/metrics", "/put", "/mput"};
  constexpr std::size_t kNumPaths = sizeof(kPaths) / sizeof(kPaths[0]);

  nsq::fuzz::Input in(data, size);
  const std::uint8_t m = in.byte();
  const std::uint8_t p = in.byte();
  const std::string_view rest = in.rest();
  const std::size_t nl = rest.find('\n');
  const std::string_view query = rest.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);

  // The query parser on its own: a parse that succeeds must give every key a first value.
  if (auto q = nsq::QueryParams::parse(query)) (void)q->first("topic");

  nsq::fuzz::World w;
  nsq::HttpApi api(*w.nsqd);
  auto c = w.connect();
  nsq::fuzz::World::feed(*c, "  V2SUB t c\nRDY 10\n");
  nsq::HttpRequest r;
  r.method = kMethods[m % 5];
  // Path: one of nsqd's, or (for path bytes past the table) the body's first line as a raw path.
  if (p % 32 < kNumPaths) {
    r.path = kPaths[p % 32];
    if (p & 0x80) r.path += "/";  // trailing-slash variants redirect
  } else {
    r.path = std::string(query.substr(0, 64));
  }
  r.query = std::string(query);
  r.body = std::string(body);
  r.content_length = r.body.size();
  r.body_too_large = r.body.size() > api.body_limit(r.path);
  (void)api.handle(r);
  // And read it all back: the stats of whatever the request created.
  nsq::HttpRequest s;
  s.method = "GET";
  s.path = "/stats";
  s.query = "format=json&include_clients=true";
  (void)api.handle(s);
  w.advance(1'000'000'000);
  return 0;
}
