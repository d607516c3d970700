// Supervised processes and the reaper, with real programs: what a runner relies on to leave
// nothing behind.

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <re2/re2.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "faultline/experiments/process.h"
#include "faultline/experiments/readiness.h"
#include "faultline/experiments/reaper.h"
#include "support/processes.h"
#include "support/run.h"

using faultline::experiments::Descriptor;
using faultline::experiments::Process;
using faultline::experiments::ProcessSpec;
using faultline::experiments::ReadyCheck;
using faultline::experiments::Reaper;
using faultline::testing::Background;
using faultline::testing::GroupGone;
using faultline::testing::LiveMembers;
using faultline::testing::Processes;
using faultline::testing::ReadStat;
using faultline::testing::TempDir;
using faultline::testing::WaitUntil;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Children of this test process that have exited but were never reaped.
std::size_t ZombieChildren() {
  const auto processes = Processes();
  return std::count_if(processes.begin(), processes.end(), [](const auto& process) {
    return process.second.parent == ::getpid() && process.second.state == 'Z';
  });
}

bool AllStopped(pid_t group) {
  const std::vector<pid_t> members = LiveMembers(group);
  return !members.empty() && std::all_of(members.begin(), members.end(), [](pid_t pid) {
    const auto stat = ReadStat(pid);
    return stat && stat->state == 'T';
  });
}

bool NoneStopped(pid_t group) {
  const std::vector<pid_t> members = LiveMembers(group);
  return std::none_of(members.begin(), members.end(), [](pid_t pid) {
    const auto stat = ReadStat(pid);
    return stat && stat->state == 'T';
  });
}

Process Start(const ProcessSpec& spec, Reaper* reaper = nullptr) {
  auto started = Process::Start(spec, reaper);
  INFO((started.ok() ? "" : started.message()));
  REQUIRE(started.ok());
  return std::move(*started);
}

// Waits until the process has logged `text`: for a shell script, proof that what comes
// before it in the script has run.
void AwaitLog(Process& process, const std::string& text) {
  const auto logged = faultline::experiments::WaitReady(
      {.kind = ReadyCheck::Kind::kLog, .target = text, .timeout = 20s}, process);
  INFO((logged.ok() ? "" : logged.message()));
  REQUIRE(logged.ok());
}

// A group of three: the shell and two background sleeps.
const std::vector<std::string> kFamily = {"sh", "-c", "sleep 100 & sleep 100 & echo started; wait"};

}  // namespace

TEST_CASE("a child's stdout and stderr are appended to its log, and its exit code is kept",
          "[experiments][process]") {
  TempDir dir;
  const std::string log = dir.path + "/logs/nested/app.log";
  for (const std::string run : {"first", "second"}) {
    Process app = Start({.name = "app",
                         .argv = {"sh", "-c", "echo out $0; echo err >&2; exit 3", run},
                         .log_path = log});
    CHECK(app.Wait(20s) == 3);
    CHECK(app.ExitCode() == 3);
    CHECK_FALSE(app.Running());
  }
  CHECK(ReadFile(log) == "out first\nerr\nout second\nerr\n");
}

TEST_CASE("with a stdout pipe, stdout goes into it alone and stderr to the log",
          "[experiments][process]") {
  TempDir dir;
  Process client = Start({.name = "client",
                          .argv = {"sh", "-c", "echo '{\"type\":\"ok\"}'; echo progress >&2"},
                          .log_path = dir.path + "/client.log",
                          .stdout_pipe = true});
  Descriptor out = client.TakeStdout();
  REQUIRE(out);
  CHECK_FALSE(client.TakeStdout());  // the pipe has one owner
  REQUIRE(client.Wait(20s) == 0);
  // The child has gone, so the pipe holds all it wrote and then its end.
  std::string read;
  char buffer[256];
  ssize_t n = 0;
  while ((n = ::read(out.get(), buffer, sizeof buffer)) > 0) read.append(buffer, n);
  CHECK(n == 0);
  CHECK(read == "{\"type\":\"ok\"}\n");
  CHECK(ReadFile(dir.path + "/client.log") == "progress\n");
}

