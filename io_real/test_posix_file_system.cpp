// PosixFileSystem: positional I/O on the caller's thread, fsync and atomic writes on the I/O thread with
// completions back on the io_context.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "io_real/posix_file_system.h"

namespace {

struct TmpDir {
  std::string path;
  TmpDir() {
    char tmpl[] = "/tmp/nsq-posixfs-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TmpDir() { std::filesystem::remove_all(path); }
};

TEST(PosixFileSystem, WriteReadSyncAndCompletionsOnTheLoopThread) {
  TmpDir dir;
  boost::asio::io_context io;
  nsq::io_real::PosixFileSystem fs(io);
  nsq::seam::IoResult r;
  auto f = fs.open(dir.path + "/a.dat", true, r);
  ASSERT_TRUE(f) << r.message;
  ASSERT_TRUE(f->write_at(0, "hello").ok());
  ASSERT_TRUE(f->write_at(5, " world").ok());
  EXPECT_EQ(f->size(), 11u);
  std::string got;
  ASSERT_TRUE(f->read_at(6, 100, got).ok());
  EXPECT_EQ(got, "world");
  const auto loop_thread = std::this_thread::get_id();
  bool synced = false;
  f->sync([&](nsq::seam::IoResult res) {
    EXPECT_TRUE(res.ok()) << res.message;
    EXPECT_EQ(std::this_thread::get_id(), loop_thread);
    synced = true;
  });
  f.reset();  // the pending fsync keeps the descriptor open
  EXPECT_FALSE(synced);
  io.run();  // returns only after the completion ran: a pending sync keeps the io_context busy
  EXPECT_TRUE(synced);
}

TEST(PosixFileSystem, AtomicWritesCompleteInOrderAndLeaveNoTempFiles) {
  TmpDir dir;
  boost::asio::io_context io;
  nsq::io_real::PosixFileSystem fs(io);
  std::vector<int> order;
  fs.write_file_atomic(dir.path + "/m.dat", "one", [&](nsq::seam::IoResult res) {
    EXPECT_TRUE(res.ok());
    order.push_back(1);
  });
  fs.write_file_atomic(dir.path + "/m.dat", "two", [&](nsq::seam::IoResult res) {
    EXPECT_TRUE(res.ok());
    order.push_back(2);
  });
  io.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  std::string text;
  ASSERT_TRUE(fs.read_file(dir.path + "/m.dat", text).ok());
  EXPECT_EQ(text, "two");
  EXPECT_EQ(fs.list_dir(dir.path), std::vector<std::string>{"m.dat"});
  EXPECT_EQ(fs.file_size(dir.path + "/m.dat"), 3);
}

TEST(PosixFileSystem, ErrorsReadLikeGo) {
  TmpDir dir;
  boost::asio::io_context io;
  nsq::io_real::PosixFileSystem fs(io);
  nsq::seam::IoResult r;
  EXPECT_FALSE(fs.open(dir.path + "/missing", false, r));
  EXPECT_EQ(r.error, ENOENT);
  EXPECT_EQ(r.message, "open " + dir.path + "/missing: no such file or directory");
  EXPECT_FALSE(fs.exists(dir.path + "/missing"));
  EXPECT_EQ(fs.file_size(dir.path + "/missing"), -1);
  EXPECT_EQ(fs.rename(dir.path + "/missing", dir.path + "/x").error, ENOENT);
  EXPECT_EQ(fs.remove(dir.path + "/missing").error, ENOENT);
  bool called = false;
  fs.write_file_atomic(dir.path + "/no/such/dir/f", "x", [&](nsq::seam::IoResult res) {
    EXPECT_EQ(res.error, ENOENT);
    called = true;
  });
  io.run();
  EXPECT_TRUE(called);
}

}  // namespace
