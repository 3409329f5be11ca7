#include "io_real/posix_file_system.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <random>

namespace nsq::io_real {

namespace {

// One open descriptor; closed when the last holder (owner or a pending fsync job) lets go.
class PosixFile final : public seam::File {
 public:
  PosixFile(PosixFileSystem& fs, int fd, std::string path) : fs_(fs), fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }

  seam::IoResult write_at(std::uint64_t offset, std::string_view data) override {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_result(errno, "write " + path_);
      }
      done += static_cast<std::size_t>(n);
    }
    return {};
  }

  seam::IoResult read_at(std::uint64_t offset, std::size_t size, std::string& out) override {
    out.resize(size);
    std::size_t got = 0;
    while (got < size) {
      const ssize_t n = ::pread(fd_, out.data() + got, size - got, static_cast<off_t>(offset + got));
      if (n < 0) {
        if (errno == EINTR) continue;
        out.clear();
        return errno_result(errno, "read " + path_);
      }
      if (n == 0) break;
      got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return {};
  }

  void sync(seam::IoCallback done) override {
    // The job holds the descriptor open even if the owner closes the file first.
    std::shared_ptr<PosixFile> self = self_.lock();
    fs_.submit(
        [self, fd = fd_, path = path_]() -> seam::IoResult {
          if (::fdatasync(fd) != 0) return errno_result(errno, "sync " + path);
          return {};
        },
        std::move(done));
  }

  std::uint64_t size() const override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return 0;
    return static_cast<std::uint64_t>(st.st_size);
  }

  std::weak_ptr<PosixFile> self_;

 private:
  PosixFileSystem& fs_;
  int fd_;
  std::string path_;
};

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

seam::IoResult write_all(int fd, const std::string& data, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_result(errno, "write " + path);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

seam::IoResult errno_result(int err, const std::string& what) {
  // Go's wording: "write <path>: no space left on device" (lower-case errno text).
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return seam::IoResult{err, what + ": " + text};
}

PosixFileSystem::PosixFileSystem(boost::asio::io_context& io) : io_(io), thread_([this] { worker(); }) {}

PosixFileSystem::~PosixFileSystem() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PosixFileSystem::worker() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping and drained: queued syncs always finish
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

void PosixFileSystem::submit(std::function<seam::IoResult()> job, seam::IoCallback done) {
  auto guard = boost::asio::make_work_guard(io_);
  {
    std::lock_guard lk(mu_);
    jobs_.push_back([this, job = std::move(job), done = std::move(done), guard = std::move(guard)]() mutable {
      seam::IoResult r = job();
      boost::asio::post(io_, [done = std::move(done), r = std::move(r), guard = std::move(guard)]() mutable {
        guard.reset();
        if (done) done(std::move(r));
      });
    });
  }
  cv_.notify_one();
}

std::shared_ptr<seam::File> PosixFileSystem::open(const std::string& path, bool create, seam::IoResult& result) {
  const int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) {
    result = errno_result(errno, "open " + path);
    return nullptr;
  }
  result = {};
  auto f = std::make_shared<PosixFile>(*this, fd, path);
  f->self_ = f;
  return f;
}

seam::IoResult PosixFileSystem::read_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_result(errno, "open " + path);
  out.clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return errno_result(err, "read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return {};
}

void PosixFileSystem::write_file_atomic(const std::string& path, std::string data, seam::IoCallback done) {
  // nsqd's temp names: "<path>.<random int>.tmp".
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::string tmp = path + "." + std::to_string(rng() % 1000000000) + ".tmp";
  submit(
      [path, tmp, data = std::move(data)]() -> seam::IoResult {
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) return errno_result(errno, "open " + tmp);
        seam::IoResult r = write_all(fd, data, tmp);
        if (r.ok() && ::fsync(fd) != 0) r = errno_result(errno, "sync " + tmp);
        ::close(fd);
        if (r.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) r = errno_result(errno, "rename " + tmp);
        if (!r.ok()) {
          ::unlink(tmp.c_str());
          return r;
        }
        // The rename is durable only once the directory entry is.
        const std::string dir = dir_of(path);
        const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
          if (::fsync(dfd) != 0) r = errno_result(errno, "sync " + dir);
          ::close(dfd);
        }
        return r;
      },
      std::move(done));
}

seam::IoResult PosixFileSystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return errno_result(errno, "rename " + from + " " + to);
  return {};
}

seam::IoResult PosixFileSystem::remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return errno_result(errno, "remove " + path);
  return {};
}

bool PosixFileSystem::exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::int64_t PosixFileSystem::file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<std::int64_t>(st.st_size);
}

std::vector<std::string> PosixFileSystem::list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  ::closedir(d);
  return out;
}

}  // namespace nsq::io_real
