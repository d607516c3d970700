#pragma once
// One named proxy: its listener, its live sessions and its current toxic set. Listener
// operations run on the control thread; sessions run on workers and report back through
// Remove(), which is thread-safe. Made only by Create, bound to the control loop (OwnedBy in
// runtime.h): its sessions hold it, and whichever lets go last, it dies on the control thread. A
// UDP proxy has a UdpRelay instead of the listener and sessions; the methods below delegate to it.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "faultline/core/result.h"
#include "faultline/proxy/lookup.h"
#include "runtime.h"

namespace faultline::proxy {

class Session;
class UdpRelay;

// A proxy's upstream. An IP address (or localhost) is fixed when the proxy is made; a name is
// looked up for each connection, as Toxiproxy dials it: a service that moves is followed, and
// a name that does not resolve fails that connection, not the API call, which never waits for
// DNS. One lookup at a time: connections that arrive while one runs share its answer.
class Upstream final : public std::enable_shared_from_this<Upstream> {
 public:
  using Endpoints = std::vector<boost::asio::ip::tcp::endpoint>;
  using Done = std::function<void(const core::Result<Endpoints>&)>;

  // "host:port"; malformed, or port 0, is an error (400).
  static core::Result<std::shared_ptr<Upstream>> Parse(std::string_view address, Lookup lookup);

  const std::string& address() const { return address_; }  // as given: "host:port"
  // The endpoints when they are fixed; null when each connection looks the name up.
  const Endpoints* fixed() const { return fixed_ ? &*fixed_ : nullptr; }
  // Looks the name up on a thread of its own, within a bound, and calls `done` there (IPv4
  // addresses first: most services listen on 127.0.0.1 rather than ::1).
  void Resolve(Done done);

 private:
  Upstream(std::string address, std::string host, std::string port, Lookup lookup)
      : address_(std::move(address)),
        host_(std::move(host)),
        port_(std::move(port)),
        lookup_(std::move(lookup)) {}

  const std::string address_;
  const std::string host_;
  const std::string port_;
  const Lookup lookup_;
  std::optional<Endpoints> fixed_;
  std::mutex mutex_;
  std::vector<Done> waiting_;  // while a lookup runs
};

class ProxyInstance final : public std::enable_shared_from_this<ProxyInstance> {
 public:
  static std::shared_ptr<ProxyInstance> Create(Runtime& runtime, ProxySpec spec,
                                               ProxyMetrics metrics);
  ~ProxyInstance();

  // Binds and starts accepting (control thread). Errors carry an HTTP status.
  core::Status Start();
  // Closes the listener and every connection (control thread); returns once the sessions
  // have closed, or after a bounded wait.
  void Stop();

  // Publishes a new toxic set and applies it to every live connection before returning.
  void SetToxics(std::shared_ptr<const ToxicSet> toxics);
  std::shared_ptr<const ToxicSet> toxics() const;

  const std::string& name() const { return spec_.name; }
  const ProxySpec& spec() const { return spec_; }
  bool running() const { return acceptor_.has_value() || relay_ != nullptr; }
  // The address clients connect to: the bound one while running, else as configured.
  std::string listen_address() const;
  // Valid while the proxy runs.
  Upstream& upstream() { return *upstream_; }
  const ProxyMetrics& metrics() const { return metrics_; }
  Runtime& runtime() { return runtime_; }

  void Remove(const Session* session);

  // What the proxy's connections hold in user space (toxics and unsent output), against
  // kProxyBudget; each direction adds and takes back its own share.
  void AddBuffered(std::int64_t delta) { buffered_.fetch_add(delta, std::memory_order_relaxed); }
  std::size_t buffered() const {
    const auto b = buffered_.load(std::memory_order_relaxed);
    return b > 0 ? static_cast<std::size_t>(b) : 0;
  }

 private:
  ProxyInstance(Runtime& runtime, ProxySpec spec, ProxyMetrics metrics);
  core::Status StartUdp(const boost::asio::ip::tcp::endpoint& listen);
  void Accept();
  void Broadcast(void (*action)(Session&, const std::shared_ptr<const ToxicSet>&),
                 const std::shared_ptr<const ToxicSet>& toxics);

  Runtime& runtime_;
  ProxySpec spec_;
  ProxyMetrics metrics_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::shared_ptr<UdpRelay> relay_;  // while a UDP proxy runs
  boost::asio::ip::tcp::endpoint bound_;
  boost::asio::steady_timer retry_timer_;
  std::shared_ptr<Upstream> upstream_;
  std::uint64_t connections_ = 0;
  std::atomic<std::int64_t> buffered_{0};

  mutable std::mutex mutex_;  // guards what workers touch: sessions_, toxics_
  std::unordered_map<const Session*, std::shared_ptr<Session>> sessions_;
  std::shared_ptr<const ToxicSet> toxics_;
};

// "host:port" -> parts; accepts "[v6]:port" and ":port" (all interfaces).
struct HostPort {
  std::string host;
  std::string port;
};
core::Result<HostPort> SplitHostPort(std::string_view text);
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);
// Looks "host:port" up within a bound into endpoints, IPv4 first; an empty host is every
// interface. Errors name `what` and carry 400.
core::Result<std::vector<boost::asio::ip::tcp::endpoint>> ResolveEndpoints(
    const Lookup& lookup, std::string_view what, std::string_view address);

}  // namespace faultline::proxy
