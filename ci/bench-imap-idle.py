#!/usr/bin/python3
"""The idle row of ci/bench-imap: N IMAP sessions that log in, SELECT INBOX and IDLE, held by one
asyncio process; the server's resident memory per session (the sums of Rss and of Pss, which
divides shared pages among the processes sharing them, over the server's process and its
descendants; for a JVM also the live heap from `jcmd PID GC.class_histogram`), counted as the
growth from half the sessions idling to all of them, which leaves out one-time costs; then, per trigger, the delay from a new message to the
`* N EXISTS` line at every session: median, p99, max, and how many sessions were told.

usage: bench-imap-idle.py --port P --user U --password W --sessions N --pid PID
           [--maildir DIR] [--smtp-port P] [--jcmd JCMD] [--triggers move,smtp] [--label L]

Triggers: `move` writes a message into DIR/tmp and renames it into DIR/new (what any Maildir
program does; t0 just before the rename); `smtp` sends one message over SMTP to the port given
(t0 as DATA is sent, so the figure includes the server's storing of it). Times include this
process's own handling of N lines, the same for every server. Prints one `key value` line per figure.
"""
import argparse
import asyncio
import os
import re
import smtplib
import statistics
import subprocess
import sys
import time

EXISTS = re.compile(rb"^\* (\d+) EXISTS")


def tree_rss_kib(root):
    """VmRSS and Pss (shared pages divided among their users) summed over root and every
    descendant, in KiB, and the number of processes."""
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(pid))
    rss, pss, todo, count = 0, 0, [root], 0
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                        count += 1
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss, count


def live_heap_bytes(jcmd, pid):
    """The histogram's total (a full GC first, which is what GC.class_histogram does)."""
    out = subprocess.run([jcmd, str(pid), "GC.class_histogram"], capture_output=True, text=True, check=True).stdout
    for line in reversed(out.splitlines()):
        if line.startswith("Total"):
            return int(line.split()[2]), out
    raise RuntimeError("no Total line in the histogram")


class Session:
    def __init__(self):
        self.reader = None
        self.writer = None
        self.exists = 0
        self.told = None  # monotonic time the current trigger's EXISTS came


async def command(s, tag, text):
    s.writer.write(f"{tag} {text}\r\n".encode())
    await s.writer.drain()
    while True:
        line = await s.reader.readline()
        if not line:
            raise ConnectionError("closed during " + text)
        m = EXISTS.match(line)
        if m:
            s.exists = int(m.group(1))
        if line.startswith(tag.encode() + b" "):
            if not line.startswith(tag.encode() + b" OK"):
                raise ConnectionError(f"{text}: {line!r}")
            return


async def open_session(args, sem):
    async with sem:
        s = Session()
        s.reader, s.writer = await asyncio.open_connection("127.0.0.1", args.port, limit=1 << 16)
        await s.reader.readline()
        await command(s, "a", f"LOGIN {args.user} {args.password}")
        await command(s, "b", "SELECT INBOX")
        s.writer.write(b"c IDLE\r\n")
        await s.writer.drain()
        line = await s.reader.readline()
        if not line.startswith(b"+"):
            raise ConnectionError(f"IDLE: {line!r}")
        return s


async def listen(s):
    """Reads pushed lines while idling; notes when the count grows."""
    while True:
        line = await s.reader.readline()
        if not line:
            return
        m = EXISTS.match(line)
        if m and int(m.group(1)) > s.exists:
            s.exists = int(m.group(1))
            if s.told is None:
                s.told = time.monotonic()


