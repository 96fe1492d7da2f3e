"""End-to-end harness for sluice: fake DNS, origins, decoys and the proxy.

Everything here runs on loopback inside the network namespace that run.sh
creates (unshare -n): no packet can leave the machine.  The tests are written
against shared/SPEC.md, not against the implementation.

Pieces (all started once per test process, see `env()`):
  DnsServer   UDP+TCP on 127.0.0.1:<ephemeral>; answers A/AAAA from a dict.
  Origin      threaded HTTP/1.1 (keep-alive) on 127.0.0.2:80 and :8080, TLS
              on 127.0.0.2:443 (cert from a CA made with the openssl CLI).
  EchoServer  raw TCP echo on 127.0.0.2:7000 (CONNECT tunnels).
  Decoys      listeners on private/metadata addresses that must never see
              a connection.
  Proxy       writes a policy, runs `sluice serve -c`, reads the JSONL logs.
"""

import hashlib
import ipaddress
import json
import os
import re
import select
import shutil
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# --------------------------------------------------------------------------
# constants

ORIGIN_IP = "127.0.0.2"
HTTP_PORTS = (80, 8080)
TLS_PORT = 443
ECHO_PORT = 7000
DECOY_ADDRS = ("10.0.0.1", "169.254.169.254", "100.100.100.200",
               "192.168.1.1", "fd00::1", "fd00:ec2::254", "::1", "127.0.0.1")
DECOY_PORTS = (80, 443, 7000, 8080)
TIMEOUT = 5.0            # socket timeout for every client socket
TLS_NAMES = ("tls.test", "*.tls.test", "git.test", "pypi.test", "npm.test")

REASONS = {"allowed", "not_allowlisted", "port_not_allowed", "ip_literal",
           "denied_address", "dns_failure", "auth_required", "session_paused",
           "session_killed", "byte_cap", "rate_limited", "connection_cap",
           "bad_request", "header_too_large", "upstream_failed",
           "upstream_timeout", "log_unavailable", "shutting_down",
           "report_only"}

HERE = os.path.dirname(os.path.abspath(__file__))


def sluice_binary():
    return os.environ.get("SLUICE") or os.path.abspath("sluice")


def in_netns():
    return os.environ.get("SLUICE_IT_NETNS") == "1"


# --------------------------------------------------------------------------
# deterministic payloads

_BLOCK = {}


def _block(seed):
    if seed not in _BLOCK:
        parts = []
        for i in range(2048):  # 2048 * 32 = 64 KiB
            parts.append(hashlib.sha256(b"%d:%d" % (seed, i)).digest())
        _BLOCK[seed] = b"".join(parts)
    return _BLOCK[seed]


def payload_chunks(n, seed=0, chunk=65536):
    """Yields n deterministic bytes in chunks of at most `chunk`."""
    block = _block(seed)
    left, off = n, 0
    while left > 0:
        k = min(left, len(block) - off, chunk)
        yield block[off:off + k]
        off = (off + k) % len(block)
        left -= k


def payload(n, seed=0):
    return b"".join(payload_chunks(n, seed))


def payload_sha256(n, seed=0):
    h = hashlib.sha256()
    for c in payload_chunks(n, seed):
        h.update(c)
    return h.hexdigest()


# --------------------------------------------------------------------------
# DNS server

NXDOMAIN = "NXDOMAIN"
SERVFAIL = "SERVFAIL"
NOANSWER = "NOANSWER"   # never answered: the client times out


class Rotate:
    """An answer that changes between lookups: the k-th query of a given
    type gets sets[min(k, len-1)] (the last one sticks)."""

    def __init__(self, *sets):
        self.sets = [list(s) for s in sets]


