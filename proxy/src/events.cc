#include "faultline/proxy/events.h"

#include <algorithm>
#include <chrono>

#include <boost/json/serialize.hpp>

namespace faultline::proxy {

boost::json::object ToJson(const Event& event) {
  boost::json::object object;
  object["seq"] = event.seq;
  object["time_us"] = event.time_us;
  object["proxy"] = event.proxy;
  object["connection"] = event.connection;
  object["direction"] = event.direction;
  if (event.frame) {
    object["frame"] = *event.frame;
  } else {
    object["frame"] = nullptr;
  }
  object["toxic"] = event.toxic;
  object["action"] = event.action;
  object["detail"] = event.detail;
  return object;
}

EventLog::EventLog(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

core::Status EventLog::WriteTo(const std::string& path) {
  std::lock_guard lock(mutex_);
  file_.open(path, std::ios::out | std::ios::app);
  if (!file_) return core::MakeError("cannot open event log '" + path + "' for writing");
  return core::Ok();
}

std::uint64_t EventLog::Append(Event event) {
  if (event.time_us == 0) {
    event.time_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  }
  std::lock_guard lock(mutex_);
  event.seq = next_seq_++;
  if (file_.is_open()) {
    file_ << boost::json::serialize(ToJson(event)) << '\n';
    file_.flush();
  }
  if (events_.size() == capacity_) events_.pop_front();
  events_.push_back(std::move(event));
  return events_.back().seq;
}

std::vector<Event> EventLog::Since(std::uint64_t since, std::size_t limit) const {
  std::lock_guard lock(mutex_);
  std::vector<Event> out;
  // Sequence numbers are dense, so the first wanted event's position is arithmetic.
  if (events_.empty()) return out;
  const std::uint64_t first = events_.front().seq;
  std::size_t index = since < first ? 0 : static_cast<std::size_t>(since - first + 1);
  for (; index < events_.size() && out.size() < limit; ++index) out.push_back(events_[index]);
  return out;
}

std::uint64_t EventLog::last_seq() const {
  std::lock_guard lock(mutex_);
  return next_seq_ - 1;
}

}  // namespace faultline::proxy
