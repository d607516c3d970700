#pragma once
// ProxyServer: the set of named TCP and UDP proxies, their toxics, and the threads that carry
// their traffic. This is what the HTTP API (api.h) and the config loader drive; every method
// is safe to call from any thread, and each change is complete when the call returns: a new
// listener is bound, a removed one is closed, and every live connection (UDP: flow) of the
// proxy runs the new toxic chain.
//
// Errors carry an HTTP status in Error::code: 400 bad input, 404 unknown proxy or toxic,
// 409 name or listen address already taken. A UDP proxy accepts only the toxics that make
// sense per datagram (latency, bandwidth, drop, duplicate, reorder; raw framing); others are
// a 400 naming the type.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faultline/core/result.h"
#include "faultline/proxy/events.h"
#include "faultline/proxy/holds.h"
#include "faultline/proxy/lookup.h"
#include "faultline/proxy/toxic.h"

namespace prometheus {
class Registry;
}

namespace faultline::proxy {

struct ProxySpec {
  std::string name;
  std::string listen = "127.0.0.1:0";  // "host:port"; port 0 picks a free one
  std::string upstream;                // "host:port"
  bool enabled = true;
  // The root of this proxy's random decisions; unset: the server's --seed.
  std::optional<std::uint64_t> seed;
  // "tcp", or "udp": relay datagrams, one flow per client address (udp_relay.h). Fixed for
  // the life of the proxy.
  std::string protocol = "tcp";
};

// A proxy as the API shows it. `spec.listen` is the bound address once enabled.
struct ProxyState {
  ProxySpec spec;
  std::vector<ToxicSpec> toxics;  // upstream chain, then downstream chain, each in order
};

struct ProxyPatch {
  std::optional<std::string> listen;
  std::optional<std::string> upstream;
  std::optional<bool> enabled;
  // Clients send the whole proxy back; the protocol may be present but must not change.
  std::optional<std::string> protocol;
};

struct ToxicPatch {
  core::Attributes attributes;  // merged over the current ones
  std::optional<double> toxicity;
  std::optional<core::Connections> target;
};

class ProxyServer {
 public:
  struct Options {
    unsigned threads = 0;    // data-path threads; 0 means one per core
    std::uint64_t seed = 0;  // root of every random decision the toxics make
    // How names become addresses (lookup.h): injected so that tests and the fuzzer never
    // touch DNS (NumericLookup). Listen addresses are looked up when a proxy starts; an
    // upstream name for each connection, off the API's thread.
    Lookup lookup = SystemLookup;
    std::shared_ptr<prometheus::Registry> metrics;  // null: a private registry
    // After handling traffic, a data-path thread keeps polling for this long before it
    // sleeps. Saves a wake-up per hop on request/response traffic at the cost of CPU
    // (like HAProxy's busy-polling). 0 (the default) never spins.
    std::chrono::microseconds busy_poll{0};
  };

  explicit ProxyServer(Options options);
  ~ProxyServer();  // closes every listener and connection, joins the threads
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Creates a proxy with its initial toxics atomically: no connection can slip in before
  // the toxics apply.
  core::Result<ProxyState> Create(ProxySpec spec, std::vector<ToxicSpec> toxics = {});
  // Toxiproxy's /populate: an existing proxy with the same listen and upstream is left as
  // it is; one that differs is replaced. Everything is validated before anything changes,
  // and if a proxy cannot start, the ones this call created are removed again.
  core::Result<std::vector<ProxyState>> Populate(std::vector<ProxyState> proxies);
  std::vector<ProxyState> List() const;
  core::Result<ProxyState> Get(std::string_view name) const;
  // Changing listen or upstream restarts the proxy (its connections close); toxics stay.
  core::Result<ProxyState> Update(std::string_view name, const ProxyPatch& patch);
  core::Status Delete(std::string_view name);
  // Enables every proxy and removes every toxic.
  core::Status Reset();

  core::Result<ToxicSpec> AddToxic(std::string_view proxy, ToxicSpec toxic);
  core::Result<ToxicSpec> UpdateToxic(std::string_view proxy, std::string_view toxic,
                                      const ToxicPatch& patch);
  core::Status RemoveToxic(std::string_view proxy, std::string_view toxic);

  // The holds parking traffic right now, oldest first.
  std::vector<HoldInfo> Holds() const;
  // Releases the oldest hold of toxic `hold` on `proxy`, or the one on `connection`, or all
  // of them. 404: no such proxy or toxic; 400: the toxic is not a hold; 409: it holds nothing
  // (already released, or nothing reached it yet).
  core::Result<std::vector<HoldInfo>> ReleaseHold(std::string_view proxy, std::string_view hold,
                                                  std::optional<std::uint64_t> connection,
                                                  bool all);

  // The board of this server's holds and points. Others may reach points on it and park
  // holds of their own (the runner does, for its processes' shims), so one board orders
  // proxy traffic and process threads alike. Thread-safe.
  HoldBoard& holds();

  // Every fault decision, for GET /events and --events FILE.
  EventLog& events();
  std::uint64_t seed() const;
  prometheus::Registry& metrics() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Validates a proxy or toxic name: non-empty, at most 255 bytes, printable, no '/'.
core::Status ValidateName(std::string_view what, std::string_view name);

}  // namespace faultline::proxy
