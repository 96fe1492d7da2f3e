#!/usr/bin/env python3
"""benches/transfer_rss.py - prove that sluice streams bodies in bounded memory.

Claim under test: "a 1 GiB upload or download through the proxy must not raise
its RSS by more than a few MiB".

What it does (Python 3 stdlib only; curl is used for the plain HTTP workloads
when it is installed, with a stdlib http.client fallback):

  * runs inside a fresh network namespace (it re-execs itself under
    `unshare -n` unless it is already in one with only `lo`), brings `lo` up,
    and only ever talks to 127.0.0.1 (the proxy) and 127.0.0.2 (the origins):
    no DNS, nothing leaves the namespace;
  * starts a threaded origin on 127.0.0.2:8080 (HTTP: streaming downloads with
    Content-Length or chunked framing, an upload sink that answers the byte
    count) and a raw TCP source/sink on 127.0.0.2:9000 (reached via CONNECT);
  * starts `sluice serve -c POLICY` with a listener on 127.0.0.1:0 and learns
    its port from the `start` line of the events log;
  * baseline RSS = VmRSS after start + one small forwarded request; during each
    workload VmRSS is sampled every 50 ms, and the kernel's own high-water mark
    (VmHWM, reset through /proc/PID/clear_refs before each workload) catches
    spikes between samples; peak = max of both; delta = peak - baseline;
  * prints a Markdown table and exits 1 if any byte count is wrong, any
    workload failed, the proxy died, or any delta exceeds --max-delta-kib
    (default 8 MiB).

Run:  benches/transfer_rss.sh [--size BYTES] [--sluice PATH] [--client curl|python]
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import http.client

MiB = 1 << 20
GiB = 1 << 30
PROXY_HOST = "127.0.0.1"
ORIGIN_HOST = "127.0.0.2"
HTTP_PORT = 8080
RAW_PORT = 9000
NETNS_ENV = "SLUICE_BENCH_NETNS"
IO_TIMEOUT = 60.0          # any single socket operation
BLOCK = MiB                # write/read unit for origins and python clients


# ---------------------------------------------------------------------------
# network namespace safety

def interfaces():
    """Interfaces of *this process's* network namespace (/proc/self/net/dev
    follows the namespace; /sys/class/net follows sysfs' mounter)."""
    names = []
    with open("/proc/self/net/dev") as f:
        for line in f.readlines()[2:]:
            names.append(line.split(":", 1)[0].strip())
    return names


def ensure_isolated_netns():
    ifs = interfaces()
    if ifs != ["lo"]:
        if os.environ.get(NETNS_ENV) == "1":
            sys.exit("transfer_rss: still not in an isolated network namespace "
                     "(interfaces: %s); refusing to run" % ", ".join(ifs))
        unshare = shutil.which("unshare")
        if not unshare:
            sys.exit("transfer_rss: unshare(1) not found; refusing to run outside "
                     "a private network namespace")
        env = dict(os.environ, **{NETNS_ENV: "1"})
        os.execve(unshare, [unshare, "-n", sys.executable,
                            os.path.abspath(__file__)] + sys.argv[1:], env)
    ip = shutil.which("ip") or "/sbin/ip"
    subprocess.run([ip, "link", "set", "lo", "up"], check=True)
    # 127.0.0.0/8 is on lo once it is up; make sure the origin address works.
    probe = socket.socket()
    try:
        probe.bind((ORIGIN_HOST, 0))
    finally:
        probe.close()


# ---------------------------------------------------------------------------
# origins

class Stats:
    """Per-request counters the origins keep, keyed by the request's id."""

    def __init__(self):
        self.lock = threading.Lock()
        self.d = {}

    def get(self, key):
        with self.lock:
            return self.d.setdefault(key, {"sent": 0, "recv": 0, "done": False,
                                           "error": None})

    def snapshot(self, key):
        with self.lock:
            return dict(self.d.get(key, {"sent": 0, "recv": 0, "done": False,
                                         "error": None}))


