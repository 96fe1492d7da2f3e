"""SPEC 4: absolute-URI HTTP/1.1 forwarding."""

import re
import socket

import harness as H

MiB = 1 << 20
BIG = 20 * MiB


def hdrs(echo, name):
    return [v for k, v in echo["headers"] if k.lower() == name.lower()]


class Forwarding(H.ProxyTestCase):
    TIERS = {"web": {"domains": [".test"], "ports": [80, 8080, 9]}}

    def test_get_absolute_uri(self):
        r, line = self.get("http://fwd.test/echo?a=1&b=two", headers=[("X-Custom", "v1"),
                                                                      ("User-Agent", "it/1")])
        self.assertAllowed(r, line, method="GET", host="fwd.test", port=80,
                           path="/echo?a=1&b=two", tier="web", addr="127.0.0.2",
                           listener="agent", client="127.0.0.1:%d" % r.client_port)
        echo = r.json()
        self.assertEqual(echo["target"], "/echo?a=1&b=two",
                         "origin must get the origin-form target")
        self.assertEqual(echo["method"], "GET")
        self.assertEqual(hdrs(echo, "X-Custom"), ["v1"])
        self.assertEqual(hdrs(echo, "User-Agent"), ["it/1"])
        self.assertGreaterEqual(line["bytes_down"], len(r.body))

    def test_client_connection_close(self):
        for path in ("/echo", "/bytes?n=100000", "/bytes?n=100000&chunked=1"):
            with self.subTest(path=path):
                with self.proxy.connect() as c:
                    m = self.proxy.mark()
                    c.send(H.build_request("GET", "http://fwd.test" + path, close=True))
                    r = c.read_response()
                    self.assertEqual(r.status, 200)
                    self.assertTrue(c.at_eof(), "connection left open after Connection: close")
                self.assertAllowed(r, self.proxy.wait_access(m)[0], path=path)

    def test_conflicting_host_rewritten(self):
        raw = (b"GET http://fwd.test/echo HTTP/1.1\r\nHost: evil.test\r\n"
               b"\r\n")
        r, line = self.exchange(raw)
        self.assertAllowed(r, line, host="fwd.test")
        self.assertEqual(hdrs(r.json(), "Host"), ["fwd.test"])
        self.assertEqual(self.dns.queries("evil.test"), [], "the Host header was resolved")

    def test_host_keeps_non_default_port(self):
        raw = (b"GET http://fwd.test:8080/echo HTTP/1.1\r\nHost: fwd.test\r\n"
               b"\r\n")
        r, line = self.exchange(raw)
        self.assertAllowed(r, line, host="fwd.test", port=8080)
        self.assertEqual(r.json()["port"], 8080)
        self.assertEqual(hdrs(r.json(), "Host"), ["fwd.test:8080"])

    def test_via_added(self):
        r, line = self.get("http://fwd.test/echo")
        via = hdrs(r.json(), "Via")
        self.assertTrue(via and re.match(r"^1\.1 \S+", via[-1]),
                        "request Via at origin: %r" % via)
        self.assertTrue(r.header("Via") and re.match(r"^1\.1 \S+", r.header("Via")),
                        "response Via: %r" % r.header("Via"))

    def test_hop_by_hop_request_headers_removed(self):
        r, line = self.get("http://fwd.test/echo", headers=[
            ("Connection", "keep-alive, X-Secret-Hop"), ("X-Secret-Hop", "1"),
            ("Keep-Alive", "timeout=5"), ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
            ("Proxy-Connection", "keep-alive"), ("TE", "deflate;q=0.5"),
            ("Upgrade", "websocket"), ("X-End-To-End", "kept")])
        self.assertAllowed(r, line)
        echo = r.json()
        names = [k.lower() for k, _ in echo["headers"]]
        for h in ("x-secret-hop", "keep-alive", "proxy-authorization", "proxy-connection",
                  "upgrade"):
            self.assertNotIn(h, names, "hop-by-hop %r forwarded: %r" % (h, echo["headers"]))
        self.assertNotIn("deflate;q=0.5", hdrs(echo, "TE"), "TE forwarded")
        for v in hdrs(echo, "Connection"):
            self.assertNotIn("x-secret-hop", v.lower())
        self.assertEqual(hdrs(echo, "X-End-To-End"), ["kept"])

    def test_hop_by_hop_response_headers_removed(self):
        r, line = self.get("http://fwd.test/echo?resp_hop=1")
        self.assertAllowed(r, line)
        self.assertIsNone(r.header("X-Resp-Hop"), "response hop-by-hop forwarded: %r" % r.headers)
        self.assertIsNone(r.header("Keep-Alive"))
        self.assertEqual(r.header("X-End-To-End"), "kept")

    def test_client_keepalive_and_upstream_reuse(self):
        conns0 = self.origin.connections
        m = self.proxy.mark()
        with self.proxy.connect() as c:
            for i in range(5):
                c.send(H.build_request("GET", "http://ka.test/echo?i=%d" % i, close=False))
                r = c.read_response()
                self.assertEqual(r.status, 200, "request %d on one connection: %r" % (i, r))
                self.assertEqual(r.json()["target"], "/echo?i=%d" % i)
            port = c.local[1]
        lines = self.proxy.wait_access(m, 5)
        for i, l in enumerate(lines):
            self.assertAccess(l, decision="allow", path="/echo?i=%d" % i,
                              client="127.0.0.1:%d" % port)
        used = self.origin.connections - conns0
        self.assertLess(used, 5, "no upstream keep-alive: %d origin connections for 5 requests" % used)

    def test_pipelined_requests(self):
        m = self.proxy.mark()
        with self.proxy.connect() as c:
            c.send(b"".join(H.build_request("GET", "http://pipe.test/echo?p=%d" % i, close=False)
                            for i in range(3)))
            for i in range(3):
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json()["target"], "/echo?p=%d" % i, "pipelined order")
        self.proxy.wait_access(m, 3)

    def download(self, chunked):
        url = "http://dl.test/bytes?n=%d&seed=5%s" % (BIG, "&chunked=1" if chunked else "")
        r, line = self.get(url, sha_only=True, timeout=30)
        self.assertAllowed(r, line, path=url[len("http://dl.test"):])
        self.assertEqual((r.length, r.sha256), (BIG, H.payload_sha256(BIG, 5)))
        self.assertGreaterEqual(line["bytes_down"], BIG)
        self.assertLess(line["bytes_down"], BIG + 65536)

    def test_download_content_length_20MiB(self):
        self.download(False)

    def test_download_chunked_20MiB(self):
        self.download(True)

    def upload(self, chunked):
        data = H.payload(BIG, 7)
        if chunked:
            body = b"".join(b"%x\r\n%s\r\n" % (len(x), x)
                            for x in H.payload_chunks(BIG, 7, 100000)) + b"0\r\n\r\n"
            headers = [("Transfer-Encoding", "chunked")]
        else:
            body, headers = data, []
        r, line = self.get("http://up.test/upload", method="POST", body=body,
                           headers=headers, timeout=30)
        self.assertAllowed(r, line, method="POST", path="/upload")
        self.assertEqual(r.json(), {"length": BIG, "sha256": H.payload_sha256(BIG, 7)})
        self.assertGreaterEqual(line["bytes_up"], BIG)
        self.assertLess(line["bytes_up"], BIG + 65536 + (BIG // 100000 + 1) * 12)

    def test_upload_content_length_20MiB(self):
        self.upload(False)

    def test_upload_chunked_20MiB(self):
        self.upload(True)

    def test_head_then_reuse(self):
        with self.proxy.connect() as c:
            c.send(H.build_request("HEAD", "http://fwd.test/bytes?n=1000", close=False))
            r = c.read_response("HEAD")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Content-Length"), "1000")
            c.send(H.build_request("GET", "http://fwd.test/echo?after=head", close=False))
            r = c.read_response()
            self.assertEqual(r.status, 200, "request after HEAD on the same connection")
            self.assertEqual(r.json()["target"], "/echo?after=head")

    def test_204_and_304_then_reuse(self):
        with self.proxy.connect() as c:
            for code in (204, 304):
                c.send(H.build_request("GET", "http://fwd.test/status?code=%d" % code,
                                       close=False))
                r = c.read_response()
                self.assertEqual(r.status, code)
                self.assertEqual(r.body, b"")
            c.send(H.build_request("GET", "http://fwd.test/echo?after=304", close=False))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["target"], "/echo?after=304")

    def test_http10_client(self):
        raw = b"GET http://fwd.test/bytes?n=5000&chunked=1 HTTP/1.0\r\n\r\n"
        with self.proxy.connect() as c:
            m = self.proxy.mark()
            c.send(raw)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertNotIn("chunked", (r.header("Transfer-Encoding") or "").lower(),
                             "chunked sent to an HTTP/1.0 client")
            self.assertEqual(r.sha256, H.payload_sha256(5000))
            self.assertTrue(c.at_eof(), "HTTP/1.0 connection without keep-alive left open")
        self.proxy.wait_access(m)

    def test_post_with_content_length_to_echo(self):
        r, line = self.get("http://fwd.test/echo", method="POST", body=b"hello world")
        self.assertAllowed(r, line, method="POST")
        self.assertEqual(r.json()["body_length"], 11)

    def test_upstream_connection_refused(self):
        r, line = self.get("http://fwd.test:9/")
        self.assertDenied(r, 502, "upstream_failed", host="fwd.test")
        self.assertAccess(line, reason="upstream_failed", status=502, port=9)
