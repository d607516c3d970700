// A runner in miniature for the reaper tests: starts a reaper, then COUNT services that each
// fork a background child, pauses the first service, prints the watchdog's pid and each
// service's process group, and waits to be killed.
//
//   reaper_runner LOG_DIR COUNT

#include <unistd.h>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "faultline/experiments/process.h"
#include "faultline/experiments/readiness.h"
#include "faultline/experiments/reaper.h"

using namespace faultline::experiments;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: reaper_runner LOG_DIR COUNT\n";
    return 2;
  }
  // First, before anything could start a thread.
  auto reaper = Reaper::Start();
  if (!reaper) {
    std::cerr << reaper.message() << "\n";
    return 3;
  }
  std::vector<Process> services;
  for (int i = 0; i < std::stoi(argv[2]); ++i) {
    const std::string name = "service" + std::to_string(i);
    auto service = Process::Start({.name = name,
                                   .argv = {"sh", "-c", "sleep 300 & echo started; sleep 300"},
                                   .log_path = std::string(argv[1]) + "/" + name + ".log"},
                                  &*reaper);
    if (!service) {
      std::cerr << service.message() << "\n";
      return 3;
    }
    // Once "started" is logged, the background child has been forked into the group.
    const ReadyCheck started{
        .kind = ReadyCheck::Kind::kLog, .target = "started", .timeout = std::chrono::seconds(10)};
    if (auto ready = WaitReady(started, *service); !ready) {
      std::cerr << ready.message() << "\n";
      return 3;
    }
    services.push_back(std::move(*service));
  }
  if (auto paused = services.front().Pause(); !paused) {
    std::cerr << paused.message() << "\n";
    return 3;
  }
  std::cout << "watchdog " << reaper->watchdog_pid() << "\n";
  for (const Process& service : services) std::cout << "group " << service.pid() << "\n";
  std::cout << "ready" << std::endl;
  for (;;) ::pause();
}