class DnsServer:
    """A/AAAA server on UDP and TCP.  `records` maps a lower-case name
    without trailing dot to a list of addresses, NXDOMAIN, SERVFAIL,
    NOANSWER or a Rotate.  Names not in `records` go to `default(name)`.
    Every query is recorded as (name, qtype, transport)."""

    def __init__(self, host="127.0.0.1", port=0, default=None, ttl=0):
        self.records = {}
        self.default = default or (lambda name: NXDOMAIN)
        self.ttl = ttl
        self.log = []
        self.lock = threading.Lock()
        self._qcount = {}
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((host, port))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((host, self.port))
        self.tcp.listen(64)
        self.host = host
        for target in (self._udp_loop, self._tcp_loop):
            threading.Thread(target=target, daemon=True).start()

    @property
    def server(self):
        return "%s:%d" % (self.host, self.port)

    def set(self, name, answer):
        with self.lock:
            self.records[name.lower().rstrip(".")] = answer

    def queries(self, name=None, qtype=None):
        with self.lock:
            return [q for q in self.log
                    if (name is None or q[0] == name.lower().rstrip("."))
                    and (qtype is None or q[1] == qtype)]

    def reset_log(self):
        with self.lock:
            self.log.clear()

    # ---- wire format
    def _answer(self, query, transport):
        if len(query) < 12:
            return None
        qid, flags, qd = struct.unpack("!HHH", query[:6])
        if qd < 1:
            return None
        pos, labels = 12, []
        while True:
            if pos >= len(query):
                return None
            ln = query[pos]
            pos += 1
            if ln == 0:
                break
            if ln & 0xC0:
                return None
            labels.append(query[pos:pos + ln])
            pos += ln
        if pos + 4 > len(query):
            return None
        qtype, qclass = struct.unpack("!HH", query[pos:pos + 4])
        question = query[12:pos + 4]
        name = b".".join(labels).decode("ascii", "replace").lower()
        with self.lock:
            self.log.append((name, qtype, transport))
            key = (name, qtype)
            k = self._qcount.get(key, 0)
            self._qcount[key] = k + 1
            ans = self.records.get(name)
        if ans is None:
            ans = self.default(name)
        if isinstance(ans, Rotate):
            ans = ans.sets[min(k, len(ans.sets) - 1)]
        if ans == NOANSWER:
            return None
        rcode = 0
        rrs = []
        if ans == NXDOMAIN:
            rcode = 3
        elif ans == SERVFAIL:
            rcode = 2
        else:
            for a in ans:
                ip = ipaddress.ip_address(a)
                if qtype == 1 and ip.version == 4:
                    rrs.append(struct.pack("!HHHIH", 0xC00C, 1, 1, self.ttl, 4)
                               + ip.packed)
                elif qtype == 28 and ip.version == 6:
                    rrs.append(struct.pack("!HHHIH", 0xC00C, 28, 1, self.ttl, 16)
                               + ip.packed)
        rflags = 0x8000 | (flags & 0x7800) | 0x0400 | (flags & 0x0100) | 0x0080 | rcode
        return (struct.pack("!HHHHHH", qid, rflags, 1, len(rrs), 0, 0)
                + question + b"".join(rrs))

    def _udp_loop(self):
        while True:
            try:
                data, peer = self.udp.recvfrom(4096)
            except OSError:
                return
            resp = self._answer(data, "udp")
            if resp is not None:
                try:
                    self.udp.sendto(resp, peer)
                except OSError:
                    pass

    def _tcp_loop(self):
        while True:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(c,), daemon=True).start()

    def _tcp_conn(self, c):
        c.settimeout(10)
        try:
            while True:
                hdr = _recv_exact(c, 2)
                if hdr is None:
                    return
                (n,) = struct.unpack("!H", hdr)
                q = _recv_exact(c, n)
                if q is None:
                    return
                resp = self._answer(q, "tcp")
                if resp is not None:
                    c.sendall(struct.pack("!H", len(resp)) + resp)
        except OSError:
            pass
        finally:
            c.close()


def dns_query(server, name, qtype=1, tcp=False, timeout=2.0):
    """Tiny client, used to self-test the DNS server.  Returns
    (rcode, [addresses]) or None on timeout."""
    host, port = server.rsplit(":", 1)
    qid = 0x1234
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", qtype, 1)
    if tcp:
        s = socket.create_connection((host, int(port)), timeout=timeout)
        s.sendall(struct.pack("!H", len(q)) + q)
        try:
            (n,) = struct.unpack("!H", _recv_exact(s, 2))
            r = _recv_exact(s, n)
        except (socket.timeout, TypeError):
            return None
        finally:
            s.close()
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.sendto(q, (host, int(port)))
        try:
            r, _ = s.recvfrom(4096)
        except socket.timeout:
            return None
        finally:
            s.close()
    flags, _, an = struct.unpack("!HHH", r[2:8])
    pos = len(q)
    addrs = []
    for _ in range(an):
        _, t, _, _, ln = struct.unpack("!HHHIH", r[pos:pos + 12])
        rd = r[pos + 12:pos + 12 + ln]
        addrs.append(str(ipaddress.ip_address(rd)))
        pos += 12 + ln
    return flags & 0xF, addrs


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            return None
        buf += d
    return buf


# --------------------------------------------------------------------------
# origin servers

class OriginState:
    """Shared by all origin listeners: request log, connection count,
    extra routes and static mounts."""

    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = []        # dicts: method, target, version, headers, conn, port, tls
        self.routes = {}          # path -> (status, content-type, body bytes)
        self.mounts = {}          # url prefix -> directory

    def add_route(self, path, body, ctype="application/octet-stream", status=200):
        with self.lock:
            self.routes[path] = (status, ctype, body)

    def mount(self, prefix, directory):
        with self.lock:
            self.mounts[prefix] = directory

    def requests_since(self, mark):
        with self.lock:
            return list(self.requests[mark:])

    def mark(self):
        with self.lock:
            return len(self.requests)


class OriginHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server_version = "sluice-test-origin"

    def log_message(self, *a):
        pass

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()
        st = self.server.state
        with st.lock:
            st.connections += 1
            self.conn_id = st.connections

    # ---- body helpers
    def read_body_chunks(self):
        te = self.headers.get("Transfer-Encoding")
        if te is not None and te.strip().lower() == "chunked":
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    d = self.rfile.read(min(left, 1 << 18))
                    if not d:
                        raise ConnectionError("short chunk")
                    left -= len(d)
                    yield d
                self.rfile.readline(16)
        else:
            n = int(self.headers.get("Content-Length") or 0)
            while n:
                d = self.rfile.read(min(n, 1 << 18))
                if not d:
                    raise ConnectionError("short body")
                n -= len(d)
                yield d

    def reply(self, status, body=b"", ctype="application/octet-stream",
              extra=(), head=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        if status not in (204, 304) and not (100 <= status < 200):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and status not in (204, 304):
            self.wfile.write(body)

    # ---- dispatch
    def do_GET(self):
        self.dispatch(head=False)

    def do_HEAD(self):
        self.dispatch(head=True)

    do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_GET

    def dispatch(self, head):
        st = self.server.state
        rec = {"method": self.command, "target": self.path,
               "version": self.request_version,
               "headers": [[k, v] for k, v in self.headers.items()],
               "conn": self.conn_id, "port": self.server.server_address[1],
               "tls": isinstance(self.request, ssl.SSLSocket)}
        with st.lock:
            st.requests.append(rec)
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        path = u.path
        if path == "/echo":
            length = 0
            h = hashlib.sha256()
            for d in self.read_body_chunks():
                h.update(d)
                length += len(d)
            rec["body_length"] = length
            body = json.dumps(dict(rec, body_sha256=h.hexdigest())).encode()
            extra = []
            if q.get("resp_hop"):
                extra = [("Connection", "X-Resp-Hop"), ("X-Resp-Hop", "1"),
                         ("Keep-Alive", "timeout=5"), ("X-End-To-End", "kept")]
            return self.reply(200, body, "application/json", extra, head)
        if path == "/upload":
            length = 0
            h = hashlib.sha256()
            for d in self.read_body_chunks():
                h.update(d)
                length += len(d)
            body = json.dumps({"length": length, "sha256": h.hexdigest()}).encode()
            return self.reply(200, body, "application/json", head=head)
        if path == "/bytes":
            n = int(q.get("n", "0"))
            seed = int(q.get("seed", "0"))
            chunked = q.get("chunked") == "1" and self.request_version != "HTTP/1.0"
            for _ in self.read_body_chunks():
                pass
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            elif self.request_version == "HTTP/1.0" and q.get("chunked") == "1":
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(n))
            self.end_headers()
            if head:
                return
            for c in payload_chunks(n, seed):
                if chunked:
                    self.wfile.write(b"%x\r\n" % len(c) + c + b"\r\n")
                else:
                    self.wfile.write(c)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            return
        if path == "/status":
            code = int(q.get("code", "200"))
            extra = [("ETag", '"v1"')] if code == 304 else []
            return self.reply(code, b"" if code in (204, 304) else b"status\n",
                              "text/plain", extra, head)
        if path == "/truncate":
            # promises n bytes, sends `send`, then hangs up
            n, send = int(q.get("n", "1000")), int(q.get("send", "500"))
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            self.wfile.write(payload(send))
            self.wfile.flush()
            self.close_connection = True
            return
        if path == "/slow":
            time.sleep(int(q.get("ms", "500")) / 1000.0)
            return self.reply(200, b"slow done\n", "text/plain", head=head)
        with st.lock:
            route = st.routes.get(path)
            mounts = dict(st.mounts)
        if route:
            status, ctype, body = route
            return self.reply(status, body, ctype, head=head)
        for prefix, directory in mounts.items():
            if path.startswith(prefix):
                rel = urllib.parse.unquote(path[len(prefix):]).lstrip("/")
                fs = os.path.normpath(os.path.join(directory, rel))
                if not fs.startswith(os.path.normpath(directory)):
                    break
                if os.path.isdir(fs):
                    fs = os.path.join(fs, "index.html")
                if os.path.isfile(fs):
                    with open(fs, "rb") as f:
                        body = f.read()
                    ctype = "text/html" if fs.endswith(".html") else \
                        "application/json" if fs.endswith(".json") else \
                        "application/octet-stream"
                    return self.reply(200, body, ctype, head=head)
        return self.reply(404, b"not found\n", "text/plain", head=head)


class _OriginServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, addr, state, tls_ctx=None):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.state = state
        self.tls_ctx = tls_ctx
        super().__init__(addr, OriginHandler)

    def get_request(self):
        sock, peer = self.socket.accept()
        if self.tls_ctx is not None:
            sock = self.tls_ctx.wrap_socket(sock, server_side=True,
                                            do_handshake_on_connect=False)
        return sock, peer

    def handle_error(self, request, client_address):
        pass  # a client that hangs up mid-request is not our problem here


