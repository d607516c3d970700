#pragma once
// The proxy's Prometheus metric names, declared once. Labels never hold addresses or ports.

namespace faultline::proxy::metrics {

// counter {proxy, direction}: bytes read from the client (upstream) or the server (downstream)
inline constexpr const char* kBytesTotal = "faultline_proxy_bytes_total";
// gauge {proxy}: connections open now
inline constexpr const char* kConnectionsActive = "faultline_proxy_connections_active";
// counter {proxy}: connections accepted
inline constexpr const char* kConnectionsTotal = "faultline_proxy_connections_total";
// counter {proxy, toxic}: times a toxic took effect on a connection (its toxicity came up)
inline constexpr const char* kToxicActivationsTotal = "faultline_proxy_toxic_activations_total";

}  // namespace faultline::proxy::metrics
