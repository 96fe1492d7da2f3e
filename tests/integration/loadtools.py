"""Helpers for test_exhaustion.py: /proc sampling of the proxy process, a
raw origin that records the bytes it is sent, load-generating clients, the
admin socket and a tiny tmpfs.  Python 3 stdlib only; everything runs inside
the namespaces run.sh makes."""

import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time

import harness as H

CLK_TCK = os.sysconf("SC_CLK_TCK")
KiB = 1 << 10
MiB = 1 << 20


# --------------------------------------------------------------------------
# measured figures

def figure(case, **values):
    """Prints one line of measured figures (the issue note quotes them);
    with $SLUICE_IT_FIGURES set, also appends it there as JSON."""
    text = ", ".join("%s=%s" % (k, ("%.3f" % v) if isinstance(v, float) else v)
                     for k, v in values.items())
    sys.stdout.write("\n  [figures] %s: %s\n" % (case, text))
    sys.stdout.flush()
    path = os.environ.get("SLUICE_IT_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(dict(values, case=case)) + "\n")


# --------------------------------------------------------------------------
# the proxy process, seen from /proc

def cpu_seconds(pid):
    """utime + stime of `pid`, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state): utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / float(CLK_TCK)


def cpu_share(pid, seconds):
    """Share of one core `pid` used over the next `seconds`."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds(pid), time.monotonic()
    return (c1 - c0) / (t1 - t0)


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def set_nofile(pid, n):
    """Sets the soft RLIMIT_NOFILE of a running process (the hard limit
    stays, so that it can be raised again without CAP_SYS_RESOURCE);
    returns the old (soft, hard)."""
    old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (n, old[1]))
    return old


class RssSampler(threading.Thread):
    """Samples VmRSS of `pid` every `period` seconds until stop()."""

    def __init__(self, pid, period=0.1):
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.samples = []
        self._stop_ev = threading.Event()

    def run(self):
        while not self._stop_ev.is_set():
            try:
                self.samples.append(rss_bytes(self.pid))
            except (OSError, AssertionError):
                return
            self._stop_ev.wait(self.period)

    def stop(self):
        self._stop_ev.set()
        self.join(5)
        return self.samples


# --------------------------------------------------------------------------
# a raw origin: records what the proxy sends upstream, byte for byte

class RawOrigin:
    """Accepts on (host, port), reads each connection to EOF and records
    {"data": bytes, "opened": t, "eof": t or None}.  Never answers unless
    `reply` is set (bytes sent once the first read arrives)."""

    def __init__(self, host=H.ORIGIN_IP, port=0, reply=None):
        self.reply = reply
        self.lock = threading.Lock()
        self.conns = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            rec = {"data": b"", "opened": time.monotonic(), "eof": None}
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self._conn, args=(c, rec), daemon=True).start()

    def _conn(self, c, rec):
        c.settimeout(30)
        replied = False
        try:
            while True:
                d = c.recv(1 << 16)
                if not d:
                    break
                with self.lock:
                    rec["data"] += d
                if self.reply is not None and not replied:
                    replied = True
                    c.sendall(self.reply)
        except OSError:
            pass
        finally:
            rec["eof"] = time.monotonic()
            c.close()

    def mark(self):
        with self.lock:
            return len(self.conns)

    def since(self, mark):
        with self.lock:
            return [dict(r) for r in self.conns[mark:]]

    def close(self):
        self.sock.close()


# --------------------------------------------------------------------------
# the admin socket

def admin_request(path, method, target, timeout=5):
    with H.Conn(path, timeout=timeout) as c:
        c.send(("%s %s HTTP/1.1\r\nHost: sluice\r\nContent-Length: 0\r\n\r\n"
                % (method, target)).encode())
        return c.read_response(method)


# --------------------------------------------------------------------------
# load clients