class TestCA:
    """A CA and one leaf (SANs TLS_NAMES) made with the openssl CLI."""

    def __init__(self, directory):
        self.dir = directory
        self.ca = os.path.join(directory, "ca.pem")
        self.cert = os.path.join(directory, "leaf.pem")
        self.key = os.path.join(directory, "leaf.key")
        ca_key = os.path.join(directory, "ca.key")
        csr = os.path.join(directory, "leaf.csr")
        ext = os.path.join(directory, "leaf.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join("DNS:" + n for n in TLS_NAMES) + "\n"
                    "basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid\n")

        def run(*args):
            subprocess.run(["openssl"] + list(args), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", ca_key, "-out", self.ca, "-days", "2",
            "-subj", "/CN=sluice integration test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", self.key, "-out", csr, "-subj", "/CN=tls.test")
        run("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", ca_key,
            "-CAcreateserial", "-out", self.cert, "-days", "2", "-extfile", ext)

    def server_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        return ctx


class EchoServer:
    """Raw TCP echo: echoes until the client's EOF, then closes."""

    def __init__(self, host, port):
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c):
        c.settimeout(30)
        try:
            while True:
                d = c.recv(1 << 18)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            c.close()


class Decoys:
    """Listeners that must never be reached.  `hits` records (addr, port)."""

    def __init__(self, addrs=DECOY_ADDRS, ports=DECOY_PORTS):
        self.hits = []
        self.lock = threading.Lock()
        self.socks = {}
        self.failed = []
        for a in addrs:
            for p in ports:
                fam = socket.AF_INET6 if ":" in a else socket.AF_INET
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((a, p))
                    s.listen(16)
                except OSError as e:
                    self.failed.append("%s:%d (%s)" % (a, p, e))
                    s.close()
                    continue
                s.setblocking(False)
                self.socks[s.fileno()] = (s, a, p)
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            r, _, _ = select.select([s for s, _, _ in self.socks.values()], [], [], 1.0)
            for s in r:
                _, a, p = self.socks[s.fileno()]
                try:
                    c, peer = s.accept()
                    c.close()
                except OSError:
                    continue
                with self.lock:
                    self.hits.append((a, p))

    def mark(self):
        with self.lock:
            return len(self.hits)

    def since(self, mark):
        with self.lock:
            return list(self.hits[mark:])


