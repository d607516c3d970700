#pragma once
// Runs a real program for a test: extra environment, captured output, and a deadline after
// which it is killed (so a hung program fails the test instead of hanging it). Started
// programs can also be left running and stopped later.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "faultline/core/free_port.h"  // FreeLoopbackPort, for the servers tests start

namespace faultline::testing {

struct Ran {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
  bool timed_out = false;
};

// `env` entries (NAME=value) are added to the test's own environment.
Ran RunProgram(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A fresh directory under /tmp, removed with everything in it on destruction.
struct TempDir {
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path;
};

// A program running in the background, its stdout and stderr going to a file. Killed (its
// process group) on destruction.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  pid_t pid() const { return pid_; }
  // Waits for it to exit; -1 on timeout.
  int Wait(std::chrono::milliseconds timeout);
  // Everything it has written so far.
  std::string Output() const;
  // Waits until its output contains `text`; false on timeout or exit.
  bool WaitForOutput(const std::string& text, std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
};

}  // namespace faultline::testing
