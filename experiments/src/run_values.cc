#include "faultline/experiments/run_values.h"

#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace faultline::experiments {
namespace {

// Binds port 0 and gives it back: the kernel does not hand it out again right away.
std::uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  std::uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

}  // namespace

RunValues::RunValues(std::uint64_t seed, std::string run_dir)
    : seed_(seed), run_dir_(std::move(run_dir)) {}

SpecResult RunValues::Fill(const Spec& spec) {
  return ParseSpec(spec.text, spec.file, spec.dir,
                   [this](std::string_view name) { return Lookup(name); });
}

std::optional<std::string> RunValues::Lookup(std::string_view name) {
  if (name == "seed") return std::to_string(seed_);
  if (name == "run.dir") return run_dir_;
  if (name.starts_with("port.")) return std::to_string(PortOf(std::string(name)));
  // ParseSpec asks only for proxies that listen on `auto`.
  if (name.starts_with("proxy.")) return "127.0.0.1:" + std::to_string(PortOf(std::string(name)));
  return std::nullopt;
}

std::uint16_t RunValues::Port(const std::string& name) { return PortOf("port." + name); }

std::optional<std::uint16_t> RunValues::ProxyPort(const std::string& proxy) const {
  const auto it = ports_.find("proxy." + proxy);
  if (it == ports_.end()) return std::nullopt;
  return it->second;
}

std::uint16_t RunValues::PortOf(const std::string& key) {
  auto [it, added] = ports_.try_emplace(key, 0);
  if (added) it->second = FreePort();
  return it->second;
}

}  // namespace faultline::experiments
