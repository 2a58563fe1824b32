"""Stands in for the interpreter xdist starts for each test worker (`python -u -c <bootstrap>`):
asks the suite's preloaded process (tests/support/zygote.py) to fork one with this process's
standard streams, arguments, environment and directory, then stays its stand-in — signals
passed on, its exit status made this process's own — so xdist's `Popen` sees a worker as
it would see an interpreter.

Run as `python -S zygote_client.py <socket> <interpreter arguments>`: the standard library
only, no site packages (its start costs ~10 ms of CPU; an interpreter importing the app and
pytest cost seconds). Its directory is first on `sys.path`, so `zygote` is its neighbour
module, which imports only the standard library."""

import json
import os
import signal
import socket
import struct
import sys

from zygote import read_exactly


def main() -> None:
    path, arguments = sys.argv[1], sys.argv[2:]
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    request = json.dumps(
        {"mode": "python", "argv": arguments, "env": dict(os.environ), "cwd": os.getcwd()}
    ).encode()
    socket.send_fds(connection, [struct.pack("!I", len(request)) + request], [0, 1, 2])
    # The worker has its own copies now: xdist's pipes end when the worker's copies close.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    (pid,) = struct.unpack("!i", read_exactly(connection, 4))
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, lambda received, _frame: os.kill(pid, received))
    (code,) = struct.unpack("!i", read_exactly(connection, 4))
    if code < 0:  # ended by a signal: end the same way
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


if __name__ == "__main__":
    main()