class HttpLoop(threading.Thread):
    """One keep-alive connection, GETs `url_fmt % (cid, i)` in a loop
    until stop is set; each response must be 200 with `length` bytes.
    `done` counts completed requests; `errors` what went wrong."""

    def __init__(self, addr, cid, url_fmt, length, stop, timeout=20):
        super().__init__(daemon=True)
        self.addr, self.cid, self.url_fmt = addr, cid, url_fmt
        self.length, self.stop, self.timeout = length, stop, timeout
        self.done = 0
        self.errors = []
        self.port = None
        self.connections = 0

    def run(self):
        c = None
        try:
            c = H.Conn(self.addr, self.timeout)
            self.connections = 1
            self.port = c.local[1]
            i = 0
            while not self.stop.is_set():
                c.send(H.build_request("GET", self.url_fmt % (self.cid, i)))
                r = c.read_response("GET", sha_only=True)
                if r.status != 200 or r.length != self.length:
                    self.errors.append("request %d: status %d, %d bytes (want 200, %d): %r"
                                       % (i, r.status, r.length, self.length, r))
                    return
                if (r.header("Connection") or "").lower() == "close":
                    self.errors.append("request %d: the proxy asked to close: %r" % (i, r))
                    return
                self.done += 1
                i += 1
        except (OSError, EOFError, AssertionError) as e:
            self.errors.append("after %d requests: %s: %s" % (self.done, type(e).__name__, e))
        finally:
            if c is not None:
                c.close()


class TunnelLoop(threading.Thread):
    """One CONNECT tunnel to an echo server; sends `block` and reads it
    back in a loop until stop is set."""

    def __init__(self, addr, authority, stop, block=16 * KiB, timeout=20):
        super().__init__(daemon=True)
        self.addr, self.authority, self.stop = addr, authority, stop
        self.block, self.timeout = block, timeout
        self.rounds = 0
        self.bytes = 0
        self.errors = []
        self.port = None

    def run(self):
        c = None
        try:
            c = H.Conn(self.addr, self.timeout)
            self.port = c.local[1]
            c.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n"
                    % (self.authority, self.authority)).encode())
            r = c.read_response("CONNECT")
            if r.status != 200:
                self.errors.append("CONNECT: %r" % r)
                return
            data = H.payload(self.block, seed=self.rounds % 7)
            while not self.stop.is_set():
                c.send(data)
                back = c.read_exact(len(data))
                if back != data:
                    self.errors.append("round %d: echo differs" % self.rounds)
                    return
                self.rounds += 1
                self.bytes += len(data)
        except (OSError, EOFError, AssertionError) as e:
            self.errors.append("after %d rounds: %s: %s" % (self.rounds, type(e).__name__, e))
        finally:
            if c is not None:
                c.close()


# --------------------------------------------------------------------------
# a tiny file system for the access log

def private_mount_ns():
    """True when this process has a mount namespace of its own (run.sh's
    `unshare -m`): mounting here cannot touch the host."""
    try:
        return os.readlink("/proc/self/ns/mnt") != os.readlink("/proc/1/ns/mnt")
    except OSError:
        pass
    # /proc/1 may be out of reach (a VM's init): run.sh makes the network
    # and the mount namespace together, so a network namespace of its own
    # (only lo) made by run.sh means a mount namespace of its own too.
    return H.in_netns() and [n for _, n in socket.if_nameindex()] == ["lo"]


def mount_tmpfs(path, size):
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%d,mode=0755" % size,
                    "tmpfs", path], check=True, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)


def umount(path):
    subprocess.run(["umount", "-l", path], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def fill(path, block=4 * KiB):
    """Writes `path` until the file system is full; returns bytes written."""
    n = 0
    buf = b"\0" * block
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                k = f.write(buf)
            except OSError:
                break
            if not k:
                break
            n += k
    # the last pages may take a smaller write
    with open(path, "ab", buffering=0) as f:
        while True:
            try:
                if not f.write(b"\0"):
                    break
                n += 1
            except OSError:
                break
    return n


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


# --------------------------------------------------------------------------
# raw sockets

def wrap(sock):
    """A harness Conn around an already connected socket."""
    c = H.Conn.__new__(H.Conn)
    c.sock = sock
    c.buf = b""
    return c


def read_until_close(sock, timeout):
    """Reads until EOF or a reset, at most `timeout` seconds.  Returns
    (data, t_first_data, t_closed) with monotonic times (None if not seen)."""
    import select
    data, t_first, t_closed = b"", None, None
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, t_first, None
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            continue
        try:
            d = sock.recv(1 << 16)
        except ConnectionResetError:
            return data, t_first, time.monotonic()
        if not d:
            return data, t_first, time.monotonic()
        if t_first is None:
            t_first = time.monotonic()
        data += d


def status_of(data):
    """The status code of the first response in `data`, or None."""
    if not data.startswith(b"HTTP/1."):
        return None
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def header_of(data, name):
    head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    for ln in head:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == name.lower().encode():
            return v.strip().decode("latin-1")
    return None
