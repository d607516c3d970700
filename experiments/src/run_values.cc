#include "faultline/experiments/run_values.h"

#include <utility>

#include "faultline/core/free_port.h"

namespace faultline::experiments {

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
  if (added) it->second = core::FreeLoopbackPort();
  return it->second;
}

}  // namespace faultline::experiments
