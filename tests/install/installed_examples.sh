#!/bin/sh
# An installed faultline runs its examples as they are, from any directory: install the build
# into a fresh prefix, then run the plan race from / with nothing but what was installed. The
# buggy agent's violation needs the shim (found beside the binary) and the example's helpers.
set -eu
build=$1
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
for file in bin/faultline lib/faultline/libfaultline_inject.so include/faultline/point.h \
  share/faultline/examples/plan-race/buggy.yaml share/faultline/examples/web/web.yaml; do
  [ -e "$prefix/$file" ] || { echo "not installed: $file"; exit 1; }
done
cd /
code=0
env -u FAULTLINE_INJECT_LIB "$prefix/bin/faultline" run \
  "$prefix/share/faultline/examples/plan-race/buggy.yaml" --seed 1 -q \
  --runs-dir "$prefix/runs" >"$prefix/out" 2>&1 || code=$?
cat "$prefix/out"
[ "$code" -eq 1 ] || { echo "expected the buggy agent's run to fail (exit 1), got $code"; exit 1; }
grep -q "were taken up but not applied" "$prefix/out" || { echo "no violation in the output"; exit 1; }
echo "installed examples: passed"
