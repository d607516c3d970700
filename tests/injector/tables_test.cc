// Rule table files: the owner's lock, and the sweep that removes the tables of owners that
// have gone when a new table is created, with real processes as owners.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "faultline/injector/control.h"
#include "support/processes.h"
#include "support/run.h"

using faultline::inject::ControlTable;
using faultline::testing::TempDir;
using faultline::testing::WaitUntil;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A table file name as DefaultPath makes them, for a given pid.
std::string TablePath(const TempDir& dir, pid_t pid, const char* suffix) {
  return dir.path + "/faultline-inject." + std::to_string(pid) + "." + suffix;
}

// A child process that creates a table at `path` and owns it until `Stop`.
class Owner {
 public:
  Owner(const TempDir& dir, const char* suffix) {
    int ends[2];
    REQUIRE(::pipe(ends) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::close(ends[1]);
      auto table = ControlTable::Create(TablePath(dir, ::getpid(), suffix), 1);
      char byte;
      if (table) (void)!::read(ends[0], &byte, 1);  // until Stop, or the test, goes
      ::_exit(table ? 0 : 1);
    }
    ::close(ends[0]);
    stop_ = ends[1];
    path_ = TablePath(dir, pid_, suffix);
  }
  ~Owner() { Stop(); }

  // Waits until its table is whole (the lock is taken before the file has its size).
  bool Ready() const {
    return WaitUntil(
        [&] {
          std::error_code ec;
          return fs::file_size(path_, ec) > 0 && !ec;
        },
        20s);
  }
  // Ends it, without removing its table; its exit status.
  int Stop() {
    if (stop_ >= 0) ::close(stop_);
    stop_ = -1;
    int status = 0;
    if (pid_ > 0) ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  const std::string& path() const { return path_; }

 private:
  pid_t pid_ = -1;
  int stop_ = -1;
  std::string path_;
};

// A pid that was a process a moment ago and is none now.
pid_t DeadPid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

}  // namespace

TEST_CASE("creating a table removes those whose owner has gone and keeps a live owner's",
          "[injector][tables]") {
  TempDir dir;
  Owner gone(dir, "00000000000000aa");
  REQUIRE(gone.Ready());
  REQUIRE(gone.Stop() == 0);  // it ended without removing its table, as if SIGKILLed
  REQUIRE(fs::exists(gone.path()));
  Owner live(dir, "00000000000000bb");
  REQUIRE(live.Ready());
  std::ofstream(dir.path + "/unrelated.txt") << "kept";

  auto table = ControlTable::Create(TablePath(dir, ::getpid(), "00000000000000cc"), 7);
  REQUIRE(table);
  CHECK_FALSE(fs::exists(gone.path()));
  CHECK(fs::exists(live.path()));
  CHECK(fs::exists(table->path()));
  CHECK(fs::exists(dir.path + "/unrelated.txt"));
  // The live owner's table is still its own, and the new one is whole.
  CHECK(ControlTable::Open(live.path()).ok());
  CHECK(table->seed() == 7);

  // Once the owner ends, its table goes with the next sweep.
  CHECK(live.Stop() == 0);
  CHECK(ControlTable::RemoveStale(dir.path) == 1);
  CHECK_FALSE(fs::exists(live.path()));
  CHECK(fs::exists(table->path()));
}

TEST_CASE("a table is stale once its owner is gone, whatever runs under the pid in its name",
          "[injector][tables]") {
  TempDir dir;
  // Named after this process, which lives: a later process with the pid of a dead owner.
  const std::string reused = TablePath(dir, ::getpid(), "00000000000000dd");
  REQUIRE(ControlTable::Create(reused, 1).ok());  // created and closed, never removed
  REQUIRE(fs::exists(reused));
  // A file that has no size yet: being created by a creator that lives, or left by one that
  // died on the way.
  const std::string creating = TablePath(dir, ::getpid(), "00000000000000ee");
  const std::string abandoned = TablePath(dir, DeadPid(), "00000000000000ff");
  std::ofstream{creating};
  std::ofstream{abandoned};
  // Names of other shapes are not tables.
  const std::string other = dir.path + "/faultline-inject.notapid.0";
  std::ofstream{other};

  CHECK(ControlTable::RemoveStale(dir.path) == 2);
  CHECK_FALSE(fs::exists(reused));
  CHECK_FALSE(fs::exists(abandoned));
  CHECK(fs::exists(creating));
  CHECK(fs::exists(other));
}
