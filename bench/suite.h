#pragma once
// `faultline-bench all`: direct connections vs faultline vs HAProxy on this host, with a
// minimal relay as the floor for round trips; every figure the median of several
// repetitions, printed as a markdown table with the targets.

#include <string>

namespace faultline::bench {

struct SuiteOptions {
  std::string faultline;  // path of the `faultline` executable
  std::string haproxy;    // empty: look in the usual places
  unsigned threads = 0;   // data-path threads for faultline and HAProxy; 0: one per core
  bool quick = false;     // tiny sizes, one repetition: a smoke test
  std::string busy_poll;  // passed to `faultline proxy --busy-poll` when set
};

int RunSuite(const SuiteOptions& options);

}  // namespace faultline::bench
