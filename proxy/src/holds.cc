#include "faultline/proxy/holds.h"

#include <chrono>

namespace faultline::proxy {
namespace {

std::int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::uint64_t HoldBoard::Park(HoldInfo info, Releaser release) {
  std::unique_lock lock(mutex_);
  info.id = next_id_++;
  if (info.since_us == 0) info.since_us = NowUs();
  const std::uint64_t id = info.id;
  if (!info.release_on.empty()) {
    auto it = reached_.find(info.release_on);
    if (it != reached_.end() && it->second >= info.release_after) {
      const std::string reason = "point " + info.release_on + " already reached";
      lock.unlock();
      release(reason);
      return id;
    }
  }
  parked_.emplace(id, Parked{std::move(info), std::move(release)});
  return id;
}

bool HoldBoard::Unpark(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  return parked_.erase(id) > 0;
}

std::vector<HoldInfo> HoldBoard::List() const {
  std::lock_guard lock(mutex_);
  std::vector<HoldInfo> out;
  out.reserve(parked_.size());
  for (const auto& [id, parked] : parked_) out.push_back(parked.info);
  return out;
}

bool HoldBoard::Holding(std::string_view proxy, std::string_view toxic) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, parked] : parked_) {
    if (parked.info.proxy == proxy && parked.info.toxic == toxic) return true;
  }
  return false;
}

std::vector<HoldInfo> HoldBoard::Release(std::string_view proxy, std::string_view toxic,
                                         std::optional<std::uint64_t> connection, bool all) {
  std::vector<Parked> released;
  {
    std::lock_guard lock(mutex_);
    for (auto it = parked_.begin(); it != parked_.end();) {
      const HoldInfo& info = it->second.info;
      const bool match = info.proxy == proxy && info.toxic == toxic &&
                         (!connection || info.connection == *connection);
      if (!match) {
        ++it;
        continue;
      }
      released.push_back(std::move(it->second));
      it = parked_.erase(it);
      if (!all) break;
    }
  }
  std::vector<HoldInfo> out;
  for (Parked& parked : released) {
    parked.release("released through the API");
    out.push_back(std::move(parked.info));
  }
  return out;
}

void HoldBoard::TakeDue(const std::string& point, std::vector<Parked>& due) {
  const std::uint64_t count = reached_[point];
  for (auto it = parked_.begin(); it != parked_.end();) {
    const HoldInfo& info = it->second.info;
    if (info.release_on == point && info.release_after <= count) {
      due.push_back(std::move(it->second));
      it = parked_.erase(it);
    } else {
      ++it;
    }
  }
}

void HoldBoard::Reach(const std::string& point) {
  std::vector<Parked> due;
  {
    std::lock_guard lock(mutex_);
    ++reached_[point];
    TakeDue(point, due);
  }
  for (Parked& parked : due) parked.release("point " + point + " reached");
}

std::uint64_t HoldBoard::reached(const std::string& point) const {
  std::lock_guard lock(mutex_);
  auto it = reached_.find(point);
  return it == reached_.end() ? 0 : it->second;
}

std::uint64_t HoldBoard::NextCatch(const std::string& hold) {
  std::lock_guard lock(mutex_);
  return ++catches_[hold];
}

void HoldBoard::Forget(std::string_view prefix) {
  std::lock_guard lock(mutex_);
  for (auto* counters : {&reached_, &catches_}) {
    for (auto it = counters->begin(); it != counters->end();) {
      const bool match = prefix.empty() || (prefix.back() == '/' ? it->first.starts_with(prefix)
                                                                 : it->first == prefix);
      it = match ? counters->erase(it) : std::next(it);
    }
  }
}

}  // namespace faultline::proxy
