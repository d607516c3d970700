#pragma once
// The hold board: every hold that is parking traffic right now, and the named points holds
// wait on. Shared by all proxies of a server, so a hold on one proxy can wait for a point on
// another ("B's message passes before A's"). Thread-safe: data-path threads park and reach
// points, the API lists and releases.
//
// A hold is released exactly once: by its timeout, by the API, or by its point. Whichever
// comes first removes it from the board and calls its releaser; the others find it gone.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faultline::proxy {

struct HoldInfo {
  std::uint64_t id = 0;  // assigned by Park, unique for the server's life
  std::string proxy;
  std::string toxic;
  std::string direction;
  std::uint64_t connection = 0;
  std::int64_t since_us = 0;        // wall clock, µs since the Unix epoch
  std::string release_on;           // the point it waits for, "" if none
  std::uint64_t release_after = 0;  // ...reached this many times
};

class HoldBoard {
 public:
  // Runs the release; called from any thread, so it must hand over to the hold's own thread.
  using Releaser = std::function<void(const std::string& reason)>;

  // Registers a parked hold and returns its id. If it waits for a point that has already
  // been reached often enough, it is released at once (the releaser runs before Park
  // returns).
  std::uint64_t Park(HoldInfo info, Releaser release);
  // The hold let go by itself (its timeout, or its connection went away). False if it had
  // already been released by someone else.
  bool Unpark(std::uint64_t id);

  std::vector<HoldInfo> List() const;
  bool Holding(std::string_view proxy, std::string_view toxic) const;
  // Releases the oldest hold of proxy/toxic, or the one on `connection`, or all of them.
  // Returns what it released (empty: nothing was held there).
  std::vector<HoldInfo> Release(std::string_view proxy, std::string_view toxic,
                                std::optional<std::uint64_t> connection, bool all);

  // Marks "proxy/toxic" reached once more and releases the holds waiting for that count.
  void Reach(const std::string& point);
  std::uint64_t reached(const std::string& point) const;
  // Numbers the times a hold catches traffic: 1, 2, 3... per "proxy/toxic".
  std::uint64_t NextCatch(const std::string& hold);
  // Forgets the counters of one toxic ("proxy/toxic"), or of every toxic of a proxy
  // ("proxy/"), or everything (""), so a re-created toxic starts counting from zero.
  void Forget(std::string_view prefix);

 private:
  struct Parked {
    HoldInfo info;
    Releaser release;
  };
  // Collects, under the lock, the holds whose point has been reached often enough.
  void TakeDue(const std::string& point, std::vector<Parked>& due);

  mutable std::mutex mutex_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Parked> parked_;  // by id: oldest first
  std::map<std::string, std::uint64_t, std::less<>> reached_;
  std::map<std::string, std::uint64_t, std::less<>> catches_;
};

}  // namespace faultline::proxy
