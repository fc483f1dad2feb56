#!/usr/bin/env python3
"""Failover probe for bench/vrrp/failover.sh (a measuring tool, not part of Trireme).

serve NAME PORT        answer every TCP connection with NAME and close (runs in each router namespace)
probe VIP PORT OLD INTERVAL_MS DEADLINE_MS OBSERVE_MS -- KILL_COMMAND...
                       (client namespace) wait for an answer from OLD, run KILL_COMMAND, then connect every
                       INTERVAL_MS. answer_ms: first answer from a node other than OLD (after the kill).
                       settled_ms: start of the final unbroken streak of answers from the final master, seen
                       over OBSERVE_MS after the first answer, so a client that first reaches the loser of a
                       dual master and then stalls on its MAC is counted until it is really served again.
                       Bounded by DEADLINE_MS.
"""
import socket
import subprocess
import sys
import time


def serve(name, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    while True:
        c, _ = s.accept()
        try:
            c.sendall(name.encode())
        finally:
            c.close()


def ask(vip, port, timeout):
    try:
        with socket.create_connection((vip, port), timeout=timeout) as c:
            c.settimeout(timeout)
            return c.recv(64).decode() or None
    except OSError:
        return None


def probe(vip, port, old, interval_ms, deadline_ms, observe_ms, kill):
    end = time.monotonic() + deadline_ms / 1000
    while ask(vip, port, 0.5) != old:
        if time.monotonic() > end:
            print("error=old master %s never answered" % old)
            return 1
        time.sleep(0.05)
    t0 = time.monotonic()
    subprocess.run(kill, check=False)
    end = t0 + deadline_ms / 1000
    failures = 0
    first = None
    streak_start, streak_node = None, None
    while time.monotonic() < end:
        now = time.monotonic()
        who = ask(vip, port, 0.2)
        if who is not None and who != old:
            if first is None:
                first = (now - t0, who)
                end = min(end, now + observe_ms / 1000)
            if who != streak_node:
                streak_start, streak_node = now, who
        else:
            failures += 1 if who is None else 0
            if first is not None:
                streak_start, streak_node = None, None
        time.sleep(interval_ms / 1000)
    if first is None or streak_start is None:
        print("error=no steady answer from a new master within %d ms" % deadline_ms)
        return 1
    print("answer_ms=%d first=%s settled_ms=%d final=%s failed_probes=%d"
          % (first[0] * 1000, first[1], (streak_start - t0) * 1000, streak_node, failures))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sep = sys.argv.index("--")
        a = sys.argv[2:sep]
        sys.exit(probe(a[0], int(a[1]), a[2], int(a[3]), int(a[4]), int(a[5]), sys.argv[sep + 1:]))
