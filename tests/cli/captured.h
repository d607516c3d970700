#pragma once
// Runs the faultline command line in-process and captures what it prints.

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "app.h"

namespace faultline::testing {

struct Captured {
  int exit_code;
  std::string out;
  std::string err;
};

// `faultline ARGS...`, with std::cout and std::cerr captured.
inline Captured Faultline(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"faultline"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  const int code = cli::Main(static_cast<int>(argv.size()), argv.data());
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return {code, out.str(), err.str()};
}

}  // namespace faultline::testing
