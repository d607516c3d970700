#!/bin/sh
# client.sh URL [TIMEOUT]: one GET of URL per operation until the runner's budget is spent (or
# the runner stops the client), each written as an invoke line and an ok or fail line on
# stdout. A GET that takes longer than TIMEOUT seconds (default 0.5) fails.
url=$1
timeout=${2:-0.5}
i=0
while [ "$i" -lt "${FAULTLINE_OPS:-100}" ]; do
  echo '{"type":"invoke","f":"get"}'
  if curl -sf --max-time "$timeout" "$url" > /dev/null; then
    echo '{"type":"ok","f":"get"}'
  else
    echo '{"type":"fail","f":"get"}'
  fi
  i=$((i + 1))
done
