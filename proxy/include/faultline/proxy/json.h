#pragma once
// Toxiproxy 2.12's JSON shapes for proxies and toxics.
//
// Read in one of two ways. Toxiproxy's Go server ignores a field it does not know, matches
// field names whatever their case and takes any number for a toxic's attributes; its clients
// rely on that (toxiproxy-ruby sends "enabled": null, forks send fields of their own), so the
// HTTP API and Toxiproxy's JSON config files read the same way, kToxiproxy, and record what
// they let pass in `warnings`, so that a typo stays visible. faultline's own YAML, its CLI and
// an API request that asks for it ("Prefer: handling=strict") are read kStrict: each of those
// is an error naming the field. Either way a JSON null means "not given", and a wrong type,
// a fractional count or a number no field can hold is an error.

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "faultline/core/result.h"
#include "faultline/proxy/server.h"

namespace faultline::proxy::json {

enum class Leniency { kStrict, kToxiproxy };

struct Reading {
  Leniency leniency = Leniency::kStrict;
  // What a kToxiproxy reading let pass, in the order met, e.g. "unknown field 'lisen' in
  // proxy ignored".
  std::vector<std::string> warnings = {};
};

// {"attributes":{...},"name":..,"type":..,"stream":..,"toxicity":..}
boost::json::object ToJson(const ToxicSpec& toxic);
// {"name":..,"listen":..,"upstream":..,"enabled":..,"toxics":[...]}
boost::json::object ToJson(const ProxyState& proxy);

// Parses a request body; the error gives the reason and position.
core::Result<boost::json::value> Parse(std::string_view text);

// A new toxic: type required; name, stream, toxicity, attributes optional.
core::Result<ToxicSpec> ToxicFromJson(const boost::json::value& value, Reading& reading);
// A toxic update. "name", "type" and "stream" may be present (clients send the whole toxic
// back): a kToxiproxy reading ignores them, as Toxiproxy does; a kStrict one requires them to
// equal `current`'s, since they cannot change.
core::Result<ToxicPatch> ToxicPatchFromJson(const boost::json::value& value,
                                            const ToxicSpec& current, Reading& reading);
// A proxy to create (also one entry of /populate or a config file); may carry "toxics".
core::Result<ProxyState> ProxyFromJson(const boost::json::value& value, Reading& reading);
core::Result<ProxyPatch> ProxyPatchFromJson(const boost::json::value& value, Reading& reading);
// A JSON array of proxies (/populate and Toxiproxy config files). Errors name the entry.
core::Result<std::vector<ProxyState>> ProxyListFromJson(const boost::json::value& value,
                                                        Reading& reading);

}  // namespace faultline::proxy::json
