#!/usr/bin/env python3
"""Connection storm and soak against the real nsqd on loopback (a tool, not a timed test).

Starts ./build/nsqd (or --nsqd BINARY) on free loopback ports with a fresh data directory, then for --duration
seconds keeps --storm concurrent misbehaving connections churning:

  clean      magic, IDENTIFY, SUB to a storm topic, RDY, PUB/MPUB a few messages, CLS or close
  reset      magic, PUB, then close with SO_LINGER 0 (the daemon sees ECONNRESET)
  halfclose  magic and half a command, then shutdown(SHUT_WR) and wait for the daemon to hang up
  silent     connects and says nothing, or stops mid-session (a dead peer): the daemon must time it out
  slowloris  a PUB trickled one byte at a time, never finished
  noread     SUB with a large RDY on the busiest storm topic and never reads: its output buffer fills
  garbage    random bytes after the magic

while one well-behaved publisher (PUB with a window of outstanding OKs) and one well-behaved consumer (RDY,
FIN) keep going on their own topic. Every second it prints the daemon's open fds (/proc/PID/fd), RSS,
connections opened so far and the well-behaved throughput. At the end it stops the storm, waits for the daemon
to shed every storm connection, and checks:
  * fds back to the baseline (measured after start-up, with the well-behaved clients connected) within --fd-slack,
  * once the storm topics (and the messages they hold) are deleted: the allocator's bytes in use (/stats) back
    within --heap-slack-mb of the baseline (the leak check) and RSS within --rss-slack-mb (glibc keeps freed
    memory mapped, so RSS alone cannot tell a leak),
  * every message the publisher got OK for was delivered to the consumer exactly once (no loss, no duplicate),
  * the daemon is still running and answers /ping.
Exit status 0 when all hold. Raises its own RLIMIT_NOFILE (and the daemon's) to the hard limit.

  tools/storm.py --duration 60 --storm 2000
"""
import argparse
import asyncio
import json
import logging
import os
import random
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

GOOD_TOPIC = "storm_good"
STORM_TOPICS = [f"storm_{i}" for i in range(8)]


def sized(body: bytes) -> bytes:
    return struct.pack(">i", len(body)) + body


def mpub_body(bodies):
    payload = struct.pack(">i", len(bodies)) + b"".join(sized(b) for b in bodies)
    return sized(payload)


class Stats:
    def __init__(self):
        self.opened = 0
        self.failed_connects = 0
        self.by_kind = {}
        self.published_ok = 0
        self.delivered = 0


# ---- the daemon ------------------------------------------------------------------------------------------------

