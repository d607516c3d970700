#pragma once
// A free TCP port on 127.0.0.1, for a server faultline (or a test) is about to start.

#include <cstdint>

namespace faultline::core {

// Binds port 0 on loopback and gives the port back, closed: the kernel does not hand it out
// again right away, so the server that is given it can bind it. 0 if none could be had.
std::uint16_t FreeLoopbackPort();

}  // namespace faultline::core
