"""Run a script with writes that fail, as on a full disk or a read-only file system (tests only).

  python tests/failing_io.py ENOSPC 2 scripts/run_next_batch.py --workspace W

The first N-1 atomic writes succeed; the Nth and later fail with that errno, at the point a full
disk fails them (when the data is written and flushed). Markers in .valid/ are not counted.
"""

import errno
import os
import runpy
import sys
from pathlib import Path

code = getattr(errno, sys.argv[1])
fail_from = int(sys.argv[2])
script = sys.argv[3]
sys.argv = sys.argv[3:]
sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
from critique_batch.base import jsonfiles  # noqa: E402 - the package of the script run

calls = {"n": 0}
real_temp_file = jsonfiles.temp_file
real_fsync = os.fsync


def temp_file(directory, prefix):
    if code == errno.EROFS and ".valid" not in Path(directory).parts:
        calls["n"] += 1
        if calls["n"] >= fail_from:
            raise OSError(code, os.strerror(code))
    return real_temp_file(directory, prefix)


def fsync(fd):
    calls["n"] += 1
    if calls["n"] >= fail_from:
        raise OSError(code, os.strerror(code))
    return real_fsync(fd)


jsonfiles.temp_file = temp_file
if code != errno.EROFS:
    os.fsync = fsync
runpy.run_path(script, run_name="__main__")