def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def start_daemon(binary, data_path, extra):
    proc = subprocess.Popen(
        [binary, "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0", f"--data-path={data_path}"] + extra,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=raise_nofile)
    tcp = http = None
    lines = []
    deadline = time.time() + 30
    while (tcp is None or http is None) and time.time() < deadline:
        line = proc.stdout.readline().decode(errors="replace")
        if not line:
            break
        lines.append(line)
        m = re.search(r"TCP: listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            tcp = int(m.group(1))
        m = re.search(r"HTTP: listening on 127\.0\.0\.1:(\d+)", line)
        if m:
            http = int(m.group(1))
    if tcp is None or http is None:
        proc.kill()
        sys.exit("nsqd did not start:\n" + "".join(lines))
    return proc, tcp, http


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_post(http_port, path):
    req = urllib.request.Request(f"http://127.0.0.1:{http_port}{path}", data=b"", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except Exception:  # noqa: BLE001
        return 0


def heap_in_use_mb(http_port):
    """The allocator's bytes in use (/stats memory, glibc mallinfo2): unlike RSS, it drops when memory is freed."""
    try:
        url = f"http://127.0.0.1:{http_port}/stats?format=json&include_mem=true&include_clients=false"
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())["memory"]["heap_in_use_bytes"] / 1048576.0
    except Exception:  # noqa: BLE001
        return -1.0


def sanitizer_runtime(pid):
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read()
    return next((lib for lib in ("libasan", "libtsan") if lib in maps), None)


def ping(http_port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/ping", timeout=5) as r:
            return r.status, r.read().decode()
    except Exception as e:  # noqa: BLE001 - any failure is reported as such
        return 0, str(e)


# ---- well-behaved clients --------------------------------------------------------------------------------------

async def read_frame(reader):
    head = await reader.readexactly(8)
    size, ftype = struct.unpack(">ii", head)
    data = await reader.readexactly(size - 4)
    return ftype, data


class GoodPublisher:
    """PUBs numbered bodies with up to `window` OKs outstanding; a body counts as acknowledged on its OK."""

    def __init__(self, port, window=64):
        self.port, self.window = port, window
        self.acked = set()
        self.errors = []
        self.next = 0
        self.stop = False

    async def run(self):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(b"  V2")
        pending = asyncio.Queue()
        sem = asyncio.Semaphore(self.window)

        async def replies():
            while True:
                ftype, data = await read_frame(reader)
                if ftype == 0 and data == b"_heartbeat_":
                    writer.write(b"NOP\n")
                    continue
                body = await pending.get()
                if ftype == 0 and data == b"OK":
                    self.acked.add(body)
                else:
                    self.errors.append((body, ftype, data))
                sem.release()

        task = asyncio.create_task(replies())
        while not self.stop:
            await sem.acquire()
            if task.done():
                raise RuntimeError(f"publisher connection failed: {task.exception()!r}")
            body = f"good-{self.next}".encode()
            self.next += 1
            await pending.put(body)
            writer.write(b"PUB " + GOOD_TOPIC.encode() + b"\n" + sized(body))
            await writer.drain()
        for _ in range(self.window):  # every outstanding PUB answered
            await sem.acquire()
        task.cancel()
        writer.close()


class GoodConsumer:
    def __init__(self, port):
        self.port = port
        self.seen = {}
        self.dupes = 0
        self.ready = asyncio.Event()

    async def run(self):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(b"  V2SUB " + GOOD_TOPIC.encode() + b" c\nRDY 200\n")
        self.ready.set()
        while True:
            ftype, data = await read_frame(reader)
            if ftype == 0:
                if data == b"_heartbeat_":
                    writer.write(b"NOP\n")
                continue
            if ftype == 1:
                raise RuntimeError(f"consumer got error {data!r}")
            msg_id, body = data[10:26], data[26:]
            self.seen[body] = self.seen.get(body, 0) + 1
            if self.seen[body] > 1:
                self.dupes += 1
            writer.write(b"FIN " + msg_id + b"\n")


# ---- the storm -------------------------------------------------------------------------------------------------

KINDS = ["clean", "clean", "reset", "halfclose", "silent", "slowloris", "noread", "garbage"]


async def storm_conn(port, kind, rng, stats, stop):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    except Exception:  # noqa: BLE001 - refused/timed out connects are counted, not fatal
        stats.failed_connects += 1
        await asyncio.sleep(0.05)
        return
    stats.opened += 1
    stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
    sock = writer.get_extra_info("socket")
    topic = rng.choice(STORM_TOPICS).encode()
    try:
        if kind == "clean":
            hb = rng.choice([b"", b',"heartbeat_interval":1000', b',"output_buffer_size":-1'])
            writer.write(b"  V2IDENTIFY\n" + sized(b'{"client_id":"storm"' + hb + b"}"))
            writer.write(b"SUB " + topic + b" ch" + str(rng.randrange(4)).encode() + b"\nRDY 5\n")
            for i in range(rng.randrange(1, 5)):
                writer.write(b"PUB " + topic + b"\n" + sized(b"x" * rng.randrange(1, 200)))
            writer.write(b"MPUB " + topic + b"\n" + mpub_body([b"m%d" % i for i in range(rng.randrange(1, 10))]))
            await writer.drain()
            await asyncio.sleep(rng.random() * 0.5)
            if rng.random() < 0.5:
                writer.write(b"CLS\n")
                await asyncio.sleep(0.05)
        elif kind == "reset":
            writer.write(b"  V2PUB " + topic + b"\n" + sized(b"r"))
            await writer.drain()
            await asyncio.sleep(rng.random() * 0.2)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif kind == "halfclose":
            writer.write(b"  V2PUB " + topic + b"\n" + struct.pack(">i", 100) + b"short")
            await writer.drain()
            writer.write_eof()
            await asyncio.wait_for(reader.read(), 30)  # nsqd answers E_BAD_MESSAGE, then closes
        elif kind == "silent":
            # A dead peer: nothing more after (maybe) the magic and IDENTIFY with a short heartbeat.
            if rng.random() < 0.5:
                writer.write(b"  V2IDENTIFY\n" + sized(b'{"heartbeat_interval":1000}'))
            else:
                writer.write(b"  V2")
            await writer.drain()
            await wait_stop(stop, 5 + rng.random() * 10)
        elif kind == "slowloris":
            cmd = b"  V2IDENTIFY\n" + sized(b'{"heartbeat_interval":2000}') + b"PUB " + topic + b"\n" + sized(b"z" * 50)
            for i in range(len(cmd) - 1):
                if stop.is_set() or writer.transport.is_closing() or reader.at_eof():
                    break
                writer.write(cmd[i:i + 1])
                await asyncio.sleep(0.2)
        elif kind == "noread":
            writer.write(b"  V2IDENTIFY\n" + sized(b'{"heartbeat_interval":2000}'))
            writer.write(b"SUB " + STORM_TOPICS[0].encode() + b" noread\nRDY 2500\n")
            await writer.drain()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            await wait_stop(stop, 5 + rng.random() * 10)
        elif kind == "garbage":
            writer.write(b"  V2" + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))))
            await writer.drain()
            await asyncio.sleep(rng.random() * 0.3)
    except (ConnectionError, asyncio.TimeoutError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # noqa: BLE001
            pass


async def wait_stop(stop, seconds):
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass


async def storm_worker(port, seed, stats, stop, busy_publisher):
    rng = random.Random(seed)
    while not stop.is_set():
        kind = "clean" if busy_publisher else rng.choice(KINDS)
        await storm_conn(port, kind, rng, stats, stop)


# ---- the run ---------------------------------------------------------------------------------------------------

async def main_async(args, pid, tcp, http):
    stats = Stats()
    consumer = GoodConsumer(tcp)
    ctask = asyncio.create_task(consumer.run())
    await consumer.ready.wait()
    publisher = GoodPublisher(tcp)
    ptask = asyncio.create_task(publisher.run())
    await asyncio.sleep(2)
    base_fds, base_rss, base_heap = fd_count(pid), rss_mb(pid), heap_in_use_mb(http)
    print(f"baseline: fds={base_fds} rss={base_rss:.1f}MB heap_in_use={base_heap:.1f}MB "
          f"(daemon pid {pid}, tcp {tcp}, http {http})", flush=True)

    stop = asyncio.Event()
    workers = [asyncio.create_task(storm_worker(tcp, args.seed * 100003 + i, stats, stop, i < args.storm // 20))
               for i in range(args.storm)]
    t0 = time.time()
    last_acked = last_delivered = 0
    peak_fds, peak_rss = base_fds, base_rss
    print(f"{'t':>5} {'fds':>6} {'rss_MB':>7} {'opened':>8} {'pub/s':>7} {'sub/s':>7} {'nsqd_cpu%':>9}", flush=True)
    last_cpu, last_t = cpu_seconds(pid), time.time()
    while time.time() - t0 < args.duration:
        await asyncio.sleep(1)
        if ptask.done() or ctask.done():
            break
        fds, rss = fd_count(pid), rss_mb(pid)
        peak_fds, peak_rss = max(peak_fds, fds), max(peak_rss, rss)
        acked, delivered = len(publisher.acked), sum(consumer.seen.values())
        cpu, now = cpu_seconds(pid), time.time()
        print(f"{now - t0:5.0f} {fds:6d} {rss:7.1f} {stats.opened:8d} {acked - last_acked:7d} "
              f"{delivered - last_delivered:7d} {100 * (cpu - last_cpu) / (now - last_t):9.0f}", flush=True)
        last_acked, last_delivered, last_cpu, last_t = acked, delivered, cpu, now
    stop.set()
    await asyncio.wait(workers, timeout=60)
    publisher.stop = True
    problems = []
    try:
        await asyncio.wait_for(ptask, 30)
    except Exception as e:  # noqa: BLE001
        problems.append(f"well-behaved publisher failed: {e!r}")
    if ctask.done() and ctask.exception():
        problems.append(f"well-behaved consumer failed: {ctask.exception()!r}")

    # Every acknowledged message, exactly once.
    deadline = time.time() + 60
    while time.time() < deadline and not all(b in consumer.seen for b in publisher.acked):
        await asyncio.sleep(0.5)
    lost = [b for b in publisher.acked if b not in consumer.seen]
    if lost:
        problems.append(f"{len(lost)} acknowledged messages never delivered, e.g. {lost[:3]}")
    if consumer.dupes:
        problems.append(f"{consumer.dupes} duplicate deliveries to the well-behaved consumer")
    if publisher.errors:
        problems.append(f"{len(publisher.errors)} publishes answered with an error, e.g. {publisher.errors[:2]}")

    # The daemon sheds every storm connection (silent peers after their heartbeat timeout, at most 2 x 30 s).
    deadline = time.time() + args.settle
    while time.time() < deadline and fd_count(pid) > base_fds + args.fd_slack:
        await asyncio.sleep(1)
    # What the storm left queued (messages published to storm topics whose consumers left) is data, not a
    # leak: delete those topics, then RSS must come back near the baseline.
    pre_delete_rss = rss_mb(pid)
    for t in STORM_TOPICS:
        http_post(http, f"/topic/delete?topic={t}")
    await asyncio.sleep(2)
    end_fds, end_rss, end_heap = fd_count(pid), rss_mb(pid), heap_in_use_mb(http)
    status, body = ping(http)
    secs = time.time() - t0
    print(f"storm: {stats.opened} connections in {args.duration:.0f} s ({stats.failed_connects} failed connects), "
          f"by kind {dict(sorted(stats.by_kind.items()))}")
    print(f"well-behaved: {len(publisher.acked)} acknowledged, {sum(consumer.seen.values())} delivered, "
          f"{consumer.dupes} duplicates, {len(lost)} lost; {len(publisher.acked) / max(secs, 1):.0f} msg/s overall")
    print(f"daemon: fds baseline {base_fds} peak {peak_fds} end {end_fds}; "
          f"RSS baseline {base_rss:.1f} MB peak {peak_rss:.1f} MB, {pre_delete_rss:.1f} MB with the storm topics' "
          f"messages, end {end_rss:.1f} MB after deleting them; heap in use baseline {base_heap:.1f} MB end "
          f"{end_heap:.1f} MB; /ping {status} {body!r}; nsqd CPU "
          f"{cpu_seconds(pid):.1f} s")
    if end_fds > base_fds + args.fd_slack:
        problems.append(f"fds did not return to baseline: {end_fds} vs {base_fds}")
    sanitized = sanitizer_runtime(pid)
    if sanitized:
        print(f"(nsqd runs under {sanitized}: its RSS is shadow memory and quarantine, so only the heap check counts)")
    elif end_rss > base_rss + args.rss_slack_mb:
        problems.append(f"RSS did not return near baseline: {end_rss:.1f} MB vs {base_rss:.1f} MB")
    if end_heap > base_heap + args.heap_slack_mb:
        problems.append(f"heap in use did not return near baseline: {end_heap:.1f} MB vs {base_heap:.1f} MB")
    if status != 200:
        problems.append(f"/ping answered {status} {body!r}")
    ctask.cancel()
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--nsqd", default=os.path.join(here, "..", "build", "nsqd"))
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--storm", type=int, default=2000, help="concurrent storm connections")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--settle", type=float, default=90, help="seconds to wait for fds to return to baseline")
    ap.add_argument("--fd-slack", type=int, default=2)
    ap.add_argument("--rss-slack-mb", type=float, default=64,
                    help="RSS above baseline allowed at the end (glibc keeps freed memory mapped)")
    ap.add_argument("--heap-slack-mb", type=float, default=4,
                    help="allocator bytes in use above baseline allowed at the end (the leak check)")
    ap.add_argument("--nsqd-arg", action="append", default=[], help="extra flag for nsqd (repeatable)")
    args = ap.parse_args()
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # writes to peers the daemon dropped are expected
    hard = raise_nofile()
    if hard < args.storm + 200:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} is too low for --storm {args.storm}")
    data = tempfile.mkdtemp(prefix="nsqd-storm.")
    proc, tcp, http = start_daemon(args.nsqd, data, args.nsqd_arg)
    # Drain the daemon's log so it never blocks on a full pipe; keep the interesting lines.
    log_lines = []
    log_counts = {}
    # The errors nsqd answers misbehaving clients with are expected; anything else is shown.
    expected = ("E_BAD_MESSAGE", "E_INVALID", "E_BAD_BODY", "E_BAD_TOPIC", "E_BAD_CHANNEL", "E_FIN_FAILED",
                "E_REQ_FAILED", "E_TOUCH_FAILED", "bad protocol magic")

    def drain():
        for line in proc.stdout:
            text = line.decode(errors="replace")
            level = next((w for w in ("FATAL", "ERROR", "WARN") if w in text), None)
            if level is None and "Sanitizer" not in text and "runtime error" not in text:
                continue
            log_counts[level or "SANITIZER"] = log_counts.get(level or "SANITIZER", 0) + 1
            if not any(e in text for e in expected) and len(log_lines) < 50:
                log_lines.append(text)
    import threading
    threading.Thread(target=drain, daemon=True).start()
    try:
        problems = asyncio.run(main_async(args, proc.pid, tcp, http))
        if proc.poll() is not None:
            problems.append(f"nsqd exited with {proc.returncode}")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(30)
                if rc != 0:
                    print(f"nsqd exit status {rc} after SIGTERM")
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(data, ignore_errors=True)
    print(f"daemon log lines by level: {log_counts}")
    if log_lines:
        print("daemon warnings/errors other than answers to bad input (first 50):\n" + "".join(log_lines), end="")
    for p in problems:
        print("FAIL:", p)
    print("PASS" if not problems else "FAILED")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