class Env:
    """Everything shared by the whole test process."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="sluice-it-")
        self.ca = TestCA(self.tmp)
        self.dns = DnsServer(default=lambda n: [ORIGIN_IP] if n.endswith(".test")
                             else NXDOMAIN)
        # a stray resolver on 127.0.0.1:53 (run.sh points /etc/resolv.conf
        # at it): any query here means someone used the system resolver.
        # Without it a leak would go unseen: no test runs then.
        self.stray_dns = DnsServer(port=53, default=lambda n: NXDOMAIN)
        self.origin = OriginState()
        self.http = []
        for p in HTTP_PORTS:
            srv = _OriginServer((ORIGIN_IP, p), self.origin)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            self.http.append(srv)
        srv = _OriginServer((ORIGIN_IP, TLS_PORT), self.origin, self.ca.server_context())
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.tls = srv
        self.echo = EchoServer(ORIGIN_IP, ECHO_PORT)
        self.decoys = Decoys()
        if self.decoys.failed:
            # A decoy that never listened proves nothing.
            raise OSError("decoy listeners could not bind: %s"
                          % ", ".join(self.decoys.failed))


_ENV = None


def env():
    global _ENV
    if _ENV is None:
        if not in_netns():
            raise unittest.SkipTest("not inside the test network namespace: run tests/integration/run.sh")
        _ENV = Env()
    return _ENV


# --------------------------------------------------------------------------
# HTTP client over a raw socket

class Response:
    def __init__(self, version, status, reason, headers, body, head_raw):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers      # list of (name, value)
        self.body = body
        self.head_raw = head_raw

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %s %r body=%r>" % (self.status, self.headers, self.body[:200])


class Conn:
    """One client connection to the proxy (or anything), with a buffer so
    several responses can be read from it (keep-alive)."""

    def __init__(self, addr, timeout=TIMEOUT):
        if isinstance(addr, str):      # a Unix socket path
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(addr)
        else:
            self.sock = socket.create_connection(addr, timeout=timeout)
        self.buf = b""

    @property
    def local(self):
        return self.sock.getsockname()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(1 << 18)
        if not d:
            return False
        self.buf += d
        return True

    def read_until(self, sep, limit=1 << 20):
        while sep not in self.buf:
            if len(self.buf) > limit:
                raise AssertionError("no %r within %d bytes" % (sep, limit))
            if not self._fill():
                raise EOFError("connection closed before %r; got %r" % (sep, self.buf[:300]))
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def read_exact(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise EOFError("connection closed after %d of %d bytes" % (len(self.buf), n))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_to_eof(self):
        while self._fill():
            pass
        out, self.buf = self.buf, b""
        return out

    def at_eof(self, wait=TIMEOUT):
        """True if the peer closed (reads EOF) within `wait` seconds."""
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(TIMEOUT)

    def read_response(self, method="GET", sha_only=False, keep_interim=False):
        """Reads one response; 1xx are skipped.  With sha_only, the body is
        not kept: `body` is b'' and `.sha256`/`.length` are set."""
        while True:
            head = self.read_until(b"\r\n\r\n", limit=1 << 20)
            lines = head[:-4].split(b"\r\n")
            m = re.match(rb"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
            if not m:
                raise AssertionError("bad status line %r" % lines[0])
            status = int(m.group(2))
            headers = []
            for ln in lines[1:]:
                k, _, v = ln.partition(b":")
                headers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
            resp = Response(m.group(1).decode(), status,
                            (m.group(3) or b"").decode("latin-1"), headers, b"", head)
            if 100 <= status < 200 and status != 101 and not keep_interim:
                continue
            break
        h = hashlib.sha256()
        parts = []
        length = 0

        def take(d):
            nonlocal length
            length += len(d)
            h.update(d)
            if not sha_only:
                parts.append(d)

        te = (resp.header("Transfer-Encoding") or "").lower()
        no_body = (method == "HEAD" or status in (204, 304) or 100 <= status < 200
                   or (method == "CONNECT" and 200 <= status < 300))
        if no_body:
            pass
        elif "chunked" in te:
            while True:
                line = self.read_until(b"\r\n")
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.read_until(b"\r\n") != b"\r\n":
                        pass
                    break
                left = size
                while left:
                    if not self.buf and not self._fill():
                        raise EOFError("closed inside a chunk")
                    d = self.buf[:left]
                    self.buf = self.buf[len(d):]
                    left -= len(d)
                    take(d)
                self.read_exact(2)
        elif resp.header("Content-Length") is not None:
            left = int(resp.header("Content-Length"))
            while left:
                if not self.buf and not self._fill():
                    raise EOFError("closed with %d body bytes missing" % left)
                d = self.buf[:left]
                self.buf = self.buf[len(d):]
                left -= len(d)
                take(d)
        else:
            while True:
                if self.buf:
                    take(self.buf)
                    self.buf = b""
                if not self._fill():
                    break
        resp.body = b"".join(parts)
        resp.sha256 = h.hexdigest()
        resp.length = length
        return resp

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def build_request(method, target, host=None, headers=(), body=None, version="HTTP/1.1",
                  close=False):
    """An absolute-form (or any-form) request as bytes.  `host` None: taken
    from the target's authority; False: no Host header.  close=True adds
    `Connection: close` (by default the helpers just hang up after one
    response)."""
    if host is None:
        if "://" in target:
            host = urllib.parse.urlsplit(target).netloc
        else:
            host = target
    out = "%s %s %s\r\n" % (method, target, version)
    if host is not False:
        out += "Host: %s\r\n" % host
    names = {k.lower() for k, _ in headers}
    for k, v in headers:
        out += "%s: %s\r\n" % (k, v)
    if close and "connection" not in names:
        out += "Connection: close\r\n"
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        out += "Content-Length: %d\r\n" % len(body)
    out = out.encode("latin-1") + b"\r\n"
    if body is not None:
        out += body
    return out


# --------------------------------------------------------------------------
# policy YAML

def _yaml_scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(str(v), ensure_ascii=False)


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts/lists of scalars (good enough for policies)."""
    pad = "  " * indent
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, dict):
                if not v:
                    out.append("%s%s: {}" % (pad, k))
                else:
                    out.append("%s%s:" % (pad, k))
                    out.append(to_yaml(v, indent + 1))
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                out.append("%s%s:" % (pad, k))
                out.append(to_yaml(v, indent + 1))
            elif isinstance(v, list):
                out.append("%s%s: [%s]" % (pad, k, ", ".join(_yaml_scalar(x) for x in v)))
            else:
                out.append("%s%s: %s" % (pad, k, _yaml_scalar(v)))
    elif isinstance(obj, list):
        for item in obj:
            sub = to_yaml(item, indent + 1).split("\n")
            first = sub[0].lstrip()
            out.append("%s- %s" % (pad, first))
            out.extend(sub[1:])
    return "\n".join(x for x in out if x != "")


# --------------------------------------------------------------------------
# the proxy

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

ACCESS_TYPES = {
    "v": (int,), "ts": (str,), "event": (str,), "id": (str,),
    "session": (str, type(None)), "listener": (str,), "client": (str,),
    "method": (str, type(None)), "host": (str, type(None)),
    "port": (int, type(None)), "path": (str, type(None)),
    "tier": (str, type(None)), "decision": (str,), "reason": (str,),
    "addr": (str, type(None)), "status": (int,), "bytes_up": (int,),
    "bytes_down": (int,), "duration_ms": (int,),
}


