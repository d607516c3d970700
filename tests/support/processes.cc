#include "support/processes.h"

#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace faultline::testing {

bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// "PID (COMM) STATE PPID PGRP ...", COMM possibly holding spaces.
std::optional<ProcStat> ReadStat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream text;
  text << in.rdbuf();
  const std::string stat = text.str();
  const auto end_of_name = stat.rfind(')');
  if (end_of_name == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(end_of_name + 1));
  ProcStat parsed;
  fields >> parsed.state >> parsed.parent >> parsed.group;
  return parsed;
}

std::vector<std::pair<pid_t, ProcStat>> Processes() {
  std::vector<std::pair<pid_t, ProcStat>> processes;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (const auto stat = ReadStat(pid)) processes.emplace_back(pid, *stat);
  }
  return processes;
}

std::vector<pid_t> LiveMembers(pid_t group) {
  std::vector<pid_t> members;
  for (const auto& [pid, stat] : Processes()) {
    if (stat.group == group && stat.state != 'Z') members.push_back(pid);
  }
  return members;
}

bool GroupGone(pid_t group) {
  if (::kill(-group, 0) == -1 && errno == ESRCH) return true;
  return LiveMembers(group).empty();
}

}  // namespace faultline::testing
