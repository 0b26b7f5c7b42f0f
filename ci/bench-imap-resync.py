#!/usr/bin/python3
"""The resync row of ci/bench-imap: one client notes INBOX's UIDVALIDITY and HIGHESTMODSEQ, makes
CHANGES flag changes (UID STORE +FLAGS.SILENT (\\Flagged) on CHANGES messages, 100 per command),
then CLIENTS clients at once each log in, ENABLE QRESYNC and SELECT INBOX (QRESYNC (uidvalidity
modseq)) (RFC 7162 §3.2.5), reading every FETCH and VANISHED the server sends until the tagged OK.
Prints the wall time of the 20 resyncs, the server's CPU seconds over them (utime + stime of the
server's process and its descendants, from /proc), and how many FETCH lines each client got.

usage: bench-imap-resync.py --port P --user U --password W --pid PID [--changes 1000] [--clients 20] [--label L]
"""
import argparse
import os
import re
import socket
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root):
    children, times = {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(pid))
        # utime, stime, cutime, cstime: children that ended count in their parent
        times[int(pid)] = sum(int(x) for x in fields[11:15])
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        total += times.get(p, 0)
    return total / TICK


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.file = self.sock.makefile("rb")
        self.n = 0
        self.file.readline()

    def command(self, text):
        """Sends one command; returns its untagged lines (literals skipped) and the tagged one."""
        self.n += 1
        tag = f"t{self.n}".encode()
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        lines = []
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("closed during " + text)
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                self.file.read(int(m.group(1)))
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise ConnectionError(f"{text}: {line!r}")
                return lines, line
            lines.append(line)

    def close(self):
        try:
            self.command("LOGOUT")
        except (ConnectionError, OSError):
            pass
        self.sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--label", default="server")
    args = ap.parse_args()

    def say(key, value):
        print(f"{args.label}.{key} {value}", flush=True)

    c = Client(args.port)
    c.command(f"LOGIN {args.user} {args.password}")
    c.command("ENABLE QRESYNC")
    lines, _ = c.command("SELECT INBOX")
    text = b"".join(lines).decode(errors="replace")
    uidvalidity = int(re.search(r"UIDVALIDITY (\d+)", text).group(1))
    modseq = int(re.search(r"HIGHESTMODSEQ (\d+)", text).group(1))
    exists = int(re.search(r"\* (\d+) EXISTS", text).group(1))
    uids = []
    for line in c.command("UID SEARCH ALL")[0]:
        if line.startswith(b"* SEARCH"):
            uids = [int(u) for u in line.split()[2:]]
    # every tenth message, so the changes spread over the folder
    step = max(1, len(uids) // args.changes)
    changed = uids[::step][: args.changes]
    started = time.monotonic()
    for i in range(0, len(changed), 100):
        batch = ",".join(str(u) for u in changed[i:i + 100])
        c.command(f"UID STORE {batch} +FLAGS.SILENT (\\Flagged)")
    say("changes", len(changed))
    say("changes_seconds", f"{time.monotonic() - started:.2f}")
    c.close()

    counts = [None] * args.clients
    errors = []
    gate = threading.Barrier(args.clients + 1)

    def resync(i):
        try:
            r = Client(args.port)
            r.command(f"LOGIN {args.user} {args.password}")
            r.command("ENABLE QRESYNC")
            gate.wait()
            lines, _ = r.command(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq}))")
            counts[i] = sum(1 for line in lines if b" FETCH " in line)
            r.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
            try:
                gate.abort()
            except threading.BrokenBarrierError:
                pass

    threads = [threading.Thread(target=resync, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    gate.wait()
    cpu0 = tree_cpu_seconds(args.pid)
    t0 = time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    cpu = tree_cpu_seconds(args.pid) - cpu0
    say("messages", exists)
    say("clients", args.clients)
    say("errors", len(errors))
    if errors:
        say("first_error", errors[0][:200])
    say("fetch_lines_per_client", "/".join(sorted({str(n) for n in counts if n is not None})))
    say("resync_seconds", f"{elapsed:.3f}")
    say("resync_cpu_seconds", f"{cpu:.2f}")


if __name__ == "__main__":
    main()