def trigger_move(maildir, n):
    name = f"{int(time.time())}.M{n}P{os.getpid()}.bench-idle"
    tmp = os.path.join(maildir, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(b"From: a@example.test\r\nTo: bench@example.test\r\nSubject: idle " + str(n).encode() + b"\r\n\r\nhi\r\n")
        f.flush()
        os.fsync(f.fileno())
    t0 = time.monotonic()
    os.rename(tmp, os.path.join(maildir, "new", name))
    return t0


def trigger_smtp(port, user, n):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        msg = f"From: a@example.test\r\nTo: {user}@example.test\r\nSubject: idle {n}\r\n\r\nhi\r\n"
        c.ehlo()
        c.mail("a@example.test")
        c.rcpt(f"{user}@example.test")
        # from DATA: what follows is the message and the server storing it (write, fsync, rename)
        t0 = time.monotonic()
        code, _ = c.data(msg.encode())
        if code != 250:
            raise SystemExit(f"SMTP DATA answered {code}")
        return t0


def pct(sorted_ms, q):
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--sessions", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--maildir")
    ap.add_argument("--smtp-port", type=int)
    ap.add_argument("--jcmd")
    ap.add_argument("--triggers", default="move")
    ap.add_argument("--label", default="server")
    ap.add_argument("--wait", type=float, default=20.0, help="seconds to wait for every session per trigger")
    ap.add_argument("--histogram-out")
    args = ap.parse_args()

    def say(key, value):
        print(f"{args.label}.{key} {value}", flush=True)

    # a few sessions first, so the server's code paths are loaded
    sem = asyncio.Semaphore(100)
    warm = [await open_session(args, sem) for _ in range(4)]
    for s in warm:
        s.writer.close()
    await asyncio.sleep(1)

    def measure():
        rss, pss, procs = tree_rss_kib(args.pid)
        heap, histogram = live_heap_bytes(args.jcmd, args.pid) if args.jcmd else (None, None)
        return rss, pss, procs, heap, histogram

    # memory per session is the growth from half the sessions to all of them, which leaves out
    # what the first sessions cost once (compiled code, classes, pools)
    base = measure()
    started = time.monotonic()
    half = args.sessions // 2
    sessions, failed = [], []
    at_half = None
    for count in (half, args.sessions - half):
        results = await asyncio.gather(*(open_session(args, sem) for _ in range(count)), return_exceptions=True)
        sessions += [r for r in results if isinstance(r, Session)]
        failed += [r for r in results if not isinstance(r, Session)]
        await asyncio.sleep(3)
        if at_half is None:
            at_half = (len(sessions), measure())
    at_full = (len(sessions), measure())
    say("sessions_idling", len(sessions))
    say("sessions_failed", len(failed))
    if failed:
        say("first_failure", repr(failed[0])[:200])
    say("open_seconds", f"{time.monotonic() - started:.1f}")
    listeners = [asyncio.ensure_future(listen(s)) for s in sessions]
    (n0, (rss0, pss0, _, heap0, _)), (n1, (rss1, pss1, procs, heap1, histogram)) = at_half, at_full
    say("processes", procs)
    say("rss_half_kib", rss0)
    say("rss_idle_kib", rss1)
    say("pss_idle_kib", pss1)
    if n1 > n0:
        say("rss_per_session_kib", f"{(rss1 - rss0) / (n1 - n0):.1f}")
        say("pss_per_session_kib", f"{(pss1 - pss0) / (n1 - n0):.1f}")
    if n1:
        # with what the first sessions cost once
        say("pss_avg_per_session_kib", f"{(pss1 - base[1]) / n1:.1f}")
    if args.jcmd:
        if args.histogram_out:
            with open(args.histogram_out, "w") as f:
                f.write(histogram)
        say("live_heap_idle_kib", heap1 // 1024)
        if n1 > n0:
            say("live_heap_per_session_kib", f"{(heap1 - heap0) / 1024 / (n1 - n0):.1f}")

    for n, trig in enumerate(t for t in args.triggers.split(",") if t):
        for s in sessions:
            s.told = None
        await asyncio.sleep(1)
        if trig == "move":
            t0 = trigger_move(args.maildir, n)
        elif trig == "smtp":
            t0 = await asyncio.get_running_loop().run_in_executor(None, trigger_smtp, args.smtp_port, args.user, n)
        else:
            raise SystemExit(f"unknown trigger {trig}")
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline and any(s.told is None for s in sessions):
            await asyncio.sleep(0.05)
        ms = sorted((s.told - t0) * 1000 for s in sessions if s.told is not None)
        say(f"{trig}.told", f"{len(ms)}/{len(sessions)}")
        if ms:
            say(f"{trig}.min_ms", f"{ms[0]:.0f}")
            say(f"{trig}.median_ms", f"{statistics.median(ms):.0f}")
            say(f"{trig}.p99_ms", f"{pct(ms, 0.99):.0f}")
            say(f"{trig}.max_ms", f"{ms[-1]:.0f}")
    for s in sessions:
        s.writer.close()
    for t in listeners:
        t.cancel()


if __name__ == "__main__":
    asyncio.run(main())
