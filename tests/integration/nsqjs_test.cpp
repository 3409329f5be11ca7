// Real-client test: runs tests/integration/nsqjs/pubsub.js (the nsqjs library, 10,000 messages, MPUB+PUB,
// two channels × three readers, exactly-once FIN per channel) against a fresh nsqd.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "daemon.h"
#include "secure_client.h"

namespace nsqit {
namespace {

std::string find_node() {
  for (const char* p : {"/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs"})
    if (std::filesystem::exists(p)) return p;
  return "";
}

// Runs pubsub.js against d with NSQJS_OPTIONS = options (nsqjs connection options as JSON).
void run_pubsub(Daemon& d, const std::string& options) {
  const std::string node = find_node();
  if (node.empty()) GTEST_SKIP() << "node is not installed (tools/setup.sh installs it)";
  const std::filesystem::path dir = NSQJS_DIR;
  ASSERT_TRUE(std::filesystem::exists(dir / "node_modules" / "nsqjs"))
      << "nsqjs is not installed in " << dir << "; run `bash tools/setup.sh` (it runs npm install there)";
  auto r = run_command({"/usr/bin/env", "NSQJS_OPTIONS=" + options, node, (dir / "pubsub.js").string(),
                        std::to_string(d.tcp_port()), "10000"},
                       std::chrono::milliseconds(150000), dir.string());
  EXPECT_EQ(r.exit_code, 0) << "pubsub.js output:\n" << r.output << "\n--- nsqd output (tail) ---\n"
                            << d.output().substr(d.output().size() > 4000 ? d.output().size() - 4000 : 0);
  EXPECT_NE(r.output.find("OK: 10000 messages"), std::string::npos) << r.output;
}

TEST(Nsqjs, PublishAndConsumeTenThousandMessagesOnTwoChannels) {
  Daemon d;
  run_pubsub(d, "{}");
}

// nsqjs's tls option: IDENTIFY tls_v1, then the handshake on the same socket (certificate from the test's CA).
TEST(Nsqjs, TenThousandMessagesOverTls) {
  TestCerts certs;
  Daemon d({"--tls-cert=" + certs.server_cert, "--tls-key=" + certs.server_key, "--https-address="});
  run_pubsub(d, R"({"tls":true,"tlsVerification":false})");
  if (IsSkipped()) return;
  EXPECT_NE(d.output().find("upgrading connection to TLS"), std::string::npos);
}

TEST(Nsqjs, TenThousandMessagesWithDeflate) {
  Daemon d;
  run_pubsub(d, R"({"deflate":true,"deflateLevel":6})");
  if (IsSkipped()) return;
  EXPECT_NE(d.output().find("upgrading connection to deflate (level 6)"), std::string::npos);
}

// nsqjs's snappy option needs the optional npm package snappystream (package.json lists it).
TEST(Nsqjs, TenThousandMessagesWithSnappy) {
  const std::filesystem::path dir = NSQJS_DIR;
  if (!std::filesystem::exists(dir / "node_modules" / "snappystream")) {
    GTEST_SKIP() << "the optional npm package snappystream did not install; Compression.* covers snappy";
  }
  Daemon d;
  run_pubsub(d, R"({"snappy":true})");
  if (IsSkipped()) return;
  EXPECT_NE(d.output().find("upgrading connection to snappy"), std::string::npos);
}

}  // namespace
}  // namespace nsqit
