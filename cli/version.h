#pragma once

namespace faultline::cli {
inline constexpr const char* kVersion = "0.1.0";
}
