#!/bin/sh
# The workload: submits FAULTLINE_OPS plans into DIR/plans, one every 100 ms, as operations of
# a history ("submit" with the plan's number).
dir=$1
mkdir -p "$dir/plans"
i=0
while [ "$i" -lt "${FAULTLINE_OPS:-10}" ]; do
  n="$FAULTLINE_PROCESS-$i"
  echo "{\"type\":\"invoke\",\"f\":\"submit\",\"value\":\"$n\"}"
  if echo "plan $n" > "$dir/plans/$n.tmp" && mv "$dir/plans/$n.tmp" "$dir/plans/$n.plan"; then
    echo "{\"type\":\"ok\",\"f\":\"submit\",\"value\":\"$n\"}"
  else
    echo "{\"type\":\"fail\",\"f\":\"submit\",\"value\":\"$n\"}"
  fi
  i=$((i + 1))
  sleep 0.1
done
