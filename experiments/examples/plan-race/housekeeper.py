#!/usr/bin/env python3
"""housekeeper.py DIR MAX_AGE_MS: every 20 ms, deletes plans in DIR/plans older than MAX_AGE_MS.

Plans are meant to be applied quickly; a stale one is garbage. Nothing is wrong with it on its
own: the race is with an agent that is slower than the housekeeper expects.
"""

import os
import signal
import sys
import time


def main():
    if len(sys.argv) != 3:
        print("usage: housekeeper.py DIR MAX_AGE_MS", file=sys.stderr)
        return 2
    plans = os.path.join(sys.argv[1], "plans")
    max_age = int(sys.argv[2]) / 1000
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    print(f"housekeeper cleaning {plans} every 20 ms (older than {sys.argv[2]} ms)", flush=True)
    while not stopping:
        now = time.time()
        try:
            names = os.listdir(plans)
        except FileNotFoundError:
            names = []
        for name in names:
            if not name.endswith(".plan"):
                continue
            path = os.path.join(plans, name)
            try:
                if now - os.stat(path).st_mtime > max_age:
                    os.unlink(path)
                    print(f"deleted {name}", flush=True)
            except FileNotFoundError:
                pass
        time.sleep(0.02)
    return 0


if __name__ == "__main__":
    sys.exit(main())
