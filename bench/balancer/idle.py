#!/usr/bin/env python3
"""Opens N idle TCP connections to HOST:PORT, holds them SECONDS, then closes them all.
Prints 'open=<n>' once every connection is established. Bounded in count and time."""
import socket, sys, time
host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
socks = []
deadline = time.time() + 60
for i in range(n):
    if time.time() > deadline:
        break
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((host, port))
    except OSError as e:
        print(f"# connect {i} failed: {e}", file=sys.stderr)
        s.close()
        break
    socks.append(s)
print(f"open={len(socks)}", flush=True)
time.sleep(hold)
for s in socks:
    s.close()
