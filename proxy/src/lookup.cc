#include "faultline/proxy/lookup.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace faultline::proxy {
namespace {

using Addresses = core::Result<std::vector<Address>>;

// What the lookup thread and the caller share; the thread may outlive the caller's wait.
struct Pending {
  std::mutex mutex;
  std::condition_variable done;
  std::optional<Addresses> result;
};

}  // namespace

bool IsIpLiteral(const std::string& host) {
  in6_addr scratch{};
  return ::inet_pton(AF_INET, host.c_str(), &scratch) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), &scratch) == 1;
}

Addresses NumericLookup(const std::string& host, const std::string& port) {
  if (host != "localhost" && !IsIpLiteral(host)) {
    return core::MakeError("cannot resolve " + host + ": only IP addresses are looked up here");
  }
  return SystemLookup(host == "localhost" ? "127.0.0.1" : host, port);
}

Addresses SystemLookup(const std::string& host, const std::string& port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int code = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (code != 0) {
    return core::MakeError("cannot resolve " + host + ": " + ::gai_strerror(code));
  }
  std::vector<Address> addresses;
  for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    Address address;
    if (entry->ai_family == AF_INET) {
      const auto* ip = reinterpret_cast<const sockaddr_in*>(entry->ai_addr);
      ::inet_ntop(AF_INET, &ip->sin_addr, text, sizeof text);
      address.port = ntohs(ip->sin_port);
    } else if (entry->ai_family == AF_INET6) {
      const auto* ip = reinterpret_cast<const sockaddr_in6*>(entry->ai_addr);
      ::inet_ntop(AF_INET6, &ip->sin6_addr, text, sizeof text);
      address.port = ntohs(ip->sin6_port);
    } else {
      continue;
    }
    address.ip = text;
    addresses.push_back(std::move(address));
  }
  ::freeaddrinfo(found);
  if (addresses.empty()) return core::MakeError("cannot resolve " + host + ": no address");
  return addresses;
}

Addresses LookupWithin(const std::string& host, const std::string& port, core::Duration budget,
                       const Lookup& lookup) {
  if (IsIpLiteral(host)) return SystemLookup(host, port);  // never asks DNS
  auto pending = std::make_shared<Pending>();
  std::thread([pending, lookup, host, port] {
    Addresses result = lookup(host, port);
    std::lock_guard lock(pending->mutex);
    pending->result = std::move(result);
    pending->done.notify_all();
  }).detach();
  std::unique_lock lock(pending->mutex);
  if (!pending->done.wait_for(lock, budget, [&] { return pending->result.has_value(); })) {
    return core::MakeError(
        "cannot resolve " + host + " within " +
        core::FormatDuration(std::chrono::ceil<std::chrono::milliseconds>(budget)));
  }
  return std::move(*pending->result);
}

}  // namespace faultline::proxy
