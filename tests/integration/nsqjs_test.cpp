// Real-client test: runs tests/integration/nsqjs/pubsub.js (the nsqjs library, 10,000 messages, MPUB+PUB,
// two channels × three readers, exactly-once FIN per channel) against a fresh nsqd.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "daemon.h"

namespace nsqit {
namespace {

std::string find_node() {
  for (const char* p : {"/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs"})
    if (std::filesystem::exists(p)) return p;
  return "";
}

TEST(Nsqjs, PublishAndConsumeTenThousandMessagesOnTwoChannels) {
  const std::string node = find_node();
  if (node.empty()) GTEST_SKIP() << "node is not installed (tools/setup.sh installs it)";
  const std::filesystem::path dir = NSQJS_DIR;
  ASSERT_TRUE(std::filesystem::exists(dir / "node_modules" / "nsqjs"))
      << "nsqjs is not installed in " << dir << "; run `bash tools/setup.sh` (it runs npm install there)";
  Daemon d;
  auto r = run_command({node, (dir / "pubsub.js").string(), std::to_string(d.tcp_port()), "10000"},
                       std::chrono::milliseconds(150000), dir.string());
  EXPECT_EQ(r.exit_code, 0) << "pubsub.js output:\n" << r.output << "\n--- nsqd output (tail) ---\n"
                            << d.output().substr(d.output().size() > 4000 ? d.output().size() - 4000 : 0);
  EXPECT_NE(r.output.find("OK: 10000 messages"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace nsqit
