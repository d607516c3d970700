#pragma once
// Toxiproxy 2.12's JSON shapes for proxies and toxics, read strictly: unknown fields, wrong
// types, fractional or out-of-range numbers are errors that name the field, never ignored.

#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "faultline/core/result.h"
#include "faultline/proxy/server.h"

namespace faultline::proxy::json {

// {"attributes":{...},"name":..,"type":..,"stream":..,"toxicity":..}
boost::json::object ToJson(const ToxicSpec& toxic);
// {"name":..,"listen":..,"upstream":..,"enabled":..,"toxics":[...]}
boost::json::object ToJson(const ProxyState& proxy);

// Parses a request body; the error gives the reason and position.
core::Result<boost::json::value> Parse(std::string_view text);

// A new toxic: type required; name, stream, toxicity, attributes optional.
core::Result<ToxicSpec> ToxicFromJson(const boost::json::value& value);
// A toxic update. "name", "type" and "stream" may be present (clients send the whole toxic
// back) but must equal `current`'s: they cannot change.
core::Result<ToxicPatch> ToxicPatchFromJson(const boost::json::value& value,
                                            const ToxicSpec& current);
// A proxy to create (also one entry of /populate or a config file); may carry "toxics".
core::Result<ProxyState> ProxyFromJson(const boost::json::value& value);
core::Result<ProxyPatch> ProxyPatchFromJson(const boost::json::value& value);
// A JSON array of proxies (/populate and Toxiproxy config files). Errors name the entry.
core::Result<std::vector<ProxyState>> ProxyListFromJson(const boost::json::value& value);

}  // namespace faultline::proxy::json