TEST_CASE("a stdout pipe does not block its reader", "[experiments][process]") {
  TempDir dir;
  // The child writes nothing until told to end: a read finds nothing and returns at once.
  Process quiet = Start({.name = "quiet",
                         .argv = {"sleep", "30"},
                         .log_path = dir.path + "/quiet.log",
                         .stdout_pipe = true});
  Descriptor out = quiet.TakeStdout();
  char byte = 0;
  CHECK(::read(out.get(), &byte, 1) == -1);
  CHECK(errno == EAGAIN);
  quiet.Stop(2s);
}

TEST_CASE("a child gets the runner's environment plus the spec's, in its working directory",
          "[experiments][process]") {
  TempDir dir;
  Process env =
      Start({.name = "env",
             .argv = {"sh", "-c", "echo \"$FAULTLINE_ADDED|$HOME|${PATH:+has path}\"; pwd -P"},
             .env = {{"FAULTLINE_ADDED", "added"}, {"HOME", "/replaced"}},
             .cwd = dir.path,
             .log_path = dir.path + "/env.log"});
  REQUIRE(env.Wait(20s) == 0);
  CHECK(ReadFile(dir.path + "/env.log") ==
        "added|/replaced|has path\n" + std::filesystem::canonical(dir.path).string() + "\n");
}

TEST_CASE("argv[0] reaches the program as given, and a relative path starts in cwd",
          "[experiments][process]") {
  TempDir dir;
  Process cat = Start(
      {.name = "cat", .argv = {"cat", "/proc/self/cmdline"}, .log_path = dir.path + "/cat.log"});
  REQUIRE(cat.Wait(20s) == 0);
  CHECK(ReadFile(dir.path + "/cat.log") == std::string("cat\0/proc/self/cmdline\0", 23));

  std::ofstream(dir.path + "/tool.sh") << "#!/bin/sh\necho tool ran in \"$(pwd -P)\"\n";
  std::filesystem::permissions(dir.path + "/tool.sh", std::filesystem::perms::owner_all);
  Process tool = Start(
      {.name = "tool", .argv = {"./tool.sh"}, .cwd = dir.path, .log_path = dir.path + "/tool.log"});
  REQUIRE(tool.Wait(20s) == 0);
  CHECK(ReadFile(dir.path + "/tool.log") ==
        "tool ran in " + std::filesystem::canonical(dir.path).string() + "\n");
}

TEST_CASE("a program that cannot be run is an error that names it", "[experiments][process]") {
  const auto missing = Process::Start({.name = "store", .argv = {"faultline-no-such-program"}});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.message() == "store: program 'faultline-no-such-program' not found in PATH");

  const auto absent = Process::Start({.name = "store", .argv = {"/nonexistent/kvstore"}});
  REQUIRE_FALSE(absent.ok());
  CHECK(absent.message() == "store: cannot run /nonexistent/kvstore: No such file or directory");

  const auto directory = Process::Start({.name = "store", .argv = {"/tmp"}});
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.message() == "store: cannot run /tmp: a directory");

  const auto nothing = Process::Start({.name = "store"});
  REQUIRE_FALSE(nothing.ok());
  CHECK(nothing.message() == "store: no program to run");
}

TEST_CASE("a program the kernel cannot execute is an error, and leaves no zombie",
          "[experiments][process]") {
  TempDir dir;
  std::ofstream(dir.path + "/junk") << "neither ELF nor #!\n";
  std::filesystem::permissions(dir.path + "/junk", std::filesystem::perms::owner_all);
  const std::size_t zombies = ZombieChildren();
  const auto started = Process::Start({.name = "junk", .argv = {dir.path + "/junk"}});
  REQUIRE_FALSE(started.ok());
  CHECK(started.message() == "junk: cannot start " + dir.path + "/junk: Exec format error");
  CHECK(ZombieChildren() == zombies);
}

