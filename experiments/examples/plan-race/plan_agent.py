#!/usr/bin/env python3
"""plan_agent.py DIR [--fixed]: applies plans.

It polls DIR/plans for *.plan files; for each new one it decides to apply it, reaches the
named point "plan.apply" (where a slow agent is slow), then reads the plan and records what
it applied in DIR/applied.log.

The race: the buggy agent decides on the plan's name and opens it only after the point, so a
housekeeper that deletes the plan in between leaves it applying a plan that is gone ("FAILED"
in the log). With --fixed the agent opens the plan first and reads it through that
descriptor: a deletion after the decision can no longer take it away.

The point is the shim's faultline_point, found through ctypes when the agent runs under
`inject` (docs/injector.md); without the shim it is a no-op.
"""

import ctypes
import os
import signal
import sys
import time

try:
    _point = ctypes.CDLL(None).faultline_point
    _point.argtypes = [ctypes.c_char_p]
    _point.restype = ctypes.c_int
except AttributeError:  # no shim preloaded
    _point = None


def faultline_point(name):
    return _point(name.encode()) if _point else 0


def record(directory, line):
    with open(os.path.join(directory, "applied.log"), "a") as log:
        log.write(line + "\n")


def apply(directory, name, fixed):
    path = os.path.join(directory, "plans", name)
    fd = -1
    if fixed:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return  # gone before we decided: nothing was promised
    faultline_point("plan.apply")
    if not fixed:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as error:
            line = f"FAILED {name}: {error.strerror}"
            print(f"agent: {line}", file=sys.stderr, flush=True)
            record(directory, line)
            return
    content = os.read(fd, 255).decode(errors="replace").split("\n")[0]
    os.close(fd)
    record(directory, f"applied {name}: {content}")


def main():
    if len(sys.argv) < 2:
        print("usage: plan_agent.py DIR [--fixed]", file=sys.stderr)
        return 2
    directory = sys.argv[1]
    fixed = len(sys.argv) > 2 and sys.argv[2] == "--fixed"
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    plans = os.path.join(directory, "plans")
    print(f"agent watching {plans}{' (fixed)' if fixed else ''}", flush=True)
    seen = set()
    while not stopping:
        try:
            names = sorted(os.listdir(plans))
        except FileNotFoundError:
            names = []
        for name in names:
            if name.endswith(".plan") and name not in seen:
                seen.add(name)
                apply(directory, name, fixed)
        time.sleep(0.01)
    return 0


if __name__ == "__main__":
    sys.exit(main())
