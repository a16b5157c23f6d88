"""Prints N TCP ports on 127.0.0.1 that the kernel considers free right now, space-separated:
each run of a story picks its own, so two runs (or a developer's cluster on the default
ports) do not collide.

Usage: free-ports.py N
"""

import socket
import sys

socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
