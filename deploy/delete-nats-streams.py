#!/usr/bin/env python3
"""Deletes JetStream streams from the loopback NATS (127.0.0.1:4222): a run of the cluster or
of the images keeps its streams (<PREFIX>ACCOUNTS, <PREFIX>CHAT) on the shared server until
they are deleted. The JetStream API is plain NATS request/reply, so no client is needed.

Usage: delete-nats-streams.py STREAM...
A stream that is not there is reported, not an error; an unreachable server is.
"""

import socket
import sys


def main(names):
    with socket.create_connection(("127.0.0.1", 4222), timeout=5) as s:
        f = s.makefile("rb")
        f.readline()  # INFO
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.delete 1\r\n')
        for name in names:
            s.sendall(f"PUB $JS.API.STREAM.DELETE.{name} _INBOX.delete 0\r\n\r\n".encode())
            while True:
                line = f.readline()
                if not line or line.startswith(b"-ERR"):
                    sys.exit(f"deleting stream {name}: {line!r}")
                if line.startswith(b"PING"):
                    s.sendall(b"PONG\r\n")
                elif line.startswith(b"MSG"):
                    size = int(line.split()[-1])
                    reply = f.read(size + 2)[:size].decode()
                    if '"success":true' not in reply:
                        print(f"deleting stream {name}: {reply}", file=sys.stderr)
                    break


if __name__ == "__main__":
    main(sys.argv[1:])
