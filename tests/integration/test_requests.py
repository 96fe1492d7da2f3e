"""SPEC 3/4: every request is judged on its own (keep-alive must not turn
one allowed request into a pass for the next), URI parsing is not fooled,
and odd peer behaviour (hang-ups, truncation, slow heads, concurrency)
leaves the proxy serving."""

import hashlib
import threading
import time

import harness as H


class PerRequestDecisions(H.ProxyTestCase):
    TIERS = {"t": {"domains": ["a.test", "b.test"], "ports": [80, 7000]}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dns.set("private.test", ["10.0.0.1"])

    def test_each_request_on_a_connection_is_judged(self):
        m = self.proxy.mark()
        c = self.proxy.connect()
        try:
            seq = [("http://a.test/echo?1", 200, None),
                   ("http://nope.invalid/x", 403, "not_allowlisted"),
                   ("http://a.test:8080/echo", 403, "port_not_allowed"),
                   ("http://b.test/echo?2", 200, None),
                   ("http://127.0.0.2/echo", 403, "ip_literal"),
                   ("http://a.test/echo?3", 200, None)]
            for url, status, reason in seq:
                c.send(H.build_request("GET", url))
                r = c.read_response()
                if (r.header("Connection") or "").lower() == "close":
                    c.close()   # the proxy said it closes: go on on a new one
                    c = self.proxy.connect()
                self.assertEqual((r.status, r.header("Sluice-Reason")), (status, reason),
                                 "%s on a kept-alive connection: %r" % (url, r))
                if status == 200:
                    host = url.split("/")[2]
                    self.assertEqual([v for k, v in r.json()["headers"] if k.lower() == "host"],
                                     [host], "request went to the wrong upstream")
        finally:
            c.close()
        lines = self.proxy.wait_access(m, len(seq))
        self.assertEqual([l["reason"] for l in lines],
                         [x[2] or "allowed" for x in seq])

    def test_pipelined_denied_after_allowed(self):
        with self.proxy.connect() as c:
            c.send(H.build_request("GET", "http://a.test/bytes?n=200000")
                   + H.build_request("GET", "http://nope.invalid/"))
            r = c.read_response()
            self.assertEqual((r.status, r.sha256), (200, H.payload_sha256(200000)))
            r = c.read_response()
            self.assertEqual((r.status, r.header("Sluice-Reason")), (403, "not_allowlisted"))

    def test_request_in_body_is_not_a_request(self):
        inner = H.build_request("GET", "http://nope.invalid/")
        m = self.proxy.mark()
        with self.proxy.connect() as c:
            c.send(H.build_request("POST", "http://a.test/upload", body=inner))
            r = c.read_response()
            self.assertEqual(r.json()["length"], len(inner))
        time.sleep(0.3)
        lines = self.proxy.access()[m:]
        self.assertEqual([(l["method"], l["host"]) for l in lines], [("POST", "a.test")])

    def test_userinfo_and_delimiters_do_not_fool_authority(self):
        # RFC 3986: the host is after the last '@' of the authority, and the
        # authority ends at the first '/', '?' or '#'.
        for target in ("http://a.test@nope.invalid/", "http://a.test:80@nope.invalid/",
                       "http://nope.invalid?@a.test/", "http://nope.invalid#@a.test/",
                       "http://nope.invalid\\@a.test/", "http://a.test%40nope.invalid/",
                       "http://nope.invalid%2fa.test/"):
            with self.subTest(target=target):
                om = self.origin.mark()
                r, line = self.exchange(("GET %s HTTP/1.1\r\nHost: a.test\r\n\r\n"
                                         % target).encode())
                self.assertIn(r.status, (400, 403), "%s was let through: %r" % (target, r))
                self.assertEqual(line["decision"], "deny")
                self.assertEqual(self.origin.requests_since(om), [])

    def test_connect_target_not_host_header_decides(self):
        r, line = self.exchange(b"CONNECT nope.invalid:7000 HTTP/1.1\r\nHost: a.test:7000\r\n\r\n")
        self.assertDeniedLogged(r, line, 403, "not_allowlisted", host="nope.invalid")
        r, line = self.exchange(b"CONNECT a.test:7000@nope.invalid:7000 HTTP/1.1\r\n"
                                b"Host: a.test:7000\r\n\r\n")
        self.assertIn(r.status, (400, 403))

    def test_uppercase_scheme(self):
        # RFC 3986 3.1: schemes are case-insensitive
        r, line = self.exchange(b"GET HTTP://A.TEST/echo HTTP/1.1\r\nHost: a.test\r\n\r\n")
        self.assertAllowed(r, line, host="a.test", port=80)

    def test_empty_port_is_default_or_refused(self):
        r, line = self.exchange(b"GET http://a.test:/echo HTTP/1.1\r\nHost: a.test\r\n\r\n")
        if r.status == 200:
            self.assertAllowed(r, line, host="a.test", port=80)
        else:
            self.assertDeniedLogged(r, line, 400, "bad_request")


class PeerMisbehaviour(H.ProxyTestCase):
    TIERS = {"t": {"domains": [".test"], "ports": [80, 81]}}
    PROXY_KW = {"timeouts": {"connect_ms": 2000, "header_ms": 1000, "idle_ms": 1500,
                             "shutdown_grace_ms": 1000}}

    def test_client_hangs_up_mid_download(self):
        m = self.proxy.mark()
        c = self.proxy.connect()
        c.send(H.build_request("GET", "http://a.test/bytes?n=%d" % (20 << 20)))
        c.read_until(b"\r\n\r\n")
        c.read_exact(1 << 20)
        c.close()
        line = self.proxy.wait_access(m, 1, timeout=10)[0]
        self.assertAccess(line, host="a.test", status=200)
        self.assertLess(line["bytes_down"], 20 << 20)
        self.assertStillServing()

    def test_client_hangs_up_mid_upload(self):
        m = self.proxy.mark()
        c = self.proxy.connect()
        c.send(b"POST http://a.test/upload HTTP/1.1\r\nHost: a.test\r\n"
               b"Content-Length: 10000000\r\n\r\n" + b"x" * 100000)
        time.sleep(0.2)
        c.close()
        line = self.proxy.wait_access(m, 1, timeout=10)[0]
        self.assertAccess(line, host="a.test", method="POST")
        self.assertStillServing()

    def test_upstream_truncates_response(self):
        m = self.proxy.mark()
        with self.proxy.connect() as c:
            c.send(H.build_request("GET", "http://a.test/truncate?n=1000&send=500"))
            head = c.read_until(b"\r\n\r\n")
            self.assertIn(b"200", head.split(b"\r\n")[0])
            rest = c.read_to_eof()   # must end: the proxy cannot finish this body
            self.assertLessEqual(len(rest), 500)
        line = self.proxy.wait_access(m)[0]
        self.assertEqual(line["host"], "a.test")
        self.assertStillServing()

    def test_slow_request_head_times_out(self):
        t0 = time.time()
        with self.proxy.connect(timeout=8) as c:
            c.send(b"GET http://a.test/echo HTTP/1.1\r\nHost: a")
            try:
                c.read_to_eof()
            except OSError:
                self.fail("half-sent request head kept open past header_ms (1000 ms)")
        self.assertLess(time.time() - t0, 5)
        self.assertStillServing()

    def test_idle_keepalive_connection_closed(self):
        with self.proxy.connect(timeout=8) as c:
            c.send(H.build_request("GET", "http://a.test/echo"))
            self.assertEqual(c.read_response().status, 200)
            t0 = time.time()
            self.assertTrue(c.at_eof(wait=6), "idle client connection open past idle_ms (1500 ms)")
            self.assertGreater(time.time() - t0, 1.0)

    def test_concurrent_clients(self):
        m = self.proxy.mark()
        errors = []
        want = H.payload_sha256(100000, 1)

        def client(i):
            try:
                with self.proxy.connect(timeout=15) as c:
                    for j in range(5):
                        c.send(H.build_request("GET", "http://c%d.test/bytes?n=100000&seed=1" % i))
                        r = c.read_response()
                        if (r.status, r.sha256) != (200, want):
                            errors.append((i, j, r.status))
            except Exception as e:
                errors.append((i, repr(e)))
        ts = [threading.Thread(target=client, args=(i,)) for i in range(40)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(30)
        self.assertEqual(errors, [])
        self.proxy.wait_access(m, 200, timeout=10)

    def test_upstream_connect_timeout(self):
        # 127.0.0.2:81 listens with a full backlog: SYNs are dropped, so the
        # proxy's connect hangs until connect_ms (2000 ms).
        import socket
        ls = socket.socket()
        ls.bind((H.ORIGIN_IP, 81))
        ls.listen(0)
        fillers = []
        for _ in range(3):
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex((H.ORIGIN_IP, 81))
            fillers.append(f)
        time.sleep(0.2)
        try:
            t0 = time.time()
            r, line = self.get("http://a.test:81/", timeout=15)
            took = time.time() - t0
            self.assertDenied(r, 504, "upstream_timeout", host="a.test")
            self.assertAccess(line, reason="upstream_timeout", status=504, port=81)
            self.assertGreater(took, 1.5)
            self.assertLess(took, 8, "connect_ms 2000 but the answer took %.1fs" % took)
        finally:
            for f in fillers:
                f.close()
            ls.close()