TEST_CASE("a working directory that does not exist is an error", "[experiments][process]") {
  const auto started =
      Process::Start({.name = "store", .argv = {"true"}, .cwd = "/nonexistent/dir"});
  REQUIRE_FALSE(started.ok());
  CHECK(started.message() == "store: working directory /nonexistent/dir does not exist");
}

TEST_CASE("a log file that cannot be created is an error", "[experiments][process]") {
  TempDir dir;
  std::ofstream(dir.path + "/file") << "in the way\n";
  const auto started =
      Process::Start({.name = "store", .argv = {"true"}, .log_path = dir.path + "/file/x.log"});
  REQUIRE_FALSE(started.ok());
  CHECK_THAT(started.message(), Catch::StartsWith("store: cannot create " + dir.path + "/file"));
}

TEST_CASE("a child leads its own group, with default signals and no descriptor of ours",
          "[experiments][process]") {
  TempDir dir;
  // What a runner might have: an ignored and a blocked signal, a descriptor without CLOEXEC.
  ::signal(SIGUSR2, SIG_IGN);
  sigset_t blocked, saved;
  ::sigemptyset(&blocked);
  ::sigaddset(&blocked, SIGUSR1);
  ::sigprocmask(SIG_BLOCK, &blocked, &saved);
  const int leaked = ::open("/dev/null", O_RDONLY);

  // The child reads its own signal state (a shell would block signals now and then).
  Process signals = Start({.name = "signals",
                           .argv = {"grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"},
                           .log_path = dir.path + "/signals.log"});
  Process files = Start({.name = "files",
                         .argv = {"sh", "-c", "ls /proc/$$/fd; echo group $(ps -o pgid= -p $$)"},
                         .log_path = dir.path + "/files.log"});
  ::close(leaked);
  ::sigprocmask(SIG_SETMASK, &saved, nullptr);
  ::signal(SIGUSR2, SIG_DFL);

  REQUIRE(signals.Wait(20s) == 0);
  CHECK(ReadFile(dir.path + "/signals.log") ==
        "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
  REQUIRE(files.Wait(20s) == 0);
  CHECK(ReadFile(dir.path + "/files.log") ==
        "0\n1\n2\ngroup " + std::to_string(files.pid()) + "\n");
}

TEST_CASE("Running and ExitCode do not block, and a signal's exit code is 128 + the signal",
          "[experiments][process]") {
  Process sleeper = Start({.name = "sleeper", .argv = {"sleep", "100"}});
  CHECK(sleeper.Running());
  CHECK_FALSE(sleeper.ExitCode());
  CHECK_FALSE(sleeper.Wait(0ms));
  REQUIRE(sleeper.Kill().ok());
  CHECK(sleeper.Wait(20s) == 128 + SIGKILL);
  CHECK_FALSE(sleeper.Running());
  CHECK_FALSE(sleeper.Kill().ok());
  CHECK_FALSE(sleeper.Pause().ok());
}

TEST_CASE("Stop kills a program that ignores SIGTERM once the grace is over",
          "[experiments][process][stop]") {
  TempDir dir;
  Process stubborn =
      Start({.name = "stubborn",
             .argv = {"sh", "-c", "trap '' TERM; echo trapped; while :; do sleep 1; done"},
             .log_path = dir.path + "/stubborn.log"});
  AwaitLog(stubborn, "trapped");
  const pid_t group = stubborn.pid();
  const auto start = Clock::now();
  CHECK(stubborn.Stop(300ms) == 128 + SIGKILL);
  const auto took = Clock::now() - start;
  CHECK(took >= 300ms);
  CHECK(took < 10s);
  CHECK(WaitUntil([&] { return GroupGone(group); }, 10s));
}

TEST_CASE("Stop ends the whole group, background children included",
          "[experiments][process][stop]") {
  TempDir dir;
  Process family = Start({.name = "family", .argv = kFamily, .log_path = dir.path + "/f.log"});
  AwaitLog(family, "started");
  const pid_t group = family.pid();
  CHECK(LiveMembers(group).size() == 3);
  CHECK(family.Stop(10s) == 128 + SIGTERM);
  CHECK(WaitUntil([&] { return GroupGone(group); }, 10s));
}

TEST_CASE("when the leader exits, what is left of its group is killed",
          "[experiments][process][stop]") {
  TempDir dir;
  Process leaver = Start({.name = "leaver",
                          .argv = {"sh", "-c", "sleep 100 & echo started"},
                          .log_path = dir.path + "/leaver.log"});
  const pid_t group = leaver.pid();
  CHECK(leaver.Wait(20s) == 0);
  CHECK(WaitUntil([&] { return GroupGone(group); }, 10s));
}

TEST_CASE("a paused group is stopped and resumes, and Kill leaves nothing of it",
          "[experiments][process][pause]") {
  TempDir dir;
  Process family = Start({.name = "family", .argv = kFamily, .log_path = dir.path + "/f.log"});
  AwaitLog(family, "started");
  const pid_t group = family.pid();

  REQUIRE(family.Pause().ok());
  CHECK(WaitUntil([&] { return AllStopped(group); }, 10s));
  REQUIRE(family.Resume().ok());
  CHECK(WaitUntil([&] { return NoneStopped(group); }, 10s));
  CHECK(family.Running());

  REQUIRE(family.Pause().ok());
  CHECK(WaitUntil([&] { return AllStopped(group); }, 10s));
  REQUIRE(family.Kill().ok());
  CHECK(family.Wait(20s) == 128 + SIGKILL);
  CHECK(WaitUntil([&] { return GroupGone(group); }, 10s));
}

TEST_CASE("Stop continues a paused group so that it can end on SIGTERM",
          "[experiments][process][pause]") {
  TempDir dir;
  Process family = Start({.name = "family", .argv = kFamily, .log_path = dir.path + "/f.log"});
  AwaitLog(family, "started");
  const pid_t group = family.pid();
  REQUIRE(family.Pause().ok());
  CHECK(WaitUntil([&] { return AllStopped(group); }, 10s));
  CHECK(family.Stop(10s) == 128 + SIGTERM);
  CHECK(WaitUntil([&] { return GroupGone(group); }, 10s));
}

TEST_CASE("a Process going out of scope stops its group", "[experiments][process][stop]") {
  TempDir dir;
  pid_t group = 0;
  {
    Process family = Start({.name = "family", .argv = kFamily, .log_path = dir.path + "/f.log"});
    AwaitLog(family, "started");
    group = family.pid();
    REQUIRE(family.Pause().ok());
  }
  CHECK(WaitUntil([&] { return GroupGone(group); }, 10s));
}

TEST_CASE("a runner killed with SIGKILL leaves nothing of its services behind",
          "[experiments][reaper]") {
  // The runner alone, or its whole process group (as a CI timeout might).
  const bool whole_group = GENERATE(false, true);
  TempDir dir;
  Background runner({REAPER_RUNNER, dir.path, "2"});
  REQUIRE(runner.WaitForOutput("ready\n", 60s));
  const std::string output = runner.Output();
  pid_t watchdog = 0;
  REQUIRE(RE2::PartialMatch(output, R"(watchdog ([0-9]+))", &watchdog));
  std::vector<pid_t> groups;
  const RE2 group_line(R"(group ([0-9]+))");
  re2::StringPiece rest(output);
  for (pid_t group = 0; RE2::FindAndConsume(&rest, group_line, &group);) groups.push_back(group);
  REQUIRE(groups.size() == 2);
  for (pid_t group : groups) CHECK(LiveMembers(group).size() >= 2);  // the shell and its child
  CHECK(WaitUntil([&] { return AllStopped(groups.front()); }, 10s));

  ::kill(whole_group ? -runner.pid() : runner.pid(), SIGKILL);
  REQUIRE(runner.Wait(20s) == 128 + SIGKILL);
  for (pid_t group : groups) CHECK(WaitUntil([&] { return GroupGone(group); }, 10s));
  CHECK(WaitUntil([&] { return GroupGone(watchdog); }, 10s));
}

TEST_CASE("the watchdog ignores terminal signals, has its own group and none of our files",
          "[experiments][reaper]") {
  auto reaper = Reaper::Start();
  REQUIRE(reaper.ok());
  const std::string proc = "/proc/" + std::to_string(reaper->watchdog_pid());
  const unsigned long terminal_signals = (1UL << (SIGINT - 1)) | (1UL << (SIGTERM - 1)) |
                                         (1UL << (SIGHUP - 1)) | (1UL << (SIGQUIT - 1));
  const auto ignored = [&] {
    unsigned long mask = 0;
    const std::string status = ReadFile(proc + "/status");
    return RE2::PartialMatch(status, R"(SigIgn:\s*([0-9a-f]+))", RE2::Hex(&mask)) &&
           (mask & terminal_signals) == terminal_signals;
  };
  const auto descriptors = [&] {
    std::vector<std::string> open;
    for (const auto& fd : std::filesystem::directory_iterator(proc + "/fd")) {
      open.push_back(fd.path().filename().string() + " " +
                     std::filesystem::read_symlink(fd.path()).string());
    }
    std::sort(open.begin(), open.end());
    return open;
  };
  // Set up by the watchdog itself, right after the fork.
  REQUIRE(WaitUntil([&] { return ignored() && descriptors().size() == 4; }, 10s));
  CHECK(ReadStat(reaper->watchdog_pid()).value().group == reaper->watchdog_pid());
  const std::vector<std::string> open = descriptors();
  CHECK(open[0] == "0 /dev/null");
  CHECK(open[1] == "1 /dev/null");
  CHECK(open[2] == "2 /dev/null");
  CHECK_THAT(open[3], Catch::StartsWith("3 socket:"));
  CHECK(reaper->Alive());
}

TEST_CASE("the watchdog removes the files still registered with it when the runner ends",
          "[experiments][reaper][tables]") {
  TempDir dir;
  const std::string kept = dir.path + "/kept";
  const std::string removed = dir.path + "/removed";
  const std::string forgotten = dir.path + "/forgotten";
  {
    auto reaper = Reaper::Start();
    REQUIRE(reaper.ok());
    REQUIRE(reaper->RegisterFile(removed));
    REQUIRE(reaper->RegisterFile(forgotten));
    REQUIRE(reaper->RegisterFile(dir.path + "/never-created"));  // harmless
    CHECK_FALSE(reaper->RegisterFile(""));
    CHECK_FALSE(reaper->RegisterFile(std::string(PATH_MAX + 1, 'x')));
    for (const std::string& path : {kept, removed, forgotten}) std::ofstream(path) << "table";
    reaper->ForgetFile(forgotten);
    CHECK(std::filesystem::exists(removed));
  }  // the runner's end of the channel closes; the watchdog is waited for
  CHECK_FALSE(std::filesystem::exists(removed));
  CHECK(std::filesystem::exists(forgotten));
  CHECK(std::filesystem::exists(kept));
}

TEST_CASE("nothing is started once the reaper is gone", "[experiments][reaper]") {
  auto reaper = Reaper::Start();
  REQUIRE(reaper.ok());
  ::kill(reaper->watchdog_pid(), SIGKILL);
  REQUIRE(WaitUntil([&] { return !reaper->Alive(); }, 10s));
  const auto started = Process::Start({.name = "store", .argv = {"true"}}, &*reaper);
  REQUIRE_FALSE(started.ok());
  CHECK_THAT(started.message(), Catch::Contains("the reaper"));
}

TEST_CASE("the reaper refuses to start once the process has threads", "[experiments][reaper]") {
  std::promise<void> release;
  std::thread waiting([done = release.get_future()]() mutable { done.wait(); });
  const auto reaper = Reaper::Start();
  release.set_value();
  waiting.join();
  REQUIRE_FALSE(reaper.ok());
  CHECK_THAT(reaper.message(), Catch::Contains("before any thread"));
}
