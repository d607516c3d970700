#include "faultline/experiments/run_dir.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <sstream>

namespace faultline::experiments {
namespace {

namespace fs = std::filesystem;
namespace bj = boost::json;

std::string Stamp(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%S", &utc);
  return text;
}

RunSummary Summarise(const fs::path& dir, const std::string& experiment) {
  RunSummary summary;
  summary.path = dir.string();
  summary.experiment = experiment;
  summary.id = dir.filename().string();
  summary.verdict = "incomplete";
  if (auto seed = ReadRunSeed(dir.string())) summary.seed = *seed;
  const auto text = ReadRunFile(dir.string(), "result.json");
  if (!text) return summary;
  boost::system::error_code ec;
  const bj::value result = bj::parse(*text, ec);
  if (ec || !result.is_object()) return summary;
  const bj::object& object = result.as_object();
  if (const auto* verdict = object.if_contains("verdict"); verdict && verdict->is_string()) {
    summary.verdict = std::string(verdict->as_string());
  }
  if (const auto* duration = object.if_contains("duration_seconds");
      duration && duration->is_number()) {
    summary.duration_seconds = duration->to_number<double>();
  }
  if (const auto* violations = object.if_contains("violations");
      violations && violations->is_array()) {
    for (const bj::value& violation : violations->as_array()) {
      if (!violation.is_object()) continue;
      if (const auto* name = violation.as_object().if_contains("invariant");
          name && name->is_string()) {
        summary.violated.emplace_back(name->as_string());
      }
    }
  }
  return summary;
}

}  // namespace

RunDir::RunDir(std::string path, std::string id)
    : path_(std::move(path)),
      id_(std::move(id)),
      events_mutex_(std::make_unique<std::mutex>()),
      events_(std::make_unique<std::ofstream>(path_ + "/events.jsonl", std::ios::app)) {}

RunDir::RunDir(RunDir&&) noexcept = default;
RunDir& RunDir::operator=(RunDir&&) noexcept = default;
RunDir::~RunDir() = default;

core::Result<RunDir> RunDir::Create(const std::string& root, const std::string& experiment,
                                    std::uint64_t seed,
                                    std::chrono::system_clock::time_point start) {
  std::error_code ec;
  // Absolute, so {{run.dir}} and FAULTLINE_RUN_DIR mean the same in a service that runs in the
  // spec's directory as in the runner.
  const fs::path parent = fs::absolute(fs::path(root) / experiment, ec).lexically_normal();
  if (ec) return core::MakeError("cannot find " + root + ": " + ec.message());
  fs::create_directories(parent, ec);
  if (ec) return core::MakeError("cannot create " + parent.string() + ": " + ec.message());
  const std::string base = Stamp(start) + "-" + std::to_string(seed);
  for (int attempt = 1; attempt < 1000; ++attempt) {
    const std::string id = attempt == 1 ? base : base + "." + std::to_string(attempt);
    const fs::path dir = parent / id;
    // create_directory reports whether it made the directory: the claim is atomic.
    if (!fs::create_directory(dir, ec)) {
      if (ec) return core::MakeError("cannot create " + dir.string() + ": " + ec.message());
      continue;
    }
    fs::create_directory(dir / "logs", ec);
    if (ec)
      return core::MakeError("cannot create " + (dir / "logs").string() + ": " + ec.message());
    RunDir run(dir.string(), id);
    if (!*run.events_) return core::MakeError("cannot write " + run.File("events.jsonl"));
    if (auto ok = run.Write("seed", std::to_string(seed) + "\n"); !ok) return ok.error();
    return run;
  }
  return core::MakeError("too many runs named " + base + " in " + parent.string());
}

std::string RunDir::File(const std::string& name) const { return path_ + "/" + name; }

std::string RunDir::LogPath(const std::string& service) const {
  return path_ + "/logs/" + service + ".log";
}

core::Status RunDir::Write(const std::string& name, const std::string& text) const {
  return WriteRunFile(path_, name, text);
}

void RunDir::Event(double seconds, const boost::json::object& event) {
  // "time" first and in plain decimal to the microsecond, so that the log reads well as it
  // grows (Boost.JSON would write 2.5E-1).
  char time[40];
  std::snprintf(time, sizeof time, "{\"time\":%.6f", seconds);
  std::string text = time;
  if (event.contains("time")) {
    bj::object rest = event;
    rest.erase("time");
    text += bj::serialize(rest);
  } else {
    text += bj::serialize(event);
  }
  // The object's own "{": a comma after the time, or nothing if the object was empty.
  const std::size_t brace = std::strlen(time);
  text.replace(brace, 1, text.size() > brace + 2 ? "," : "");
  text += "\n";
  std::lock_guard lock(*events_mutex_);
  *events_ << text;
  events_->flush();
}

std::vector<RunSummary> ListRuns(const std::string& root,
                                 const std::optional<std::string>& experiment) {
  std::vector<RunSummary> runs;
  std::error_code ec;
  for (const auto& group : fs::directory_iterator(root, ec)) {
    if (!group.is_directory()) continue;
    const std::string name = group.path().filename().string();
    if (experiment && name != *experiment) continue;
    for (const auto& dir : fs::directory_iterator(group.path(), ec)) {
      if (dir.is_directory() && fs::exists(dir.path() / "seed")) {
        runs.push_back(Summarise(dir.path(), name));
      }
    }
  }
  // The id starts with the UTC time, so its order is the runs' order.
  std::sort(runs.begin(), runs.end(), [](const RunSummary& a, const RunSummary& b) {
    return std::pair(a.id, a.experiment) < std::pair(b.id, b.experiment);
  });
  return runs;
}

std::optional<std::string> ReadRunFile(const std::string& run_dir, const std::string& name) {
  std::ifstream in(fs::path(run_dir) / name, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

core::Status WriteRunFile(const std::string& run_dir, const std::string& name,
                          const std::string& text) {
  const fs::path target = fs::path(run_dir) / name;
  const fs::path temporary = target.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return core::MakeError("cannot write " + temporary.string());
  }
  std::error_code ec;
  fs::rename(temporary, target, ec);
  if (ec) return core::MakeError("cannot write " + target.string() + ": " + ec.message());
  return core::Ok();
}

core::Result<RunEvents> ReadRunEvents(const std::string& run_dir) {
  std::ifstream in(fs::path(run_dir) / "events.jsonl");
  if (!in) return core::MakeError(run_dir + " is not a run directory (no events.jsonl)");
  RunEvents out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    bj::value value = bj::parse(line, ec);
    if (ec || !value.is_object()) {
      ++out.unreadable;
      continue;
    }
    out.events.push_back(std::move(value.as_object()));
  }
  return out;
}

core::Result<std::uint64_t> ReadRunSeed(const std::string& run_dir) {
  const auto text = ReadRunFile(run_dir, "seed");
  if (!text) return core::MakeError(run_dir + " is not a run directory (it has no seed file)");
  std::string_view digits(*text);
  while (!digits.empty() && (digits.back() == '\n' || digits.back() == ' '))
    digits.remove_suffix(1);
  std::uint64_t seed = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seed);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
    return core::MakeError(run_dir + "/seed does not hold a seed");
  }
  return seed;
}

}  // namespace faultline::experiments
