// The connection toxics: they act on a connection as a whole (its accept and its upstream
// connect), so the session applies them (proxy/src/session.cc) and they put no stage on the
// connection's directions.

#include "toxics/toxics.h"

namespace faultline::proxy::toxics {

namespace connect_delay {

Description Describe() {
  return {"Delays the proxy's connect to the upstream.",
          {{"delay", "ms", true, kMaxMs, "time before connecting"}}};
}

std::unique_ptr<Stage> Make(const ToxicSpec&, StageContext&) { return nullptr; }

}  // namespace connect_delay

namespace connect_refuse {

Description Describe() {
  return {"Refuses the connection: the client is reset and the upstream is never contacted.", {}};
}

std::unique_ptr<Stage> Make(const ToxicSpec&, StageContext&) { return nullptr; }

}  // namespace connect_refuse

namespace accept_delay {

Description Describe() {
  return {"Leaves an accepted connection untouched (no read, no upstream connect) for a while.",
          {{"delay", "ms", true, kMaxMs, "time before the proxy takes up the connection"}}};
}

std::unique_ptr<Stage> Make(const ToxicSpec&, StageContext&) { return nullptr; }

}  // namespace accept_delay

}  // namespace faultline::proxy::toxics
