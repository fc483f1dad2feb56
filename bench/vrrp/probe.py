#!/usr/bin/env python3
"""Failover probe for bench/vrrp/failover.sh (a measuring tool, not part of Trireme).

serve NAME PORT        answer every TCP connection with NAME and close (runs in each router namespace)
probe VIP PORT OLD INTERVAL_MS DEADLINE_MS OBSERVE_MS -- KILL_COMMAND...
                       (client namespace) wait for an answer from OLD, run KILL_COMMAND, then connect every
                       INTERVAL_MS (attempts overlap; each times out after 0.5 s). answer_ms: when the first
                       answer from a node other than OLD arrived. settled_ms: when the first attempt of the
                       final unbroken run of answers from the final master (observed for OBSERVE_MS after
                       the first answer) was answered, so a client that first reaches the loser of a dual
                       master and then stalls on its MAC is counted until it is really served again.
                       Bounded by DEADLINE_MS.
"""
import socket
import subprocess
import sys
import threading
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
    # One attempt starts every interval whatever earlier ones are doing, so a SYN lost to the old MAC
    # (retransmitted only after 1 s) does not hide the moment the new master starts answering.
    attempts = []  # (start, done, who)
    lock = threading.Lock()

    def attempt(start):
        who = ask(vip, port, 0.5)
        with lock:
            attempts.append((start, time.monotonic(), who))

    t0 = time.monotonic()
    subprocess.run(kill, check=False)
    end = t0 + deadline_ms / 1000
    first_seen = None
    threads = []
    while time.monotonic() < end:
        now = time.monotonic()
        t = threading.Thread(target=attempt, args=(now,), daemon=True)
        t.start()
        threads.append(t)
        with lock:
            if first_seen is None and any(w not in (None, old) for _, _, w in attempts):
                first_seen = now
                end = min(end, now + observe_ms / 1000)
        time.sleep(interval_ms / 1000)
    for t in threads:
        t.join(1)
    answered = sorted((a for a in attempts if a[2] not in (None, old)), key=lambda a: a[1])
    if not answered:
        print("error=no answer from a new master within %d ms" % deadline_ms)
        return 1
    first = answered[0]
    # settled: the earliest-started attempt after which every attempt was answered by the final master.
    by_start = sorted(attempts, key=lambda a: a[0])
    final = by_start[-1][2]
    streak = len(by_start)
    while streak > 0 and by_start[streak - 1][2] == final:
        streak -= 1
    if final in (None, old) or streak == len(by_start):
        print("error=no steady answer from a new master (last answer from %s)" % final)
        return 1
    settled = by_start[streak]
    failed = sum(1 for a in attempts if a[2] is None)
    print("answer_ms=%d first=%s settled_ms=%d final=%s failed_probes=%d"
          % ((first[1] - t0) * 1000, first[2], (settled[1] - t0) * 1000, final, failed))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sep = sys.argv.index("--")
        a = sys.argv[2:sep]
        sys.exit(probe(a[0], int(a[1]), a[2], int(a[3]), int(a[4]), int(a[5]), sys.argv[sep + 1:]))
