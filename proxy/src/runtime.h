#pragma once
// Private plumbing shared by the server, its proxies and their sessions.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "asio_clock.h"
#include "faultline/proxy/events.h"
#include "faultline/proxy/holds.h"
#include "faultline/proxy/server.h"
#include "faultline/proxy/toxic.h"

namespace faultline::proxy {

// Who owns what, on which thread. The server's control loop runs the API's changes and owns
// the proxies (ProxyInstance) and their listeners; each worker loop runs a share of the
// connections (Session) and UDP relays, with their sockets, stages and timers. An object
// bound to a loop is touched only from that loop's thread, and it is destroyed there too:
// the shared_ptr that OwnedBy returns hands the last release to the loop as a task of its
// own. So a broadcast, a hold released from the API thread or a handler on another loop may
// hold a reference for as long as it likes; whoever lets go last, the object never dies on
// the wrong thread or inside one of its own call chains (a stage's timer callback, say).
template <typename T>
std::shared_ptr<T> OwnedBy(boost::asio::io_context& loop, T* object) {
  return std::shared_ptr<T>(object, [&loop](T* released) {
    // A loop that no longer runs destroys its pending tasks, and so the object, with itself.
    boost::asio::post(loop, [owned = std::unique_ptr<T>(released)]() mutable { owned.reset(); });
  });
}

// Hands tasks to a loop from threads that may outlive it (a name lookup that answers late):
// once the loop's owner has closed the mailbox, a task is dropped where it was posted.
class Mailbox {
 public:
  explicit Mailbox(boost::asio::io_context& loop) : loop_(&loop) {}
  void Post(std::function<void()> task) {
    std::lock_guard lock(mutex_);
    if (loop_ != nullptr) boost::asio::post(*loop_, std::move(task));
  }
  void Close() {
    std::lock_guard lock(mutex_);
    loop_ = nullptr;
  }

 private:
  std::mutex mutex_;
  boost::asio::io_context* loop_;
};

// One data-path thread: an io_context that only it runs, and the clock for its timers.
struct Worker {
  Worker() : clock(context), guard(boost::asio::make_work_guard(context)) {}
  boost::asio::io_context context{1};
  AsioClock clock;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  std::shared_ptr<Mailbox> mailbox = std::make_shared<Mailbox>(context);
  std::thread thread;
};

// The toxics of one proxy, per direction, in chain order. Immutable once published.
struct ToxicSet {
  std::vector<ToxicSpec> upstream;
  std::vector<ToxicSpec> downstream;
  const std::vector<ToxicSpec>& For(Stream s) const {
    return s == Stream::kUpstream ? upstream : downstream;
  }
  std::vector<ToxicSpec>& For(Stream s) { return s == Stream::kUpstream ? upstream : downstream; }
};

// Metric families, registered once per server; handles are resolved once per proxy.
struct MetricFamilies {
  prometheus::Family<prometheus::Counter>* bytes = nullptr;
  prometheus::Family<prometheus::Gauge>* connections_active = nullptr;
  prometheus::Family<prometheus::Counter>* connections_total = nullptr;
  prometheus::Family<prometheus::Counter>* toxic_activations = nullptr;
};

struct ProxyMetrics {
  prometheus::Counter* bytes_upstream = nullptr;
  prometheus::Counter* bytes_downstream = nullptr;
  prometheus::Gauge* connections_active = nullptr;
  prometheus::Counter* connections_total = nullptr;
  prometheus::Family<prometheus::Counter>* toxic_activations = nullptr;
};

// What every proxy needs from the server that owns it.
struct Runtime {
  boost::asio::io_context& control;
  std::vector<std::unique_ptr<Worker>>& workers;
  Lookup lookup;
  std::uint64_t seed;
  MetricFamilies families;
  EventLog* events = nullptr;
  HoldBoard* holds = nullptr;
  std::atomic<std::size_t> next_worker{0};

  Worker& PickWorker() { return *workers[next_worker++ % workers.size()]; }
};

// Counts down acknowledgements from worker threads; waiting is bounded so a wedged
// connection can never wedge the API (Toxiproxy's removal hang).
class Countdown {
 public:
  explicit Countdown(std::size_t n) : remaining_(n) {}
  void Done() {
    std::lock_guard lock(mutex_);
    if (remaining_ > 0 && --remaining_ == 0) done_.notify_all();
  }
  bool WaitFor(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex_);
    return done_.wait_for(lock, limit, [this] { return remaining_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  std::size_t remaining_;
};

}  // namespace faultline::proxy
