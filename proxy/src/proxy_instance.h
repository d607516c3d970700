#pragma once
// One named proxy: its listener, its live sessions and its current toxic set. Listener
// operations run on the control thread; sessions run on workers and report back through
// Remove(), which is thread-safe. A UDP proxy has a UdpRelay instead of the listener and
// sessions; the methods below delegate to it.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "faultline/core/result.h"
#include "runtime.h"

namespace faultline::proxy {

class Session;
class UdpRelay;

class ProxyInstance final : public std::enable_shared_from_this<ProxyInstance> {
 public:
  ProxyInstance(Runtime& runtime, ProxySpec spec, ProxyMetrics metrics);
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
  const std::vector<boost::asio::ip::tcp::endpoint>& upstream_endpoints() const {
    return upstream_endpoints_;
  }
  const ProxyMetrics& metrics() const { return metrics_; }
  Runtime& runtime() { return runtime_; }

  void Remove(const std::shared_ptr<Session>& session);

 private:
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
  std::vector<boost::asio::ip::tcp::endpoint> upstream_endpoints_;
  std::uint64_t connections_ = 0;

  mutable std::mutex mutex_;  // guards what workers touch: sessions_, toxics_
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions_;
  std::shared_ptr<const ToxicSet> toxics_;
};

// "host:port" -> parts; accepts "[v6]:port" and ":port" (all interfaces).
struct HostPort {
  std::string host;
  std::string port;
};
core::Result<HostPort> SplitHostPort(std::string_view text);
std::string FormatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);
// Resolves "host:port" through the runtime's resolver into endpoints.
core::Result<std::vector<boost::asio::ip::tcp::endpoint>> ResolveEndpoints(
    const Resolver& resolver, std::string_view what, std::string_view address);

}  // namespace faultline::proxy
