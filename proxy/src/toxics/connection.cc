// The connection toxics: they act on a connection as a whole (its accept and its upstream
// connect), so the session applies them (proxy/src/session.cc) and they put no stage on the
// connection's directions.

#include "toxics/toxics.h"

namespace faultline::proxy::toxics {

namespace connect_delay {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec&, StageContext&) { return nullptr; }

}  // namespace connect_delay

namespace connect_refuse {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec&, StageContext&) { return nullptr; }

}  // namespace connect_refuse

namespace accept_delay {

const ToxicCheck kCheck = nullptr;

std::unique_ptr<Stage> Make(const ToxicSpec&, StageContext&) { return nullptr; }

}  // namespace accept_delay

}  // namespace faultline::proxy::toxics