def check_access_schema(line):
    """Raises AssertionError naming the first field that is off."""
    for k, types in ACCESS_TYPES.items():
        if k not in line:
            raise AssertionError("access line lacks %r: %s" % (k, json.dumps(line)))
        v = line[k]
        if isinstance(v, bool) or not isinstance(v, types):
            raise AssertionError("access field %r has type %s (want %s): %s"
                                 % (k, type(v).__name__,
                                    "/".join(t.__name__ for t in types), json.dumps(line)))
    if line["v"] != 1:
        raise AssertionError("v=%r, want 1" % line["v"])
    if line["event"] != "access":
        raise AssertionError("event=%r, want access" % line["event"])
    if not TS_RE.match(line["ts"]):
        raise AssertionError("ts %r is not YYYY-MM-DDTHH:MM:SS.mmmZ" % line["ts"])
    if line["decision"] not in ("allow", "deny"):
        raise AssertionError("decision %r not allow/deny" % line["decision"])
    if line["reason"] not in REASONS:
        raise AssertionError("reason %r not in the closed set" % line["reason"])
    for k in ("bytes_up", "bytes_down", "duration_ms"):
        if line[k] < 0:
            raise AssertionError("%s negative: %r" % (k, line[k]))
    if not line["id"]:
        raise AssertionError("empty id")


