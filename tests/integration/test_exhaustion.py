"""Issue 6, "Exhaustion and abuse": every exhaustion case ends in a clear
refusal, never a crash, a hang or lost data.

  FdExhaustion      RLIMIT_NOFILE lowered to 64, 150 clients: accept backs
                    off (CPU stays low), service resumes when descriptors free.
  Timeouts          slowloris cut at header_ms, idle tunnels and idle
                    keep-alive connections cut at idle_ms.
  Backpressure      a client that stops reading a 200 MiB body (forwarded and
                    tunnelled): the proxy's RSS stays flat.
  Abuse             10,000 headers, a 1 MiB header line, huge / negative /
                    overflowing chunk sizes, smuggling shapes: the documented
                    status, and the origin never sees what it must not.
  LogUnwritable     the access log on a full 256 KiB tmpfs, and /dev/full:
                    503 log_unavailable, recovery, no request without a line.
  ReloadUnderLoad   100 clients while the policy is reloaded 20 times.
  Sigterm           SIGTERM under load: transfers finish, new connections are
                    refused, exit 0; what outlives the grace period is cut.

Each test prints its measured figures as "[figures] CASE: k=v, ..." lines
(also appended as JSON to $SLUICE_IT_FIGURES when that is set)."""

import os
import re
import signal
import socket
import tempfile
import threading
import time

import harness as H
import loadtools as L

KiB, MiB = L.KiB, L.MiB


def client_port_is(port):
    return lambda l: str(l.get("client", "")).endswith(":%d" % port)


# --------------------------------------------------------------------------
# file-descriptor exhaustion

