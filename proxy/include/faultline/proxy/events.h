#pragma once
// The event log: every fault decision the proxy makes (a frame dropped, a hold taken and
// released, a connection refused...) with its time, place and sequence number, so a run can
// be explained and replayed. Kept in memory for GET /events?since=N and, optionally, written
// as JSON lines to a file. Appending is thread-safe and cheap: data-path threads call it.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "faultline/core/result.h"

namespace faultline::proxy {

struct Event {
  std::uint64_t seq = 0;     // 1, 2, 3... in the order decisions were made
  std::int64_t time_us = 0;  // wall clock, µs since the Unix epoch
  std::string proxy;
  std::uint64_t connection = 0;        // the proxy's k-th connection (UDP: k-th client flow)
  std::string direction;               // "upstream", "downstream", or "" for the whole connection
  std::optional<std::uint64_t> frame;  // 1-based frame index, when the decision is per frame
  std::string toxic;
  std::string action;  // "drop", "duplicate", "hold", "release", "refuse"...
  std::string detail;  // free text: why, how long, which point
};

boost::json::object ToJson(const Event& event);

class EventLog {
 public:
  static constexpr std::size_t kDefaultCapacity = 100'000;

  explicit EventLog(std::size_t capacity = kDefaultCapacity);
  // Also appends each event to `path` as one JSON line, flushed as it is written.
  core::Status WriteTo(const std::string& path);

  // Stamps seq and, if unset, the time. Returns the seq.
  std::uint64_t Append(Event event);
  // Events with seq > since, oldest first, at most `limit`. Older events beyond the capacity
  // are gone from memory (the file keeps them).
  std::vector<Event> Since(std::uint64_t since, std::size_t limit) const;
  std::uint64_t last_seq() const;

 private:
  mutable std::mutex mutex_;
  std::size_t capacity_;
  std::deque<Event> events_;
  std::uint64_t next_seq_ = 1;
  std::ofstream file_;
};

}  // namespace faultline::proxy
