#pragma once
// The values one run fills its spec's templates with: a free TCP port on 127.0.0.1 for each
// {{port.NAME}}, decided the first time it is asked for and the same after; one for each
// `listen: auto` proxy that {{proxy.NAME}} names; the run directory; the seed.
//
//   RunValues values(seed, dir.path());
//   SpecResult filled = values.Fill(spec);  // the spec as this run reads it

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "faultline/experiments/spec.h"

namespace faultline::experiments {

class RunValues {
 public:
  RunValues(std::uint64_t seed, std::string run_dir);

  // The spec read again from its text, templates filled with these values. An error can only
  // come from a value (a port that makes a rule's port= out of range, say).
  SpecResult Fill(const Spec& spec);
  // The value of one template, as a TemplateLookup gives it.
  std::optional<std::string> Lookup(std::string_view name);

  std::uint16_t Port(const std::string& name);
  // The port {{proxy.NAME}} gave a `listen: auto` proxy, if a template named it.
  std::optional<std::uint16_t> ProxyPort(const std::string& proxy) const;
  // The ports decided so far, by template name ("port.store", "proxy.front").
  const std::map<std::string, std::uint16_t>& ports() const { return ports_; }

 private:
  std::uint16_t PortOf(const std::string& key);

  std::uint64_t seed_;
  std::string run_dir_;
  std::map<std::string, std::uint16_t> ports_;
};

}  // namespace faultline::experiments