STATS = Stats()
PAYLOAD = memoryview(bytes(range(256)) * (BLOCK // 256))
CHUNK_FRAME = memoryview(b"%x\r\n" % BLOCK + bytes(PAYLOAD) + b"\r\n")


def send_stream(sock, n, st, chunked):
    left = n
    if chunked:
        while left >= BLOCK:
            sock.sendall(CHUNK_FRAME)
            left -= BLOCK
            st["sent"] += BLOCK
        if left:
            sock.sendall(b"%x\r\n" % left + PAYLOAD[:left] + b"\r\n")
            st["sent"] += left
        sock.sendall(b"0\r\n\r\n")
    else:
        while left:
            k = min(left, BLOCK)
            sock.sendall(PAYLOAD[:k])
            left -= k
            st["sent"] += k


class Reader:
    """Minimal buffered reader over a socket (lines + counted discards)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.scratch = bytearray(BLOCK)
        self.view = memoryview(self.scratch)

    def readline(self, limit=65536):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > limit:
                raise ValueError("line too long")
            data = self.sock.recv(65536)
            if not data:
                line = bytes(self.buf)
                self.buf.clear()
                return line
            self.buf += data

    def discard(self, n, st=None, pause_at=None, pause_s=0):
        """Read and drop exactly n bytes; returns how many were read."""
        got = 0
        if self.buf:
            k = min(n, len(self.buf))
            del self.buf[:k]
            got += k
            if st is not None:
                st["recv"] += k
        while got < n:
            if pause_at is not None and got >= pause_at:
                time.sleep(pause_s)
                pause_at = None
            want = min(n - got, BLOCK)
            if pause_at is not None:
                want = min(want, max(1, pause_at - got))
            k = self.sock.recv_into(self.view[:want])
            if k == 0:
                break
            got += k
            if st is not None:
                st["recv"] += k
        return got


def read_head(rd):
    line = rd.readline()
    if not line:
        return None, None
    start = line.decode("latin-1").rstrip("\r\n")
    headers = {}
    while True:
        h = rd.readline()
        if h in (b"\r\n", b"\n"):
            break
        if not h:
            raise ValueError("EOF in header")
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return start, headers


def read_chunked(rd, st, pause_at=None, pause_s=0):
    total = 0
    while True:
        line = rd.readline()
        if not line:
            raise ValueError("EOF in chunked body")
        size = int(line.split(b";")[0].strip(), 16)
        if size == 0:
            while rd.readline() not in (b"\r\n", b"\n", b""):
                pass                          # trailers
            return total
        pa = None
        if pause_at is not None and total <= pause_at < total + size:
            pa = pause_at - total
            pause_at = None
        if rd.discard(size, st, pa, pause_s) != size:
            raise ValueError("EOF in chunk")
        total += size
        if rd.readline() not in (b"\r\n", b"\n"):
            raise ValueError("bad chunk terminator")


class HTTPOrigin(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(IO_TIMEOUT)
        rd = Reader(sock)
        while True:
            try:
                start, headers = read_head(rd)
            except (OSError, ValueError):
                return
            if start is None:
                return
            method, target, _version = start.split(" ", 2)
            url = urllib.parse.urlsplit(target)
            q = dict(urllib.parse.parse_qsl(url.query))
            st = STATS.get(q.get("id", "anon"))
            st["headers"] = headers
            try:
                if headers.get("expect", "").lower() == "100-continue":
                    sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                keep = self.serve_one(sock, rd, method, url.path, q, headers, st)
            except (OSError, ValueError) as e:
                st["error"] = repr(e)
                return
            finally:
                st["done"] = True
            if not keep or headers.get("connection", "").lower() == "close":
                return

    def serve_one(self, sock, rd, method, path, q, headers, st):
        # request body (any method)
        received = 0
        pause_at = int(q["pause_at"]) if "pause_at" in q else None
        pause_s = float(q.get("pause_s", 0))
        if "chunked" in headers.get("transfer-encoding", "").lower():
            received = read_chunked(rd, st, pause_at, pause_s)
            st["framing_in"] = "chunked"
        elif "content-length" in headers:
            cl = int(headers["content-length"])
            received = rd.discard(cl, st, pause_at, pause_s)
            st["framing_in"] = "length"
            if received != cl:
                raise ValueError("short body %d/%d" % (received, cl))
        if path == "/bytes" and method == "GET":
            n = int(q["n"])
            chunked = q.get("chunked") == "1"
            head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            head += ("Transfer-Encoding: chunked\r\n" if chunked
                     else "Content-Length: %d\r\n" % n)
            sock.sendall((head + "\r\n").encode())
            send_stream(sock, n, st, chunked)
            return True
        if path == "/sink":
            body = b"received %d\n" % received
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
            return True
        body = b"ok\n"
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
                     + body)
        return True


class RawOrigin(socketserver.BaseRequestHandler):
    """Raw TCP on 127.0.0.2:9000. First line is a command:
         SEND N ID          -> we send N bytes and close
         RECV N ID          -> we read N bytes (or to EOF), answer "OK COUNT\\n"
         BOTH N ID          -> both at once; answer "OK COUNT\\n" after N bytes
                               sent and received, then close"""

    def handle(self):
        sock = self.request
        sock.settimeout(IO_TIMEOUT)
        rd = Reader(sock)
        try:
            cmd, n, key = rd.readline().decode().split()
            n = int(n)
        except (OSError, ValueError):
            return
        st = STATS.get(key)
        try:
            if cmd == "SEND":
                send_stream(sock, n, st, False)
                sock.shutdown(socket.SHUT_WR)
                rd.discard(1 << 62)            # until the client closes
            elif cmd == "RECV":
                got = rd.discard(n, st)
                sock.sendall(b"OK %d\n" % got)
                sock.shutdown(socket.SHUT_WR)
            elif cmd == "BOTH":
                errs = []

                def pump():
                    try:
                        send_stream(sock, n, st, False)
                    except OSError as e:
                        errs.append(e)
                t = threading.Thread(target=pump, daemon=True)
                t.start()
                got = rd.discard(n, st)
                t.join(IO_TIMEOUT)
                if errs:
                    raise errs[0]
                sock.sendall(b"OK %d\n" % got)
                sock.shutdown(socket.SHUT_WR)
        except (OSError, ValueError) as e:
            st["error"] = repr(e)
        finally:
            st["done"] = True


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 64


def start_origins():
    servers = []
    for port, handler in ((HTTP_PORT, HTTPOrigin), (RAW_PORT, RawOrigin)):
        srv = Server((ORIGIN_HOST, port), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    return servers


# ---------------------------------------------------------------------------
# the proxy under test and its memory

def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


class Sampler(threading.Thread):
    """Samples VmRSS every `interval`; window() brackets a workload."""

    def __init__(self, pid, interval=0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.lock = threading.Lock()
        self.peak = 0
        self.samples = 0
        self.stop_ev = threading.Event()

    def run(self):
        while not self.stop_ev.is_set():
            rss = proc_status(self.pid).get("VmRSS")
            if rss is not None:
                with self.lock:
                    self.peak = max(self.peak, rss)
                    self.samples += 1
            self.stop_ev.wait(self.interval)

    def reset(self):
        with self.lock:
            self.peak = proc_status(self.pid).get("VmRSS", 0)
            self.samples = 0
        hwm_ok = True
        try:   # "5" resets VmHWM to the current RSS (Linux >= 4.0)
            with open("/proc/%d/clear_refs" % self.pid, "w") as f:
                f.write("5")
        except OSError:
            hwm_ok = False
        return hwm_ok

    def result(self):
        with self.lock:
            return self.peak, self.samples


LIVE_PROXIES = []


class Proxy:
    def __init__(self, exe, workdir):
        self.exe, self.dir = exe, workdir
        self.access = os.path.join(workdir, "access.log")
        self.events = os.path.join(workdir, "events.log")
        self.policy = os.path.join(workdir, "policy.yaml")
        with open(self.policy, "w") as f:
            f.write(
                "version: 1\n"
                "listeners: [{name: bench, listen: \"%s:0\", tiers: [t]}]\n"
                "network: {allow_ranges: [%s/32], ip_literals: allow}\n"
                "tiers: {t: {domains: [\"%s/32\"], ports: [%d, %d]}}\n"
                "log: {access: %s, events: %s}\n"
                "timeouts: {shutdown_grace_ms: 1000}\n"
                % (PROXY_HOST, ORIGIN_HOST, ORIGIN_HOST, HTTP_PORT, RAW_PORT,
                   json.dumps(self.access), json.dumps(self.events)))
        self.proc = None
        self.port = None
        LIVE_PROXIES.append(self)

    def start(self):
        for p in (self.access, self.events):
            if os.path.exists(p):
                os.unlink(p)
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        self.out = open(os.path.join(self.dir, "sluice.stderr"), "ab")
        self.proc = subprocess.Popen([self.exe, "serve", "-c", self.policy],
                                     stdout=self.out, stderr=self.out, env=env,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sluice exited with %s at start: %s"
                                   % (self.proc.returncode, self.stderr_tail()))
            try:
                with open(self.events) as f:
                    first = f.readline()
                if first.endswith("\n"):
                    ev = json.loads(first)
                    if ev.get("event") == "start":
                        for lst in ev["listeners"]:
                            if lst["name"] == "bench":
                                self.port = int(lst["addr"].rsplit(":", 1)[1])
                                return
                    raise RuntimeError("unexpected first event line: %r" % first)
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        raise RuntimeError("no start event within 10 s: " + self.stderr_tail())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if not self.proc:
            return None
        if self.out.closed:
            return self.proc.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        return self.proc.returncode

    def stderr_tail(self, n=2000):
        try:
            with open(os.path.join(self.dir, "sluice.stderr"), "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def access_lines(self, needle):
        out = []
        try:
            with open(self.access) as f:
                for line in f:
                    if needle in line:
                        try:
                            out.append(json.loads(line))
                        except ValueError:
                            out.append({"unparsable": line.strip()})
        except OSError:
            pass
        return out


# ---------------------------------------------------------------------------
# clients

class Result:
    def __init__(self, ok, nbytes, expected, elapsed, note=""):
        self.ok, self.nbytes, self.expected = ok, nbytes, expected
        self.elapsed, self.note = elapsed, note


def clean_env():
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def curl(args, timeout):
    cmd = ["curl", "-sS", "--max-time", str(int(timeout)), "-H", "Expect:"] + args
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, env=clean_env(),
                       timeout=timeout + 10)
    return p, time.monotonic() - t0


def proxy_url(proxy):
    return "http://%s:%d" % (PROXY_HOST, proxy.port)


def origin_url(path, **q):
    return "http://%s:%d%s?%s" % (ORIGIN_HOST, HTTP_PORT, path,
                                 urllib.parse.urlencode(q))


def http_conn(proxy):
    c = http.client.HTTPConnection(PROXY_HOST, proxy.port, timeout=IO_TIMEOUT)
    c.connect()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def py_download(proxy, url, n, pause_at=None, on_pause=None):
    c = http_conn(proxy)
    t0 = time.monotonic()
    c.request("GET", url)
    r = c.getresponse()
    buf = bytearray(BLOCK)
    mv = memoryview(buf)
    got = 0
    paused = 0.0
    while True:
        if pause_at is not None and got >= pause_at:
            p0 = time.monotonic()
            on_pause()
            paused += time.monotonic() - p0
            pause_at = None
        k = r.readinto(mv)
        if not k:
            break
        got += k
    el = time.monotonic() - t0
    c.close()
    return r.status, got, el, paused


def py_upload(proxy, url, n, chunked):
    c = http_conn(proxy)

    def body():
        left = n
        while left:
            k = min(left, BLOCK)
            yield PAYLOAD[:k]
            left -= k
    t0 = time.monotonic()
    if chunked:
        c.request("POST", url, body=body(), encode_chunked=True,
                  headers={"Transfer-Encoding": "chunked"})
    else:
        c.request("POST", url, body=body(), headers={"Content-Length": str(n)})
    r = c.getresponse()
    text = r.read().decode("latin-1")
    el = time.monotonic() - t0
    c.close()
    return r.status, text, el


def tunnel(proxy, target):
    s = socket.create_connection((PROXY_HOST, proxy.port), timeout=IO_TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target))
    rd = Reader(s)
    status = rd.readline()
    if not re.match(rb"HTTP/1\.[01] 200", status):
        rest = bytes(rd.buf)
        s.close()
        raise RuntimeError("CONNECT refused: %r %r" % (status, rest[:300]))
    while rd.readline() not in (b"\r\n", b"\n"):
        pass
    return s, rd


# ---------------------------------------------------------------------------
# workloads

def stall(rid, seconds):
    """Sleep `seconds` (the client does not read) while watching how far the
    origin gets. Returns a note: bytes the origin pushed during the stall and
    during its second half (0 there = backpressure reached the origin)."""
    t0 = time.monotonic()
    begin = STATS.snapshot(rid)["sent"]
    time.sleep(seconds / 2)
    half = STATS.snapshot(rid)["sent"]
    time.sleep(max(0.0, seconds - (time.monotonic() - t0)))
    end = STATS.snapshot(rid)["sent"]
    return ("origin pushed %.1f MiB during the %g s stall, %.1f MiB in its "
            "second half (what it pushed waits in kernel socket buffers)"
            % ((end - begin) / MiB, seconds, (end - half) / MiB))

class Bench:
    def __init__(self, args, proxy, sampler):
        self.args, self.proxy, self.sampler = args, proxy, sampler
        self.use_curl = (args.client == "curl" or
                         (args.client == "auto" and shutil.which("curl")))
        self.seq = 0

    def new_id(self, name):
        self.seq += 1
        return "%s-%d" % (name, self.seq)

    # -- HTTP -----------------------------------------------------------------
    def download(self, chunked):
        n = self.args.size
        rid = self.new_id("dl-chunked" if chunked else "dl-length")
        url = origin_url("/bytes", n=n, id=rid, **({"chunked": 1} if chunked else {}))
        if self.use_curl:
            p, el = curl(["-x", proxy_url(self.proxy), "-o", "/dev/null",
                          "-w", "%{http_code} %{size_download}", url], 120)
            out = p.stdout.decode().split()
            status = int(out[0]) if out else 0
            got = int(out[1]) if len(out) > 1 else 0
            note = p.stderr.decode().strip() if p.returncode else ""
            if p.returncode:
                note = "curl exit %d: %s" % (p.returncode, note)
        else:
            status, got, el, _ = py_download(self.proxy, url, n)
            note = ""
        st = STATS.snapshot(rid)
        ok = status == 200 and got == n and st["sent"] == n
        if st["sent"] != n:
            note += "; origin sent %d" % st["sent"]
        if status != 200:
            note += "; status %d" % status
        return Result(ok, got, n, el, note.strip("; ")), rid

    def upload(self, chunked, pause=False):
        n = self.args.size // 2 if pause else self.args.size
        rid = self.new_id(("ul-chunked" if chunked else "ul-length") +
                          ("-slow-origin" if pause else ""))
        q = {"id": rid}
        if pause:
            q.update(pause_at=n // 4, pause_s=self.args.pause)
        url = origin_url("/sink", **q)
        if self.use_curl:
            args = ["-x", proxy_url(self.proxy), "-X", "POST",
                    "-T", self.upload_file(n), "-w", "\n%{http_code} %{size_upload}"]
            if chunked:
                args += ["-H", "Transfer-Encoding: chunked"]
            p, el = curl(args + [url], 120)
            lines = p.stdout.decode("latin-1").strip().splitlines()
            text = "\n".join(lines[:-1])
            tail = lines[-1].split() if lines else []
            status = int(tail[0]) if tail else 0
            note = ""
            if p.returncode:
                note = "curl exit %d: %s" % (p.returncode, p.stderr.decode().strip())
        else:
            status, text, el = py_upload(self.proxy, url, n, chunked)
            note = ""
        if pause:
            el -= self.args.pause      # MB/s excludes the origin's stall
        m = re.search(r"received (\d+)", text)
        got = int(m.group(1)) if m else -1
        st = STATS.snapshot(rid)
        framing = st.get("framing_in")
        want_framing = "chunked" if chunked else "length"
        ok = status == 200 and got == n and st["recv"] == n and framing == want_framing
        if framing != want_framing:
            note += "; origin saw framing %s" % framing
        if status != 200:
            note += "; status %d" % status
        if got != n:
            note += "; origin answered %r" % text[:200]
        return Result(ok, got, n, el, note.strip("; ")), rid

    def upload_file(self, n):
        path = os.path.join(self.args.workdir, "upload-%d.bin" % n)
        if not os.path.exists(path):
            with open(path, "wb") as f:     # sparse: no disk, reads as zeros
                f.truncate(n)
        return path

    def slow_download(self):
        n = self.args.size // 2
        rid = self.new_id("dl-slow-reader")
        url = origin_url("/bytes", n=n, id=rid)
        notes = []
        status, got, el, paused = py_download(
            self.proxy, url, n, pause_at=n // 4,
            on_pause=lambda: notes.append(stall(rid, self.args.pause)))
        st = STATS.snapshot(rid)
        note = "; ".join(notes)
        ok = status == 200 and got == n and st["sent"] == n
        return Result(ok, got, n, el - paused, note), rid

    # -- CONNECT ----------------------------------------------------------------
    def connect_down(self, pause=False):
        n = self.args.size // 2 if pause else self.args.size
        rid = self.new_id("connect-down" + ("-slow-reader" if pause else ""))
        s, rd = tunnel(self.proxy, b"%s:%d" % (ORIGIN_HOST.encode(), RAW_PORT))
        t0 = time.monotonic()
        s.sendall(b"SEND %d %s\n" % (n, rid.encode()))
        note = ""
        got = len(rd.buf)
        rd.buf.clear()
        buf = memoryview(bytearray(BLOCK))
        pause_at = n // 4 if pause else None
        paused = 0.0
        while True:
            if pause_at is not None and got >= pause_at:
                p0 = time.monotonic()
                note = stall(rid, self.args.pause)
                paused += time.monotonic() - p0
                pause_at = None
            k = s.recv_into(buf)
            if not k:
                break
            got += k
        el = time.monotonic() - t0 - paused
        s.close()
        st = STATS.snapshot(rid)
        ok = got == n and st["sent"] == n
        return Result(ok, got, n, el, note), rid

    def connect_up(self):
        n = self.args.size
        rid = self.new_id("connect-up")
        s, rd = tunnel(self.proxy, b"%s:%d" % (ORIGIN_HOST.encode(), RAW_PORT))
        t0 = time.monotonic()
        s.sendall(b"RECV %d %s\n" % (n, rid.encode()))
        left = n
        while left:
            k = min(left, BLOCK)
            s.sendall(PAYLOAD[:k])
            left -= k
        line = rd.readline()
        el = time.monotonic() - t0
        s.close()
        m = re.match(rb"OK (\d+)", line)
        got = int(m.group(1)) if m else -1
        st = STATS.snapshot(rid)
        ok = got == n and st["recv"] == n
        return Result(ok, got, n, el, "" if m else "origin answered %r" % line), rid

    def connect_both(self):
        n = self.args.size
        rid = self.new_id("connect-both")
        s, rd = tunnel(self.proxy, b"%s:%d" % (ORIGIN_HOST.encode(), RAW_PORT))
        t0 = time.monotonic()
        s.sendall(b"BOTH %d %s\n" % (n, rid.encode()))
        errs = []

        def pump():
            try:
                left = n
                while left:
                    k = min(left, BLOCK)
                    s.sendall(PAYLOAD[:k])
                    left -= k
            except OSError as e:
                errs.append(e)
        t = threading.Thread(target=pump, daemon=True)
        t.start()
        # download: n bytes of payload, then "OK COUNT\n"
        got = rd.discard(n)
        line = rd.readline()
        t.join(IO_TIMEOUT)
        el = time.monotonic() - t0
        s.close()
        m = re.match(rb"OK (\d+)", line)
        up = int(m.group(1)) if m else -1
        st = STATS.snapshot(rid)
        ok = got == n and up == n and st["recv"] == n and st["sent"] == n and not errs
        note = "down %d up %d" % (got, up) + (" client error %r" % errs if errs else "")
        return Result(ok, got + up, 2 * n, el, note), rid


# ---------------------------------------------------------------------------

class Deadline(BaseException):
    """Not an Exception: per-workload error handling must not swallow it."""


def parse_size(s):
    m = re.fullmatch(r"(\d+)\s*(|B|KiB|MiB|GiB)", s.strip())
    if not m:
        raise argparse.ArgumentTypeError("size like 1073741824, 256MiB or 1GiB")
    return int(m.group(1)) * {"": 1, "B": 1, "KiB": 1024, "MiB": MiB,
                              "GiB": GiB}[m.group(2)]


def measure_baseline(proxy):
    """VmRSS after start + one small forwarded request (None if it failed)."""
    c = http_conn(proxy)
    c.request("GET", origin_url("/small", id="warmup"))
    r = c.getresponse()
    warm = r.read()
    c.close()
    if r.status != 200 or warm != b"ok\n":
        print("warm-up request failed: %s %r" % (r.status, warm[:200]))
        return None
    time.sleep(0.3)
    return proc_status(proxy.proc.pid)["VmRSS"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sluice", default=os.path.join(here, "..", "sluice"))
    ap.add_argument("--size", type=parse_size, default=GiB,
                    help="bytes per transfer (default 1GiB; slow-reader and "
                         "slow-origin runs use half)")
    ap.add_argument("--pause", type=float, default=5.0,
                    help="seconds the slow reader / slow origin stalls")
    ap.add_argument("--max-delta-kib", type=int, default=8192)
    ap.add_argument("--client", choices=("auto", "curl", "python"), default="auto")
    ap.add_argument("--only", default="",
                    help="comma-separated workload keys to run (see table)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--deadline", type=int, default=300,
                    help="abort (exit 1) after this many seconds")
    args = ap.parse_args()

    ensure_isolated_netns()
    def on_alarm(*_):
        raise Deadline("global deadline of %d s reached" % args.deadline)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.deadline)

    args.sluice = os.path.abspath(args.sluice)
    args.workdir = tempfile.mkdtemp(prefix="sluice-transfer-rss-")
    start_origins()
    proxy = Proxy(args.sluice, args.workdir)
    proxy.start()
    sampler = Sampler(proxy.proc.pid)
    sampler.start()
    bench = Bench(args, proxy, sampler)

    baseline = measure_baseline(proxy)
    if baseline is None:
        proxy.stop()
        return 1

    size_label = ("%d GiB" % (args.size // GiB) if args.size % GiB == 0
                  else "%d MiB" % (args.size // MiB))
    half_label = "%d MiB" % (args.size // 2 // MiB)
    workloads = [
        ("dl-length", "1. HTTP GET %s, Content-Length" % size_label,
         lambda: bench.download(False)),
        ("dl-chunked", "2. HTTP GET %s, chunked" % size_label,
         lambda: bench.download(True)),
        ("ul-length", "3a. HTTP POST %s, Content-Length" % size_label,
         lambda: bench.upload(False)),
        ("ul-chunked", "3b. HTTP POST %s, chunked" % size_label,
         lambda: bench.upload(True)),
        ("connect-down", "4a. CONNECT %s origin->client" % size_label,
         lambda: bench.connect_down()),
        ("connect-up", "4b. CONNECT %s client->origin" % size_label,
         lambda: bench.connect_up()),
        ("connect-both", "4c. CONNECT %s each way at once" % size_label,
         lambda: bench.connect_both()),
        ("slow-reader", "5a. HTTP GET %s, client stalls %gs" % (half_label, args.pause),
         lambda: bench.slow_download()),
        ("slow-tunnel", "5b. CONNECT %s down, client stalls %gs" % (half_label, args.pause),
         lambda: bench.connect_down(pause=True)),
        ("slow-origin", "5c. HTTP POST %s, origin stalls %gs" % (half_label, args.pause),
         lambda: bench.upload(False, pause=True)),
    ]
    only = set(filter(None, args.only.split(",")))
    rows, details, failed = [], [], False
    t_all = time.monotonic()
    for key, label, fn in workloads:
        if only and key not in only:
            continue
        if not proxy.alive():
            details.append("- proxy is not running before `%s`; restarting it "
                           "(see earlier rows)" % key)
            proxy.start()
            sampler.stop_ev.set()
            sampler = Sampler(proxy.proc.pid)
            sampler.start()
            bench.sampler = sampler
            baseline = measure_baseline(proxy) or 0
            details.append("- new baseline after the restart: %d KiB" % baseline)
        hwm_ok = sampler.reset()
        before = proc_status(proxy.proc.pid).get("VmRSS", 0)
        err = None
        try:
            res, rid = fn()
        except Exception as e:           # report, keep going
            res, rid = Result(False, 0, 0, 0.0, "error: %r" % e), None
            err = e
        time.sleep(0.1)                  # one more sample after the end
        alive = proxy.alive()
        stat = proc_status(proxy.proc.pid) if alive else {}
        peak_s, nsamp = sampler.result()
        hwm = stat.get("VmHWM", 0) if hwm_ok else 0
        peak = max(peak_s, hwm)
        after = stat.get("VmRSS", 0)
        delta = peak - baseline
        mbps = (res.expected / res.elapsed / 1e6) if res.elapsed > 0 and res.ok else 0
        bad_mem = delta > args.max_delta_kib
        if not res.ok or bad_mem or not alive:
            failed = True
        rows.append("| %s | %d | %d | %d | %s | %s |" % (
            label, baseline, peak, delta,
            ("%.0f" % mbps) if mbps else "-",
            "yes" if res.ok else "**NO**"))
        d = ("- `%s`: bytes %d/%d, %.2f s, RSS before %d KiB, after %d KiB, "
             "sampled peak %d KiB (%d samples), VmHWM %s"
             % (key, res.nbytes, res.expected, res.elapsed, before, after,
                peak_s, nsamp, ("%d KiB" % hwm) if hwm_ok else "n/a"))
        if res.note:
            d += "; " + res.note
        if bad_mem:
            d += "; **RSS delta %d KiB > %d KiB**" % (delta, args.max_delta_kib)
        if not alive:
            d += "; **sluice exited with %s**: %s" % (proxy.proc.returncode,
                                                   proxy.stderr_tail(800))
        if rid:
            for a in proxy.access_lines(rid.encode().decode()) or (
                    proxy.access_lines('"port":%d' % RAW_PORT)[-1:]
                    if key.startswith(("connect", "slow-tunnel")) else []):
                d += ("; access: status %s reason %s bytes_up %s bytes_down %s "
                      "duration_ms %s" % (a.get("status"), a.get("reason"),
                                          a.get("bytes_up"), a.get("bytes_down"),
                                          a.get("duration_ms")))
        details.append(d)
        if err is not None and not isinstance(err, (OSError, RuntimeError,
                                                    ValueError, TimeoutError,
                                                    http.client.HTTPException,
                                                    subprocess.SubprocessError)):
            raise err

    final = proc_status(proxy.proc.pid).get("VmRSS", 0) if proxy.alive() else 0
    rc_proxy = proxy.stop()
    sampler.stop_ev.set()

    print("## sluice transfer RSS (%s, limit %d KiB per workload, client %s)\n"
          % (size_label, args.max_delta_kib, "curl" if bench.use_curl else "python"))
    print("baseline = VmRSS after start + one small request; peak = max(VmRSS "
          "sampled every 50 ms, VmHWM reset before the workload); delta = peak - "
          "baseline; MB/s = 10^6 bytes/s of payload (informational; slow-* rows "
          "exclude the stall)\n")
    print("| workload | baseline RSS KiB | peak RSS KiB | delta KiB | MB/s | bytes ok |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print("\n".join(details))
    print("- RSS after all workloads: %d KiB (baseline %d KiB); sluice exit code "
          "on SIGTERM: %s; total %.1f s" % (final, baseline, rc_proxy,
                                           time.monotonic() - t_all))
    if rc_proxy not in (0, None):
        failed = True
        print("- **sluice did not exit 0 on SIGTERM**: " + proxy.stderr_tail(800))
    print("\nRESULT: %s" % ("FAIL" if failed else "PASS"))
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    else:
        print("work dir kept: " + args.workdir)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Deadline as e:
        print("transfer_rss: %s; aborting" % e, file=sys.stderr)
        sys.exit(1)
    finally:
        for p in LIVE_PROXIES:      # never leave a sluice behind
            try:
                p.stop()
            except Exception:
                pass