class FdExhaustion(H.ProxyTestCase):
    TIERS = {"t": {"domains": [".test"], "ports": [80]}}
    # connections that never send a byte must stay open for the whole test
    PROXY_KW = {"timeouts": {"connect_ms": 3000, "header_ms": 15000, "idle_ms": 30000,
                             "shutdown_grace_ms": 2000}}
    NOFILE = 64
    CLIENTS = 150
    CPU_MAX = 0.20

    def test_accept_backs_off_without_spinning_and_recovers(self):
        p = self.proxy
        pid = p.proc.pid
        base_fds = L.fd_count(pid)
        self.assertLess(base_fds, self.NOFILE // 2, "the idle proxy already has %d fds" % base_fds)
        old_limit = L.set_nofile(pid, self.NOFILE)
        m = p.mark()
        clients = []
        try:
            for _ in range(self.CLIENTS):
                clients.append(socket.create_connection(p.addr(), timeout=5))
            # the last client's request waits in the listen backlog
            late = clients[-1]
            late.sendall(H.build_request("GET", "http://fwd.test/echo?fd=late"))
            deadline = time.monotonic() + 5
            while L.fd_count(pid) < self.NOFILE and time.monotonic() < deadline:
                time.sleep(0.05)
            fds_saturated = L.fd_count(pid)
            self.assertGreaterEqual(fds_saturated, self.NOFILE - 2,
                                    "the proxy never ran out of descriptors (%d open)"
                                    % fds_saturated)
            time.sleep(0.3)
            share = L.cpu_share(pid, 2.0)
            self.assertTrue(p.alive(), "sluice died at the descriptor limit: %s" % p.stderr_text())
            late.settimeout(0.2)
            try:
                early = late.recv(100)
            except socket.timeout:
                early = None
            self.assertIsNone(early, "a connection beyond the limit was served while saturated")

            # a request on an accepted connection while no descriptor is
            # left for its upstream side: a clear answer, never a crash
            first = L.wrap(clients[0])
            first.sock.settimeout(8)
            first.send(H.build_request("GET", "http://fwd.test/echo?fd=first"))
            try:
                r_first = first.read_response("GET")
                first_result = "%d %s" % (r_first.status, r_first.header("Sluice-Reason"))
            except (EOFError, OSError) as e:
                r_first = None
                first_result = "no response (%s)" % type(e).__name__
            self.assertIsNotNone(r_first, "no answer at the descriptor limit: %s" % first_result)
            self.assertIn(r_first.status, (200, 502, 503),
                          "request at the descriptor limit: %r" % r_first)
            if r_first.status != 200:
                self.assertIsNotNone(r_first.header("Sluice-Reason"), r_first)
            self.assertTrue(p.alive())

            # free most descriptors: the backlog must be served again
            t_free = time.monotonic()
            for s in clients[:100]:
                s.close()
            late_conn = L.wrap(late)
            late.settimeout(5)
            r_late = late_conn.read_response("GET")
            resume_s = time.monotonic() - t_free
            self.assertEqual(r_late.status, 200, r_late)
            self.assertLess(resume_s, 2.0, "service resumed only after %.2fs" % resume_s)
            r_new = p.send(H.build_request("GET", "http://fwd.test/echo?fd=new"))
            self.assertEqual(r_new.status, 200, r_new)
        finally:
            for s in clients:
                s.close()
            deadline = time.monotonic() + 3
            while L.fd_count(pid) > base_fds + 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            fds_after = L.fd_count(pid)
            L.set_nofile(pid, old_limit[0])
        self.assertLessEqual(fds_after, base_fds + 2, "descriptors leaked: %d open, %d before"
                             % (fds_after, base_fds))
        lines = [l for l in p.access()[m:] if "fd=" in str(l.get("path"))]
        by_path = {l["path"]: l for l in lines}
        self.assertEqual(by_path.get("/echo?fd=late", {}).get("status"), 200, lines)
        L.figure("fd_exhaustion", nofile=self.NOFILE, clients=self.CLIENTS,
                 fds_idle=base_fds, fds_saturated=fds_saturated,
                 clients_accepted_at_limit=fds_saturated - base_fds,
                 cpu_share_saturated=share, request_at_limit=first_result,
                 resume_after_free_s=resume_s, fds_after=fds_after)
        self.assertLess(share, self.CPU_MAX, "the proxy used %.0f%% of a core while saturated"
                        % (share * 100))


# --------------------------------------------------------------------------
# slowloris and idle timeouts

class Timeouts(H.ProxyTestCase):
    TIERS = {"t": {"domains": [".test"], "ports": [80, 7000]}}
    HEADER_MS = 1000
    IDLE_MS = 1500
    PROXY_KW = {"timeouts": {"connect_ms": 3000, "header_ms": HEADER_MS, "idle_ms": IDLE_MS,
                             "shutdown_grace_ms": 2000}}
    SLACK_MS = 700

    def assertCutNear(self, what, cut_s, want_ms):
        self.assertIsNotNone(cut_s, "%s: never cut" % what)
        self.assertGreaterEqual(cut_s * 1000, want_ms * 0.9,
                                "%s: cut after %.0f ms, before %d ms" % (what, cut_s * 1000, want_ms))
        self.assertLessEqual(cut_s * 1000, want_ms + self.SLACK_MS,
                             "%s: cut after %.0f ms, want ~%d ms" % (what, cut_s * 1000, want_ms))

    def test_slowloris_head_cut_at_header_ms(self):
        p = self.proxy
        m = p.mark()
        raw = (b"GET http://fwd.test/echo?slowloris=1 HTTP/1.1\r\nHost: fwd.test\r\n"
               b"User-Agent: slowloris\r\nX-Padding: " + b"a" * 200)
        s = socket.create_connection(p.addr(), timeout=5)
        port = s.getsockname()[1]
        stop = threading.Event()
        sent = [0]

        def trickle():
            for b in raw:
                if stop.is_set():
                    return
                try:
                    s.send(bytes([b]))
                except OSError:
                    return
                sent[0] += 1
                stop.wait(0.2)
        t0 = time.monotonic()
        th = threading.Thread(target=trickle, daemon=True)
        th.start()
        data, t_first, t_closed = L.read_until_close(s, 6)
        stop.set()
        th.join(2)
        s.close()
        cut = ((t_first or t_closed) - t0) if (t_first or t_closed) else None
        line = p.wait_access_where(m, client_port_is(port))
        L.figure("slowloris", header_ms=self.HEADER_MS, bytes_trickled=sent[0],
                 cut_ms=round(cut * 1000) if cut else None,
                 closed_ms=round((t_closed - t0) * 1000) if t_closed else None,
                 status=L.status_of(data), sluice_reason=L.header_of(data, "Sluice-Reason"),
                 log_reason=line.get("reason"), log_status=line.get("status"))
        self.assertCutNear("slowloris head", cut, self.HEADER_MS)
        self.assertIsNotNone(t_closed, "the connection was not closed after the cut")
        self.assertAccess(line, decision="deny", reason="bad_request")
        self.assertIn(line["status"], (400, 408), line)
        if data:
            self.assertEqual(L.status_of(data), line["status"], data[:200])
        self.assertLess(sent[0], len(raw), "the whole head went through")
        self.assertFalse(any("slowloris" in r["target"]
                             for r in self.origin.requests_since(0)))

    def test_silent_client_cut_at_header_ms(self):
        p = self.proxy
        s = socket.create_connection(p.addr(), timeout=5)
        t0 = time.monotonic()
        data, _, t_closed = L.read_until_close(s, 5)
        s.close()
        cut = t_closed - t0 if t_closed else None
        L.figure("silent_client", header_ms=self.HEADER_MS,
                 cut_ms=round(cut * 1000) if cut else None, bytes_received=len(data))
        self.assertCutNear("a client that sends nothing", cut, self.HEADER_MS)

    def test_idle_tunnel_cut_at_idle_ms_but_not_while_active(self):
        p = self.proxy
        m = p.mark()
        c = p.connect()
        c.send(b"CONNECT echo.test:7000 HTTP/1.1\r\nHost: echo.test:7000\r\n\r\n")
        r = c.read_response("CONNECT")
        self.assertEqual(r.status, 200, r)
        # active: a message every IDLE/3 for twice the idle timeout
        t_open = time.monotonic()
        rounds = 0
        while time.monotonic() - t_open < 2 * self.IDLE_MS / 1000.0:
            c.send(b"ping")
            self.assertEqual(c.read_exact(4), b"ping", "the active tunnel was cut")
            rounds += 1
            time.sleep(self.IDLE_MS / 3000.0)
        c.send(b"last")
        self.assertEqual(c.read_exact(4), b"last")
        t_last = time.monotonic()
        _, _, t_closed = L.read_until_close(c.sock, 5)
        port = c.local[1]
        c.close()
        cut = t_closed - t_last if t_closed else None
        line = p.wait_access_where(m, client_port_is(port))
        L.figure("idle_tunnel", idle_ms=self.IDLE_MS, active_s=round(t_last - t_open, 2),
                 active_rounds=rounds, cut_after_last_byte_ms=round(cut * 1000) if cut else None,
                 log_duration_ms=line.get("duration_ms"), log_bytes_up=line.get("bytes_up"))
        self.assertCutNear("idle tunnel", cut, self.IDLE_MS)
        self.assertAccess(line, method="CONNECT", status=200, decision="allow",
                          bytes_up=4 * (rounds + 1), bytes_down=4 * (rounds + 1))

    def test_idle_keepalive_cut_at_idle_ms(self):
        p = self.proxy
        c = p.connect()
        c.send(H.build_request("GET", "http://fwd.test/echo?keepalive=1"))
        r = c.read_response("GET")
        self.assertEqual(r.status, 200, r)
        t_last = time.monotonic()
        _, _, t_closed = L.read_until_close(c.sock, 5)
        c.close()
        cut = t_closed - t_last if t_closed else None
        L.figure("idle_keepalive", idle_ms=self.IDLE_MS, cut_ms=round(cut * 1000) if cut else None)
        self.assertCutNear("idle keep-alive connection", cut, self.IDLE_MS)


# --------------------------------------------------------------------------
# a client that stops reading

class Backpressure(H.ProxyTestCase):
    """The client reads 1 MiB of a 200 MiB body, then stops.  For SETTLE_S
    the pipeline fills (socket buffers, the proxy's high-water mark); then
    over STALL_S the proxy's RSS must stay flat (< GROWTH_MAX): without
    backpressure it would take in the origin's 200 MiB within a second.
    The growth from before the request is bounded more loosely
    (TOTAL_MAX): under ASan, freed relay buffers stay resident in the
    allocator's quarantine, so the fill phase costs about the bytes that
    were relayed in it."""
    TIERS = {"t": {"domains": [".test"], "ports": [80]}}
    N = 200 * MiB
    READ_FIRST = 1 * MiB
    SETTLE_S = 1.0
    STALL_S = 5.0
    GROWTH_MAX = 8 * MiB
    TOTAL_MAX = 32 * MiB

    def read_body(self, c, n):
        got = len(c.buf)
        c.buf = b""
        while got < n:
            d = c.sock.recv(1 << 16)
            if not d:
                self.fail("EOF after %d body bytes" % got)
            got += len(d)
        return got

    def stall(self, case, c, rss0):
        pid = self.proxy.proc.pid
        got = self.read_body(c, self.READ_FIRST)
        sampler = L.RssSampler(pid, 0.1)
        sampler.start()
        time.sleep(self.SETTLE_S)
        settled = L.rss_bytes(pid)
        cpu0 = L.cpu_seconds(pid)
        time.sleep(self.STALL_S)
        cpu = L.cpu_seconds(pid) - cpu0
        samples = sampler.stop()
        self.assertTrue(self.proxy.alive())
        window = samples[int(self.SETTLE_S / 0.1):]
        # the connection survived the stall and streams again
        more = self.read_body(c, 4 * MiB)
        peak = max(samples)
        L.figure(case, body=self.N, read_before_stall=got, settle_s=self.SETTLE_S,
                 stall_s=self.STALL_S, rss_before_kib=rss0 // KiB,
                 rss_settled_kib=settled // KiB, rss_stall_peak_kib=max(window) // KiB,
                 rss_stall_end_kib=samples[-1] // KiB,
                 growth_over_stall_kib=(max(window) - settled) // KiB,
                 growth_since_request_kib=(peak - rss0) // KiB, cpu_s_during_stall=cpu,
                 read_after_stall=more,
                 rss_every_500ms_kib=[s // KiB for s in samples[::5]])
        self.assertLess(max(window) - settled, self.GROWTH_MAX,
                        "RSS grew by %.1f MiB over %.0f s while the client did not read"
                        % ((max(window) - settled) / MiB, self.STALL_S))
        self.assertLess(peak - rss0, self.TOTAL_MAX,
                        "RSS grew by %.1f MiB since the request (the client read %d bytes)"
                        % ((peak - rss0) / MiB, got))
        self.assertLess(cpu, 0.5 * self.STALL_S, "busy while stalled: %.2fs CPU" % cpu)

    def warm(self):
        # allocator and buffers settle with a transfer of the same kind
        r = self.proxy.send(H.build_request("GET", "http://fwd.test/bytes?n=%d" % (8 * MiB)),
                            sha_only=True)
        self.assertEqual(r.status, 200, r)
        time.sleep(0.2)
        return L.rss_bytes(self.proxy.proc.pid)

    def test_forwarded_response_to_stalled_client(self):
        p = self.proxy
        rss0 = self.warm()
        m = p.mark()
        c = p.connect(timeout=10)
        c.send(H.build_request("GET", "http://fwd.test/bytes?n=%d&stall=fwd" % self.N))
        c.read_until(b"\r\n\r\n")
        self.stall("backpressure_forward", c, rss0)
        port = c.local[1]
        c.close()
        line = p.wait_access_where(m, client_port_is(port))
        self.assertAccess(line, status=200, decision="allow")
        self.assertLess(line["bytes_down"], self.N)

    def test_tunnel_to_stalled_client(self):
        p = self.proxy
        rss0 = self.warm()
        m = p.mark()
        c = p.connect(timeout=10)
        c.send(b"CONNECT fwd.test:80 HTTP/1.1\r\nHost: fwd.test:80\r\n\r\n")
        r = c.read_response("CONNECT")
        self.assertEqual(r.status, 200, r)
        c.send(("GET /bytes?n=%d&stall=tunnel HTTP/1.1\r\nHost: fwd.test\r\n\r\n"
                % self.N).encode())
        c.read_until(b"\r\n\r\n")
        self.stall("backpressure_tunnel", c, rss0)
        port = c.local[1]
        c.close()
        line = p.wait_access_where(m, client_port_is(port))
        self.assertAccess(line, method="CONNECT", status=200, decision="allow")
        self.assertLess(line["bytes_down"], self.N)


# --------------------------------------------------------------------------
# oversized heads, chunk sizes, smuggling

SMUG = b"GET http://fwd.test/smuggled-%s HTTP/1.1\r\nHost: fwd.test\r\n\r\n"


def _post(case, fields, body, version=b"HTTP/1.1"):
    return (b"POST http://fwd.test/echo?case=" + case.encode() + b" " + version + b"\r\n"
            b"Host: fwd.test\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n" + body)


def _smuggle_cases():
    """name -> (request bytes, expected status).  The body of each hides a
    second request for /smuggled-NAME; none may ever reach the origin."""
    out = {}

    def add(name, fields, body=None, status=400, version=b"HTTP/1.1"):
        s = SMUG % name.encode()
        if body is None:
            body = b"0\r\n\r\n" + s
        fields = [f.replace(b"LEN", b"%d" % len(body)) for f in fields]
        out[name] = (_post(name, fields, body, version), status)

    te = b"Transfer-Encoding: chunked"
    cl = b"Content-Length: LEN"
    add("cl_te", [cl, te])
    add("te_cl", [te, cl])
    add("two_cl", [b"Content-Length: 0", cl], body=SMUG % b"two_cl")
    add("cl_list", [b"Content-Length: 0, LEN"], body=SMUG % b"cl_list")
    add("te_chunked_identity", [b"Transfer-Encoding: chunked, identity"])
    add("te_chunked_identity_cl", [b"Transfer-Encoding: chunked, identity", cl])
    add("te_identity_chunked_cl", [b"Transfer-Encoding: identity, chunked", cl])
    add("te_two_spaces_cl", [b"Transfer-Encoding:  chunked", cl])
    add("te_tab_cl", [b"Transfer-Encoding:\tchunked", cl])
    add("te_lowercase_obs_fold_cl", [b"Transfer-encoding:\r\n chunked", cl])
    add("te_continuation_line_cl", [b"X-Foo: bar", b" Transfer-Encoding: chunked", cl])
    add("te_space_before_colon_cl", [b"Transfer-Encoding : chunked", cl])
    add("te_vertical_tab_cl", [b"Transfer-Encoding: chunked\x0b", cl])
    add("te_quoted_cl", [b'Transfer-Encoding: "chunked"', cl])
    add("te_xchunked_cl", [b"Transfer-Encoding: xchunked", cl])
    add("te_twice", [te, te])
    add("te_in_http10", [te], version=b"HTTP/1.0")
    add("cl_plus_sign", [b"Content-Length: +LEN"], body=SMUG % b"cl_plus_sign")
    # control cases: valid framing, the "request" is just body bytes
    add("control_cl_body", [cl], body=SMUG % b"control_cl_body", status=200)
    s = SMUG % b"control_chunked_body"
    add("control_chunked_body", [te], body=b"%x\r\n%s\r\n0\r\n\r\n" % (len(s), s), status=200)
    return out


SMUGGLE = _smuggle_cases()

# chunk-size lines the decoder must refuse
BAD_CHUNK_SIZES = {
    "negative": b"-1",
    "overflow_18_digits": b"ffffffffffffffffff",
    "overflow_2_pow_64": b"10000000000000000",
    "hex_prefix": b"0x10",
}


class Abuse(H.ProxyTestCase):
    TIERS = {}   # set in setUpClass (the raw origin's port)

    @classmethod
    def setUpClass(cls):
        cls.raw = L.RawOrigin()
        cls.TIERS = {"t": {"domains": [".test"], "ports": [80, cls.raw.port]}}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.raw.close()

    def send_in_background(self, c, raw):
        err = []

        def run():
            try:
                c.sock.sendall(raw)
            except OSError as e:
                err.append(e)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, err

    def refuse_big_head(self, case, raw, marker):
        p = self.proxy
        m = p.mark()
        om = self.origin.mark()
        c = p.connect(timeout=10)
        t0 = time.monotonic()
        th, err = self.send_in_background(c, raw)
        try:
            r = c.read_response("GET")
        except (EOFError, OSError) as e:
            self.fail("%s: no response (%s)" % (case, e))
        took = time.monotonic() - t0
        th.join(10)
        port = c.local[1]
        c.close()
        line = p.wait_access_where(m, client_port_is(port))
        L.figure(case, sent_bytes=len(raw), status=r.status,
                 sluice_reason=r.header("Sluice-Reason"), answer_ms=round(took * 1000),
                 sender_error=type(err[0]).__name__ if err else None)
        self.assertDeniedLogged(r, line, 431, "header_too_large")
        self.assertFalse([q for q in self.origin.requests_since(om) if marker in q["target"]])
        self.assertStillServing()

    def test_10000_headers(self):
        raw = (b"GET http://fwd.test/echo?abuse=h10k HTTP/1.1\r\nHost: fwd.test\r\n"
               + b"".join(b"X-H%d: v\r\n" % i for i in range(10000)) + b"\r\n")
        self.refuse_big_head("10000_headers", raw, "abuse=h10k")

    def test_1000_small_headers_within_byte_limit(self):
        raw = (b"GET http://fwd.test/echo?abuse=h1k HTTP/1.1\r\nHost: fwd.test\r\n"
               + b"a: b\r\n" * 1000 + b"\r\n")
        self.assertLess(len(raw), 16384)
        self.refuse_big_head("1000_small_headers", raw, "abuse=h1k")

    def test_1mib_header_line(self):
        raw = (b"GET http://fwd.test/echo?abuse=line HTTP/1.1\r\nHost: fwd.test\r\nX-Big: "
               + b"a" * MiB + b"\r\n\r\n")
        self.refuse_big_head("1mib_header_line", raw, "abuse=line")

    def test_1mib_request_line(self):
        # max_header_bytes counts the request line too (docs/policy.md)
        raw = (b"GET http://fwd.test/echo?abuse=" + b"u" * MiB + b" HTTP/1.1\r\n"
               b"Host: fwd.test\r\n\r\n")
        self.refuse_big_head("1mib_request_line", raw, "abuse=u")

    def raw_authority(self):
        return "raw.test:%d" % self.raw.port

    def test_100mb_chunk_size_forwarded_then_ended_by_client(self):
        p = self.proxy
        m = p.mark()
        rm = self.raw.mark()
        auth = self.raw_authority()
        head = ("POST http://%s/upload HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                % (auth, auth)).encode()
        part = H.payload(256 * KiB, 3)
        c = p.connect(timeout=10)
        c.send(head + b"5F5E100\r\n" + part)   # 100,000,000 bytes announced
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            conns = self.raw.since(rm)
            if conns and len(conns[0]["data"]) >= len(part):
                break
            time.sleep(0.02)
        conns = self.raw.since(rm)
        self.assertTrue(conns, "the request was never forwarded")
        fwd = conns[0]["data"]
        self.assertIn(b"\r\n\r\n5F5E100\r\n", fwd, fwd[:400])
        self.assertTrue(fwd.startswith(b"POST /upload HTTP/1.1\r\n"), fwd[:200])
        self.assertTrue(p.alive())
        t_close = time.monotonic()
        port = c.local[1]
        c.close()
        deadline = time.monotonic() + 5
        while self.raw.since(rm)[0]["eof"] is None and time.monotonic() < deadline:
            time.sleep(0.02)
        eof = self.raw.since(rm)[0]["eof"]
        line = p.wait_access_where(m, client_port_is(port))
        L.figure("100mb_chunk_size", announced=100000000, forwarded_bytes=len(fwd),
                 upstream_closed_after_client_ms=round((eof - t_close) * 1000) if eof else None,
                 log_status=line["status"], log_reason=line["reason"],
                 log_bytes_up=line["bytes_up"])
        self.assertIsNotNone(eof, "the upstream connection outlived the client")
        self.assertLess(eof - t_close, 2.0)
        self.assertEqual(line["decision"], "allow", line)
        self.assertStillServing()

    def check_bad_chunk(self, name, size, streamed):
        """A bad chunk-size line, sent with the head (at once) or after the
        head and a good chunk have reached the upstream (streamed)."""
        p = self.proxy
        m = p.mark()
        rm = self.raw.mark()
        om = self.origin.mark()
        auth = self.raw_authority()
        smug = SMUG % ("chunk-" + name).encode()
        first = (("POST http://%s/upload HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n"
                  "\r\n" % (auth, auth)).encode() + b"5\r\nhello\r\n")
        rest = size + b"\r\n" + b"x" * 32 + b"\r\n0\r\n\r\n" + smug
        head_upstream = None
        with p.connect() as c:
            if streamed:
                c.send(first)
                deadline = time.monotonic() + 3
                while time.monotonic() < deadline:
                    conns = self.raw.since(rm)
                    if conns and conns[0]["data"].endswith(b"5\r\nhello\r\n"):
                        head_upstream = True
                        break
                    time.sleep(0.01)
                self.assertTrue(head_upstream, "the head and the first chunk were not forwarded: %r"
                                % self.raw.since(rm))
                c.send(rest)
            else:
                c.send(first + rest)
            try:
                r = c.read_response("POST")
            except (EOFError, OSError) as e:
                self.fail("chunk size %r: no response (%s)" % (size, e))
            t_resp = time.monotonic()
            closed = c.at_eof(2)
            port = c.local[1]
        line = p.wait_access_where(m, client_port_is(port))
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and any(x["eof"] is None for x in self.raw.since(rm)):
            time.sleep(0.01)
        conns = self.raw.since(rm)
        fwd = b"".join(x["data"] for x in conns)
        upstream_open = [x for x in conns if x["eof"] is None]
        case = "chunk_size_%s_%s" % (name, "streamed" if streamed else "at_once")
        L.figure(case, size=size.decode(), status=r.status,
                 sluice_reason=r.header("Sluice-Reason"), forwarded_bytes=len(fwd),
                 upstream_closed_ms=round((max(x["eof"] for x in conns) - t_resp) * 1000)
                 if conns and not upstream_open else None, client_closed=closed)
        # refused mid-body: the head may have gone upstream already (addr set)
        self.assertDenied(r, 400, "bad_request")
        self.assertAccess(line, decision="deny", reason="bad_request", status=400)
        self.assertTrue(closed, "the connection stayed open after a bad chunk size")
        self.assertNotIn(size + b"\r\n", fwd, "the bad chunk size was forwarded: %r" % fwd[-200:])
        self.assertNotIn(b"smuggled", fwd)
        self.assertEqual(upstream_open, [], "the upstream connection was left open: the origin "
                         "waits for the rest of a body that will never be valid")
        self.assertFalse([q for q in self.origin.requests_since(om) if "smuggled" in q["target"]])
        self.assertStillServing()

    def check_smuggle(self, name, raw, status):
        p = self.proxy
        m = p.mark()
        om = self.origin.mark()
        with p.connect() as c:
            c.send(raw)
            try:
                r = c.read_response("POST")
            except (EOFError, OSError) as e:
                self.fail("%s: no response (%s)" % (name, e))
            port = c.local[1]
            if status == 400:
                closed = c.at_eof(2)
            else:
                closed = None
        line = p.wait_access_where(m, client_port_is(port))
        time.sleep(0.3)    # let a smuggled request reach the origin, if any did
        got = self.origin.requests_since(om)
        smuggled = [q for q in got if "smuggled" in q["target"]]
        first = [q for q in got if ("case=" + name) in q["target"]]
        L.figure("smuggle_" + name, status=r.status, sluice_reason=r.header("Sluice-Reason"),
                 origin_requests=len(got), smuggled_at_origin=len(smuggled), closed_after=closed)
        self.assertFalse(smuggled, "%s: the origin received the hidden request: %r"
                         % (name, smuggled))
        if status == 400:
            self.assertDeniedLogged(r, line, 400, "bad_request")
            self.assertTrue(closed, "%s: connection left open after the 400" % name)
            self.assertFalse(first, "%s: forwarded although refused: %r" % (name, first))
        else:
            self.assertAllowed(r, line, status=200)
            self.assertEqual(len(first), 1, got)
            body = raw.split(b"\r\n\r\n", 1)[1]
            want = len(SMUG % name.encode())
            self.assertEqual(r.json().get("body_length"), want, (body, r.text()))
        self.assertStillServing()

    def test_pipelined_pair_is_two_requests(self):
        """Control: a POST with a body, then a GET, on one connection."""
        p = self.proxy
        om = self.origin.mark()
        raw = (_post("pipe1", [b"Content-Length: 5"], b"hello")
               + b"GET http://fwd.test/echo?case=pipe2 HTTP/1.1\r\nHost: fwd.test\r\n\r\n")
        with p.connect() as c:
            c.send(raw)
            r1 = c.read_response("POST")
            r2 = c.read_response("GET")
        self.assertEqual((r1.status, r2.status), (200, 200), (r1, r2))
        targets = [q["target"] for q in self.origin.requests_since(om)]
        self.assertEqual(targets, ["/echo?case=pipe1", "/echo?case=pipe2"], targets)
        self.assertEqual(r1.json()["body_length"], 5)


def _make_smuggle(name, raw, status):
    def t(self):
        self.check_smuggle(name, raw, status)
    return t


def _make_chunk(name, size, streamed):
    def t(self):
        self.check_bad_chunk(name, size, streamed)
    return t


for _n, (_raw, _st) in SMUGGLE.items():
    setattr(Abuse, "test_smuggle_" + _n, _make_smuggle(_n, _raw, _st))
for _n, _size in BAD_CHUNK_SIZES.items():
    setattr(Abuse, "test_chunk_size_%s_at_once" % _n, _make_chunk(_n, _size, False))
    setattr(Abuse, "test_chunk_size_%s_streamed" % _n, _make_chunk(_n, _size, True))


# --------------------------------------------------------------------------
# the access log cannot be written

class LogUnwritable(H.ProxyTestCase):
    TIERS = {}   # every test runs its own proxy
    POLICY_TIERS = {"t": {"domains": [".test"], "ports": [80]}}
    TMPFS = 256 * KiB

    def finish(self, p):
        rc = p.stop()
        self.assertEqual(rc, 0, "SIGTERM: exit %r; stderr: %s" % (rc, p.stderr_text()))
        self.assertTrue(any(e.get("event") == "shutdown" for e in p.events()))

    def test_full_tmpfs_refuses_then_recovers_and_loses_no_line(self):
        if not L.private_mount_ns():
            self.skipTest("not in a private mount namespace (run.sh makes one)")
        d = tempfile.mkdtemp(prefix="logfull-", dir=self.env.tmp)
        mnt = os.path.join(d, "logfs")
        L.mount_tmpfs(mnt, self.TMPFS)
        try:
            self.full_tmpfs(d, mnt)
        finally:
            L.umount(mnt)

    def full_tmpfs(self, d, mnt):
        access = os.path.join(mnt, "access.log")
        p = H.Proxy(dict(self.POLICY_TIERS), tmp=d,
                    log={"access": access, "events": os.path.join(d, "events.log")}).start()
        try:
            om = self.origin.mark()
            r = p.send(H.build_request("GET", "http://fwd.test/echo?logfill=first"))
            self.assertEqual(r.status, 200, r)
            results = []
            lock = threading.Lock()
            stop = threading.Event()

            def worker(w):
                i = 0
                while not stop.is_set():
                    marker = "w%d-%d" % (w, i)
                    i += 1
                    try:
                        r = p.send(H.build_request("GET", "http://fwd.test/echo?logfill=" + marker))
                        res = (marker, r.status, r.header("Sluice-Reason"))
                    except (OSError, EOFError, AssertionError) as e:
                        res = (marker, None, "%s: %s" % (type(e).__name__, e))
                    with lock:
                        results.append(res)
                    time.sleep(0.005)
            workers = [threading.Thread(target=worker, args=(w,), daemon=True) for w in range(4)]
            for t in workers:
                t.start()
            time.sleep(0.3)
            filler = os.path.join(mnt, "filler")
            filled = L.fill(filler)
            free_after_fill = L.free_bytes(mnt)
            time.sleep(0.5)   # the workers meet the full disk
            refused = []
            for i in range(5):
                r = p.send(H.build_request("GET", "http://fwd.test/echo?logfill=full-%d" % i))
                refused.append(r)
            stop.set()
            for t in workers:
                t.join(10)
            lines_during = len(p.access())
            on_disk_during = {l["id"] for l in p.access()}
            for r in refused:
                self.assertDenied(r, 503, "log_unavailable")
            # space returns
            os.remove(filler)
            t_free = time.monotonic()
            after = []
            while time.monotonic() - t_free < 5:
                r = p.send(H.build_request("GET", "http://fwd.test/echo?logfill=rec-%d" % len(after)))
                after.append(r)
                if r.status == 200:
                    break
                time.sleep(0.05)
            recover_s = time.monotonic() - t_free
            self.assertEqual(after[-1].status, 200, "no recovery within 5 s: %r" % after[-1])
            for r in after[:-1]:
                self.assertDenied(r, 503, "log_unavailable")
            # a last request flushes anything still queued
            r = p.send(H.build_request("GET", "http://fwd.test/echo?logfill=last"))
            self.assertEqual(r.status, 200, r)
            time.sleep(0.3)
            lines = p.access()
            ids = [l["id"] for l in lines]
            self.assertEqual(len(ids), len(set(ids)), "duplicate ids")

            def marker_of(path):
                mm = re.search(r"logfill=([\w-]+)", path or "")
                return mm.group(1) if mm else None
            at_origin = [marker_of(q["target"]) for q in self.origin.requests_since(om)
                         if marker_of(q["target"])]
            ok_lines = [marker_of(l["path"]) for l in lines
                        if l["status"] == 200 and marker_of(l["path"])]
            refused_lines = [marker_of(l["path"]) for l in lines
                             if l["reason"] == "log_unavailable"]
            client_ok = [m_ for m_, st, _ in results if st == 200]
            client_503 = [m_ for m_, st, rs in results if st == 503]
            client_other = [(m_, st, rs) for m_, st, rs in results if st not in (200, 503)]
            L.figure("log_tmpfs_full", tmpfs=self.TMPFS, filler_bytes=filled,
                     free_after_fill=free_after_fill, worker_requests=len(results),
                     worker_200=len(client_ok), worker_503=len(client_503),
                     worker_other=len(client_other), origin_received=len(at_origin),
                     lines_200=len(ok_lines), lines_log_unavailable=len(refused_lines),
                     lines_written_late=len(lines) - lines_during,
                     served_lines_written_late=sum(
                         1 for l in lines if l["status"] == 200 and l["id"] not in on_disk_during
                         and marker_of(l["path"]) and marker_of(l["path"]).startswith("w")),
                     refusals_after_space_returned=len(after) - 1, recover_s=recover_s)
            self.assertEqual(client_other, [], "worker requests neither served nor refused")
            self.assertTrue(client_503, "no worker request was refused while the disk was full")
            self.assertEqual(len(at_origin), len(set(at_origin)))
            missing = sorted(set(at_origin) - set(ok_lines))
            self.assertEqual(missing, [], "served (the origin got them) without an access line")
            self.assertEqual(sorted(set(client_ok) - set(ok_lines)), [],
                             "200 to the client without an access line")
            self.assertEqual(len(ok_lines), len(set(ok_lines)), "a request logged twice")
            for m_ in client_503:
                self.assertNotIn(m_, at_origin, "refused with 503 but forwarded: %s" % m_)
            self.assertLess(recover_s, 2.0)
        finally:
            if p.alive():
                self.finish(p)

    def test_dev_full_refuses_every_request(self):
        d = tempfile.mkdtemp(prefix="devfull-", dir=self.env.tmp)
        p = H.Proxy(dict(self.POLICY_TIERS), tmp=d,
                    log={"access": "/dev/full", "events": os.path.join(d, "events.log")}).start()
        try:
            om = self.origin.mark()
            got = []
            for i in range(4):
                r = p.send(H.build_request("GET", "http://fwd.test/echo?devfull=%d" % i))
                got.append((r.status, r.header("Sluice-Reason")))
            at_origin = [q["target"] for q in self.origin.requests_since(om)
                         if "devfull" in q["target"]]
            L.figure("log_dev_full", started=True, answers=got, reached_origin=at_origin)
            self.assertEqual(at_origin, [], "requests served although no line can be written")
            self.assertEqual(got, [(503, "log_unavailable")] * 4)
        finally:
            self.finish(p)


# --------------------------------------------------------------------------
# reload under load

class ReloadUnderLoad(H.ProxyTestCase):
    TIERS = {"t": {"domains": [".test"], "ports": [80, 7000]}}
    HTTP_CLIENTS = 95
    TUNNELS = 5
    RELOADS = 20
    BODY = 64 * KiB

    @classmethod
    def setUpClass(cls):
        cls.env = H.env()
        cls.sock = os.path.join(tempfile.mkdtemp(prefix="rl-", dir=cls.env.tmp), "admin.sock")
        cls.PROXY_KW = {"extra": {"admin": {"socket": cls.sock}}}
        super().setUpClass()

    def reloads_seen(self):
        evs = self.proxy.events()
        return (sum(1 for e in evs if e.get("event") == "reload"),
                sum(1 for e in evs if e.get("event") == "reload_failed"))

    def test_100_clients_20_reloads(self):
        p = self.proxy
        m = p.mark()
        r0, f0 = self.reloads_seen()
        stop = threading.Event()
        url = "http://fwd.test/bytes?n=%d&c=%%d&i=%%d" % self.BODY
        http = [L.HttpLoop(p.addr(), i, url, self.BODY, stop) for i in range(self.HTTP_CLIENTS)]
        tunnels = [L.TunnelLoop(p.addr(), "echo.test:7000", stop) for _ in range(self.TUNNELS)]
        t0 = time.monotonic()
        for t in http + tunnels:
            t.start()
        time.sleep(0.5)
        reload_ms = []
        for k in range(self.RELOADS):
            # a real change each time: a domain comes and goes
            p.policy["tiers"]["t"]["domains"] = [".test"] + (["r%d.example" % k] if k % 2 else [])
            p.write_policy()
            t1 = time.monotonic()
            if k % 2 == 0:
                p.signal(signal.SIGHUP)
            else:
                r = L.admin_request(self.sock, "POST", "/reload")
                self.assertEqual(r.status, 200, r)
            deadline = time.monotonic() + 5
            while self.reloads_seen()[0] < r0 + k + 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            reload_ms.append((time.monotonic() - t1) * 1000)
            self.assertEqual(self.reloads_seen(), (r0 + k + 1, f0), "reload %d not applied" % k)
            time.sleep(0.1)
        time.sleep(0.3)
        stop.set()
        for t in http + tunnels:
            t.join(30)
        elapsed = time.monotonic() - t0
        errors = [(t.cid, e) for t in http for e in t.errors] + \
                 [(t.port, e) for t in tunnels for e in t.errors]
        self.assertEqual(errors, [], "client errors under reload")
        self.assertFalse([t for t in http + tunnels if t.is_alive()], "a client hung")
        done = sum(t.done for t in http)
        want = done + self.TUNNELS
        deadline = time.monotonic() + 10
        while len(p.access()) - m < want and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        lines = p.access()[m:]
        ids = [l["id"] for l in lines]
        get_lines = [l for l in lines if l["method"] == "GET"]
        tun_lines = [l for l in lines if l["method"] == "CONNECT"]
        per_port = {}
        for l in get_lines:
            per_port[l["client"]] = per_port.get(l["client"], 0) + 1
        mismatched = [(t.port, t.done, per_port.get("127.0.0.1:%d" % t.port, 0))
                      for t in http if per_port.get("127.0.0.1:%d" % t.port, 0) != t.done]
        L.figure("reload_under_load", clients=self.HTTP_CLIENTS + self.TUNNELS,
                 reloads=self.RELOADS, seconds=elapsed, requests=done,
                 requests_per_s=done / elapsed, bytes_down=done * self.BODY,
                 tunnel_rounds=sum(t.rounds for t in tunnels),
                 tunnel_bytes_each_way=sum(t.bytes for t in tunnels),
                 access_lines=len(lines),
                 reload_ms_max=max(reload_ms), reload_ms_avg=sum(reload_ms) / len(reload_ms))
        self.assertEqual(len(ids), len(set(ids)), "access ids are not unique")
        self.assertEqual(len(get_lines), done, "GET lines vs completed requests")
        self.assertEqual(mismatched, [], "(port, completed, logged) per client")
        self.assertTrue(all(l["status"] == 200 and l["reason"] == "allowed" for l in get_lines))
        self.assertEqual(sorted(l["client"] for l in tun_lines),
                         sorted("127.0.0.1:%d" % t.port for t in tunnels))
        for l, t in ((l, t) for l in tun_lines for t in tunnels
                     if l["client"] == "127.0.0.1:%d" % t.port):
            self.assertAccess(l, status=200, bytes_up=t.bytes, bytes_down=t.bytes)
        self.assertEqual(len(lines), want, "unexpected extra access lines")


# --------------------------------------------------------------------------
# SIGTERM under load

class Sigterm(H.ProxyTestCase):
    TIERS = {}   # every test stops its own proxy
    POLICY_TIERS = {"t": {"domains": [".test"], "ports": [80, 7000]}}

    def proxy_with_grace(self, grace_ms):
        return H.Proxy(dict(self.POLICY_TIERS),
                       timeouts={"connect_ms": 3000, "header_ms": 5000, "idle_ms": 30000,
                                 "shutdown_grace_ms": grace_ms}).start()

    def refused_after(self, p, t_term):
        """Connects until refused; returns ms from SIGTERM to the first
        refusal, and checks a few more attempts are refused too."""
        addr = p.addr()
        first = None
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                s = socket.create_connection(addr, timeout=1)
                s.close()
            except ConnectionRefusedError:
                first = (time.monotonic() - t_term) * 1000
                break
            time.sleep(0.005)
        self.assertIsNotNone(first, "new connections still accepted 2 s after SIGTERM")
        for _ in range(5):
            with self.assertRaises(ConnectionRefusedError):
                socket.create_connection(addr, timeout=1).close()
            time.sleep(0.02)
        return first

    def test_open_transfers_finish_new_connections_refused_exit_0(self):
        GRACE, SLOW, N = 4000, 1500, 20
        p = self.proxy_with_grace(GRACE)
        m = p.mark()
        om = self.origin.mark()
        results = [None] * N

        def client(i):
            try:
                with p.connect(timeout=10) as c:
                    c.send(H.build_request("GET", "http://fwd.test/slow?ms=%d&term=%d" % (SLOW, i)))
                    r = c.read_response("GET")
                    t_resp = time.monotonic()
                    closed = c.at_eof(3)
                    results[i] = (r.status, r.body, t_resp, closed)
            except (OSError, EOFError, AssertionError) as e:
                results[i] = (None, repr(e), None, None)
        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(N)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if len([q for q in self.origin.requests_since(om) if "term=" in q["target"]]) == N:
                break
            time.sleep(0.01)
        t_term = time.monotonic()
        p.signal(signal.SIGTERM)
        refused_ms = self.refused_after(p, t_term)
        for t in threads:
            t.join(GRACE / 1000.0 + 5)
        try:
            rc = p.proc.wait(GRACE / 1000.0 + 3)
        except Exception:
            p.kill()
            rc = None
        exit_ms = (time.monotonic() - t_term) * 1000
        lines = [l for l in p.access()[m:] if "term=" in str(l.get("path"))]
        last_resp_ms = max(((r[2] - t_term) * 1000 for r in results if r and r[2]), default=None)
        L.figure("sigterm_under_load", transfers=N, slow_ms=SLOW, grace_ms=GRACE,
                 refused_after_ms=round(refused_ms), last_response_after_ms=last_resp_ms
                 and round(last_resp_ms), exit_after_ms=round(exit_ms), exit_code=rc,
                 completed=sum(1 for r in results if r and r[0] == 200),
                 closed_after_response=sum(1 for r in results if r and r[3]),
                 access_lines=len(lines))
        self.assertEqual([r for r in results if not r or r[0] != 200 or r[1] != b"slow done\n"],
                         [], "transfers did not finish")
        self.assertTrue(all(r[3] for r in results), "keep-alive connections left open")
        self.assertEqual(rc, 0, "exit code after SIGTERM; stderr: %s" % p.stderr_text())
        self.assertLess(exit_ms, GRACE, "the proxy waited for the grace period although "
                        "every transfer had ended")
        self.assertEqual(len(lines), N)
        self.assertTrue(all(l["status"] == 200 for l in lines), lines)
        ev = p.wait_event("shutdown", timeout=1)
        self.assertIn("grace_ms", ev)

    def test_transfers_beyond_grace_are_cut_at_grace_exit_0(self):
        GRACE = 1500
        p = self.proxy_with_grace(GRACE)
        m = p.mark()
        om = self.origin.mark()
        tun = p.connect(timeout=10)
        tun.send(b"CONNECT echo.test:7000 HTTP/1.1\r\nHost: echo.test:7000\r\n\r\n")
        self.assertEqual(tun.read_response("CONNECT").status, 200)
        tun.send(b"hi")
        self.assertEqual(tun.read_exact(2), b"hi")
        slow = p.connect(timeout=10)
        slow.send(H.build_request("GET", "http://fwd.test/slow?ms=6000&term=beyond"))
        deadline = time.monotonic() + 3
        while not [q for q in self.origin.requests_since(om) if "term=beyond" in q["target"]] \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        t_term = time.monotonic()
        p.signal(signal.SIGTERM)
        try:
            rc = p.proc.wait(GRACE / 1000.0 + 3)
        except Exception:
            p.kill()
            rc = None
        exit_ms = (time.monotonic() - t_term) * 1000
        _, _, t_tun = L.read_until_close(tun.sock, 2)
        data, _, t_slow = L.read_until_close(slow.sock, 2)
        tun.close()
        slow.close()
        lines = p.access()[m:]
        L.figure("sigterm_beyond_grace", grace_ms=GRACE, exit_after_ms=round(exit_ms),
                 exit_code=rc, tunnel_closed=t_tun is not None,
                 slow_client_got=L.status_of(data), access_lines=len(lines),
                 lines=[(l["method"], l["status"], l["reason"]) for l in lines])
        self.assertEqual(rc, 0, "exit code; stderr: %s" % p.stderr_text())
        self.assertGreaterEqual(exit_ms, GRACE * 0.9)
        self.assertLess(exit_ms, GRACE + 1000)
        self.assertIsNotNone(t_tun, "the tunnel was not closed")
        self.assertIsNotNone(t_slow, "the slow request's connection was not closed")
        self.assertEqual(sorted(l["method"] for l in lines), ["CONNECT", "GET"],
                         "every cut transfer has its access line")
        self.assertTrue(any(e.get("event") == "shutdown" for e in p.events()))
