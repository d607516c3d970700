"""A named point from Python, through ctypes.

Under the shim, faultline_point is in the process's global symbols (LD_PRELOAD put it
there) and ctypes.CDLL(None) finds it; without the shim the lookup fails and the point is a
no-op. ctypes lets go of the GIL during the call, so a thread held at the point does not stop
the others.

    faultline inject --rule 'point:plan.apply -> fail(EIO)' -- python3 point.py
"""

import ctypes
import sys

try:
    _point = ctypes.CDLL(None).faultline_point
    _point.argtypes = [ctypes.c_char_p]
    _point.restype = ctypes.c_int
except AttributeError:  # no shim preloaded
    _point = None


def faultline_point(name: str) -> int:
    """0, or the errno of a fail(ERRNO) rule on the point."""
    return _point(name.encode()) if _point else 0


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "plan.apply"
    print(f"faultline_point({name}) = {faultline_point(name)}")
