#pragma once
// Name lookup with a deadline: the one resolver of the tree, for the proxy's upstreams and
// listen addresses, the runner's readiness checks, probes and the Pushgateway push.
//
// getaddrinfo cannot be interrupted, and a DNS server that does not answer holds it for as long
// as resolv.conf allows (timeout × attempts × servers: often tens of seconds). LookupWithin
// runs the lookup on a thread of its own and stops waiting at the budget; a late lookup ends
// there on its own and its answer is dropped. IP addresses are answered at once, on the
// caller's thread, without asking `lookup`.
//
//   auto addresses = LookupWithin("store.staging", "8080", 2s);
//   if (!addresses) return addresses.error();  // "cannot resolve store.staging within 2s"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "faultline/core/duration.h"
#include "faultline/core/result.h"

namespace faultline::proxy {

struct Address {
  std::string ip;  // numeric, IPv4 or IPv6
  std::uint16_t port = 0;

  friend bool operator==(const Address&, const Address&) = default;
};

// How a name becomes addresses; SystemLookup, or a stand-in in tests.
using Lookup = std::function<core::Result<std::vector<Address>>(const std::string& host,
                                                                const std::string& port)>;

// getaddrinfo for TCP: every address of `host`, in the resolver's order. `port` is numeric.
core::Result<std::vector<Address>> SystemLookup(const std::string& host, const std::string& port);
// IP literals and "localhost" (127.0.0.1) only, never DNS: for tests and fuzzers.
core::Result<std::vector<Address>> NumericLookup(const std::string& host, const std::string& port);
// Whether `host` is an IPv4 or IPv6 literal, which needs no lookup.
bool IsIpLiteral(const std::string& host);

core::Result<std::vector<Address>> LookupWithin(const std::string& host, const std::string& port,
                                                core::Duration budget,
                                                const Lookup& lookup = SystemLookup);

}  // namespace faultline::proxy
