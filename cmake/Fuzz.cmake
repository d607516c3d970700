# Builds the libFuzzer targets with clang in a sub-build (the main build may use g++) and
# runs each for a bounded time as a ctest test. New inputs go to the build tree; the seeds
# in tests/fuzz/corpus stay read-only.
find_program(FAULTLINE_CLANGXX NAMES clang++ clang++-14)
if(NOT FAULTLINE_CLANGXX)
  message(WARNING "clang++ not found: fuzz targets are not built (./dev installs clang)")
  return()
endif()

include(ExternalProject)
set(FUZZ_BINARY_DIR ${CMAKE_BINARY_DIR}/fuzz)
ExternalProject_Add(faultline_fuzz
  SOURCE_DIR ${CMAKE_SOURCE_DIR}
  BINARY_DIR ${FUZZ_BINARY_DIR}
  CMAKE_ARGS -G Ninja -DFAULTLINE_FUZZ_ONLY=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
             -DCMAKE_CXX_COMPILER=${FAULTLINE_CLANGXX}
             -DCMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER}
  BUILD_COMMAND ${CMAKE_COMMAND} --build ${FUZZ_BINARY_DIR} --target api_fuzz frame_fuzz fault_fuzz spec_fuzz history_fuzz
  BUILD_ALWAYS ON
  INSTALL_COMMAND ""
  USES_TERMINAL_BUILD ON)

set(FAULTLINE_FUZZ_SECONDS 30 CACHE STRING "How long ctest runs each fuzz target")
foreach(target api frame fault spec history)
  set(corpus ${CMAKE_BINARY_DIR}/fuzz-corpus/${target})
  file(MAKE_DIRECTORY ${corpus})
  add_test(NAME fuzz_${target}
           COMMAND ${FUZZ_BINARY_DIR}/tests/fuzz/${target}_fuzz
                   -max_total_time=${FAULTLINE_FUZZ_SECONDS} -rss_limit_mb=2048 -timeout=10
                   -print_final_stats=1 ${corpus} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${target})
  set_tests_properties(fuzz_${target} PROPERTIES TIMEOUT 300 LABELS fuzz)
endforeach()
