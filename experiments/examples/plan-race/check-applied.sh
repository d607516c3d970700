#!/bin/sh
# The invariant: every plan the agent took up was applied. Prints the ones that were not.
failed=$(grep -c '^FAILED' "$1/applied.log" 2>/dev/null || true)
applied=$(grep -c '^applied' "$1/applied.log" 2>/dev/null || true)
if [ "${failed:-0}" -gt 0 ]; then
  echo "$failed plans were taken up but not applied ($applied applied):"
  grep '^FAILED' "$1/applied.log"
  exit 1
fi
echo "all $applied plans taken up were applied"