def read_jsonl(path, bad=None):
    """All complete lines of a JSONL file, parsed; every one must parse
    (or, given a list `bad`, unparsable lines are appended to it)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out = []
    lines = data.split(b"\n")
    for i, raw in enumerate(lines[:-1]):  # the last piece is incomplete or ''
        try:
            obj = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            if bad is not None:
                bad.append(raw)
                continue
            raise AssertionError("%s line %d is not JSON (%s): %r" % (path, i + 1, e, raw[:300]))
        if not isinstance(obj, dict):
            raise AssertionError("%s line %d is not an object: %r" % (path, i + 1, raw[:300]))
        out.append(obj)
    return out


def parse_hostport(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]"), int(port)


class ProxyError(AssertionError):
    pass


class Proxy:
    """Runs `sluice serve -c POLICY` with a generated policy.

    policy(): the dict written as YAML; tests pass tiers/listeners/network
    and anything else to override."""

    def __init__(self, tiers, listeners=None, network=None, resolver=None,
                 log=None, timeouts=None, limits=None, extra=None, tmp=None,
                 wrapper=()):
        e = env()
        self.dir = tmp or tempfile.mkdtemp(prefix="proxy-", dir=e.tmp)
        self.access_path = os.path.join(self.dir, "access.log")
        self.events_path = os.path.join(self.dir, "events.log")
        if log:
            self.access_path = log.get("access", self.access_path)
            self.events_path = log.get("events", self.events_path)
        self.policy_path = os.path.join(self.dir, "policy.yaml")
        if listeners is None:
            listeners = [{"name": "agent", "listen": "127.0.0.1:0", "tiers": list(tiers)}]
        for l in listeners:
            l.setdefault("listen", "127.0.0.1:0")
        net = {"allow_ranges": [ORIGIN_IP + "/32"]}
        net.update(network or {})
        self.policy = {
            "version": 1,
            "listeners": listeners,
            "resolver": resolver or {"servers": [e.dns.server], "timeout_ms": 1000},
            "network": net,
            "tiers": tiers,
            "log": {"access": self.access_path, "events": self.events_path},
            "timeouts": timeouts or {"connect_ms": 3000, "header_ms": 5000,
                                     "idle_ms": 30000, "shutdown_grace_ms": 2000},
            "limits": limits or {"max_connections": 1000, "max_header_bytes": 16384},
        }
        if extra:
            self.policy.update(extra)
        self.proc = None
        self.listeners = {}
        self.wrapper = list(wrapper)  # e.g. valgrind and its options

    def write_policy(self, text=None):
        with open(self.policy_path, "w", encoding="utf-8") as f:
            f.write(text if text is not None else to_yaml(self.policy) + "\n")

    def start(self, timeout=10):
        self.write_policy()
        self.stdout = open(os.path.join(self.dir, "stdout"), "wb")
        self.stderr = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen(self.wrapper + [sluice_binary(), "serve", "-c",
                                                     self.policy_path],
                                     stdout=self.stdout, stderr=self.stderr,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise ProxyError("sluice serve exited %s before its start event; stderr: %s\npolicy:\n%s"
                                 % (self.proc.returncode, self.stderr_text(), to_yaml(self.policy)))
            starts = [ev for ev in self.events() if ev.get("event") == "start"]
            if starts:
                self.start_event = starts[-1]
                for l in self.start_event.get("listeners") or []:
                    self.listeners[l["name"]] = parse_hostport(l["addr"])
                if not self.listeners:
                    raise ProxyError("start event lists no listeners: %r" % self.start_event)
                return self
            time.sleep(0.02)
        self.kill()
        raise ProxyError("no start event in %s within %ss; stderr: %s"
                         % (self.events_path, timeout, self.stderr_text()))

    def stderr_text(self):
        try:
            with open(os.path.join(self.dir, "stderr"), "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=8):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    # ---- addresses and connections
    def addr(self, listener="agent"):
        if listener not in self.listeners:
            raise ProxyError("no listener %r in start event (have %r)" % (listener, self.listeners))
        return self.listeners[listener]

    def url(self, listener="agent", userinfo=""):
        h, p = self.addr(listener)
        if ":" in h:
            h = "[%s]" % h
        return "http://%s%s:%d" % (userinfo, h, p)

    def connect(self, listener="agent", timeout=TIMEOUT):
        return Conn(self.addr(listener), timeout)

    def send(self, raw, listener="agent", method=None, timeout=TIMEOUT, sha_only=False):
        """One request on a fresh connection; returns the Response."""
        if method is None:
            method = raw.split(b" ", 1)[0].decode("latin-1") if isinstance(raw, bytes) \
                else raw.split(" ", 1)[0]
        with self.connect(listener, timeout) as c:
            c.send(raw)
            return c.read_response(method, sha_only=sha_only)

    # ---- logs
    def access(self, bad=None):
        return read_jsonl(self.access_path, bad)

    def events(self):
        return read_jsonl(self.events_path)

    def mark(self):
        return len(self.access())

    def wait_access(self, mark, n=1, timeout=TIMEOUT):
        """Waits for n access lines after `mark`; returns them."""
        deadline = time.time() + timeout
        while True:
            lines = self.access()[mark:]
            if len(lines) >= n:
                return lines[:n]
            if time.time() > deadline:
                raise AssertionError("waited %.0fs for %d access line(s) after line %d, got %d: %s"
                                     % (timeout, n, mark, len(lines), lines))
            time.sleep(0.02)

    def wait_access_where(self, mark, pred, timeout=TIMEOUT):
        """Waits for the first access line after `mark` for which pred(line)
        is true; returns it."""
        deadline = time.time() + timeout
        while True:
            for line in self.access()[mark:]:
                if pred(line):
                    return line
            if time.time() > deadline:
                raise AssertionError("waited %.0fs for a matching access line after line %d: %s"
                                     % (timeout, mark, self.access()[mark:]))
            time.sleep(0.02)

    def wait_event(self, name, after=0, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while True:
            evs = [e for e in self.events()[after:] if e.get("event") == name]
            if evs:
                return evs[0]
            if time.time() > deadline:
                raise AssertionError("no %r event within %ss; events: %s"
                                     % (name, timeout, self.events()[after:]))
            time.sleep(0.02)


# --------------------------------------------------------------------------
# TestCase base

class ProxyTestCase(unittest.TestCase):
    """Starts one proxy per class from TIERS/LISTENERS/NETWORK/...; after
    every test: no decoy was reached, no stray DNS query, the proxy is alive,
    every log line parses.  At class end: SIGTERM gives exit 0 and a
    shutdown event."""

    TIERS = {}
    LISTENERS = None
    NETWORK = None
    PROXY_KW = {}
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.env = env()
        cls.dns = cls.env.dns
        cls.origin = cls.env.origin
        cls.proxy = None
        if cls.TIERS:
            cls.proxy = Proxy(dict(cls.TIERS),
                              listeners=[dict(l) for l in cls.LISTENERS] if cls.LISTENERS else None,
                              network=cls.NETWORK, **cls.PROXY_KW).start()

    @classmethod
    def tearDownClass(cls):
        p = cls.proxy
        if p is not None:
            rc = p.stop()
            if rc != 0:
                raise AssertionError("SIGTERM: sluice exited %r (want 0); stderr: %s"
                                     % (rc, p.stderr_text()))
            if not any(e.get("event") == "shutdown" for e in p.events()):
                raise AssertionError("no shutdown event after SIGTERM")
            lines = p.access()
            ids = [l.get("id") for l in lines]
            if len(set(ids)) != len(ids):
                raise AssertionError("access line ids are not unique: %r" % ids)
            for l in lines:
                check_access_schema(l)

    def setUp(self):
        self._decoy_mark = self.env.decoys.mark()
        self._stray_mark = len(self.env.stray_dns.log) if self.env.stray_dns else 0

    def tearDown(self):
        hits = self.env.decoys.since(self._decoy_mark)
        if hits:
            self.fail("a decoy listener was connected to: %r" % hits)
        if self.env.stray_dns and len(self.env.stray_dns.log) > self._stray_mark:
            self.fail("queries reached the system resolver (not resolver.servers): %r"
                      % self.env.stray_dns.log[self._stray_mark:])
        if self.proxy is not None and not self.proxy.alive():
            self.fail("sluice died (exit %r); stderr: %s"
                      % (self.proxy.proc.returncode, self.proxy.stderr_text()))

    # ---- request helpers
    def exchange(self, raw, listener="agent", proxy=None, timeout=TIMEOUT, sha_only=False):
        """Sends one request on a fresh connection; returns (response,
        access line)."""
        p = proxy or self.proxy
        m = p.mark()
        with p.connect(listener, timeout) as c:
            c.send(raw)
            method = raw.split(b" ", 1)[0].decode("latin-1")
            r = c.read_response(method, sha_only=sha_only)
            r.client_port = c.local[1]
        # Match the line by the client's own port: a tunnel of an earlier
        # test may be logged late, after this mark.
        line = p.wait_access_where(
            m, lambda l: str(l.get("client", "")).endswith(":%d" % r.client_port))
        return r, line

    def get(self, url, listener="agent", headers=(), method="GET", body=None,
            proxy=None, **kw):
        return self.exchange(build_request(method, url, headers=headers, body=body),
                             listener=listener, proxy=proxy, **kw)

    def connect_req(self, authority, listener="agent", version="HTTP/1.1", proxy=None):
        raw = ("CONNECT %s %s\r\nHost: %s\r\n\r\n" % (authority, version, authority)).encode()
        return self.exchange(raw, listener=listener, proxy=proxy)

    # ---- assertions
    def assertAccess(self, line, **want):
        check_access_schema(line)
        diffs = ["%s: got %r, want %r" % (k, line.get(k), v)
                 for k, v in want.items() if line.get(k) != v]
        if diffs:
            self.fail("access line differs: %s\nline: %s" % ("; ".join(diffs), json.dumps(line)))

    def assertDenied(self, resp, status, reason, host=None):
        problems = []
        if resp.status != status:
            problems.append("status %d, want %d" % (resp.status, status))
        if resp.header("Sluice-Reason") != reason:
            problems.append("Sluice-Reason %r, want %r" % (resp.header("Sluice-Reason"), reason))
        ctype = resp.header("Content-Type") or ""
        if not ctype.lower().startswith("text/plain"):
            problems.append("Content-Type %r, want text/plain" % ctype)
        text = resp.text()
        if not text.strip() or "\n" in text.rstrip("\n"):
            problems.append("body is not one line of text: %r" % text)
        if host is not None and host.lower() not in text.lower():
            problems.append("body does not name the host %r: %r" % (host, text))
        if reason not in text:
            problems.append("body does not name the reason %r: %r" % (reason, text))
        if problems:
            self.fail("denial response: %s\n%r\nbody: %r" % ("; ".join(problems), resp, text))

    def assertDeniedLogged(self, resp, line, status, reason, host=None, **want):
        self.assertDenied(resp, status, reason, host)
        self.assertAccess(line, decision="deny", reason=reason, status=status, **want)
        if reason not in ("upstream_failed", "upstream_timeout"):
            self.assertIsNone(line["addr"], "denied line has addr %r" % line["addr"])

    def assertAllowed(self, resp, line, status=200, **want):
        if resp.status != status:
            self.fail("status %d, want %d (Sluice-Reason %r, body %r)"
                      % (resp.status, status, resp.header("Sluice-Reason"), resp.body[:300]))
        self.assertIsNone(resp.header("Sluice-Reason"),
                          "allowed response carries Sluice-Reason %r" % resp.header("Sluice-Reason"))
        want.setdefault("decision", "allow")
        want.setdefault("reason", "allowed")
        want.setdefault("status", status)
        self.assertAccess(line, **want)

    def assertStillServing(self, url="http://alive.test/echo", listener="agent"):
        r = self.proxy.send(build_request("GET", url), listener=listener)
        self.assertEqual(r.status, 200, "proxy no longer serves %s: %r" % (url, r))


def tools_env(home, extra=None):
    """A clean environment for child tools: no proxy variables from the
    host, a private HOME, no user/system config."""
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "SLUICE_IT_NETNS")
    e = {k: v for k, v in os.environ.items() if k in keep}
    e.update({"HOME": home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
              "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1",
              "PIP_NO_CACHE_DIR": "1", "PIP_NO_INPUT": "1",
              "NPM_CONFIG_USERCONFIG": os.path.join(home, ".npmrc"),
              "NPM_CONFIG_GLOBALCONFIG": os.path.join(home, "npmrc-global"),
              "NPM_CONFIG_UPDATE_NOTIFIER": "false", "NO_UPDATE_NOTIFIER": "1",
              "NPM_CONFIG_AUDIT": "false", "NPM_CONFIG_FUND": "false",
              "WGETRC": os.path.join(home, ".wgetrc"), "CURL_HOME": home})
    open(os.path.join(home, ".wgetrc"), "a").close()
    e.update(extra or {})
    return e


def have(tool):
    return shutil.which(tool) is not None
