"""SPEC 3/4: malformed and smuggling-shaped input is refused with 400
bad_request (431 header_too_large), logged, and the proxy keeps serving.
One test method per case (generated below)."""

import harness as H

R = "http://fwd.test"
CASES = {
    "origin_form": b"GET / HTTP/1.1\r\nHost: fwd.test\r\n\r\n",
    "origin_form_to_origin_addr": b"GET /echo HTTP/1.1\r\nHost: 127.0.0.2\r\n\r\n",
    "cl_and_te": (b"POST http://fwd.test/upload HTTP/1.1\r\nHost: fwd.test\r\n"
                  b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "differing_content_lengths": (b"POST http://fwd.test/upload HTTP/1.1\r\nHost: fwd.test\r\n"
                                  b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
    "content_length_list_differing": (b"POST http://fwd.test/upload HTTP/1.1\r\n"
                                      b"Host: fwd.test\r\nContent-Length: 5, 6\r\n\r\nhello!"),
    "content_length_not_a_number": (b"POST http://fwd.test/upload HTTP/1.1\r\nHost: fwd.test\r\n"
                                    b"Content-Length: 5x\r\n\r\nhello"),
    "content_length_negative": (b"POST http://fwd.test/upload HTTP/1.1\r\nHost: fwd.test\r\n"
                                b"Content-Length: -1\r\n\r\n"),
    "bad_chunk_size": (b"POST http://fwd.test/upload HTTP/1.1\r\nHost: fwd.test\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
    "chunked_not_last_coding": (b"POST http://fwd.test/upload HTTP/1.1\r\nHost: fwd.test\r\n"
                                b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
    "obs_fold": b"GET http://fwd.test/echo HTTP/1.1\r\nHost: fwd.test\r\nX-Foo: a\r\n  b\r\n\r\n",
    "bare_cr_in_header": b"GET http://fwd.test/echo HTTP/1.1\r\nHost: fwd.test\r\nX-Foo: a\rb\r\n\r\n",
    "nul_in_header": b"GET http://fwd.test/echo HTTP/1.1\r\nHost: fwd.test\r\nX-Foo: a\x00b\r\n\r\n",
    "space_before_colon": b"GET http://fwd.test/echo HTTP/1.1\r\nHost : fwd.test\r\n\r\n",
    "space_in_header_name": b"GET http://fwd.test/echo HTTP/1.1\r\nHost: fwd.test\r\nX Foo: b\r\n\r\n",
    "garbage_request_line": b"GARBAGE\r\n\r\n",
    "extra_token_in_request_line": b"GET http://fwd.test/echo HTTP/1.1 x\r\nHost: fwd.test\r\n\r\n",
    "bad_version": b"GET http://fwd.test/echo HTTP/1.x\r\nHost: fwd.test\r\n\r\n",
    "lowercase_version": b"GET http://fwd.test/echo http/1.1\r\nHost: fwd.test\r\n\r\n",
    "get_with_authority_form": b"GET fwd.test:80 HTTP/1.1\r\nHost: fwd.test\r\n\r\n",
    "connect_with_origin_form": b"CONNECT /echo HTTP/1.1\r\nHost: fwd.test\r\n\r\n",
    "connect_with_absolute_uri": b"CONNECT http://fwd.test/ HTTP/1.1\r\nHost: fwd.test\r\n\r\n",
    "connect_without_port": b"CONNECT fwd.test HTTP/1.1\r\nHost: fwd.test\r\n\r\n",
    "bad_host_chars": b"GET http://fw!d.test/echo HTTP/1.1\r\nHost: fwd.test\r\n\r\n",
    "empty_host": b"GET http:///echo HTTP/1.1\r\nHost: fwd.test\r\n\r\n",
    "bad_port": b"GET http://fwd.test:99999/echo HTTP/1.1\r\nHost: fwd.test\r\n\r\n",
    "tls_client_hello_to_plain_port": bytes.fromhex(
        "16030100c4010000c00303") + b"\x00" * 32 + b"\x00\x00\x02\x13\x01\x01\x00" + b"\x00" * 40,
}


class Malformed(H.ProxyTestCase):
    TIERS = {"t": {"domains": [".test"], "ports": [80]}}
    PROXY_KW = {"limits": {"max_connections": 1000, "max_header_bytes": 8192}}

    def check(self, raw, status, reason, body_level=False):
        p = self.proxy
        m = p.mark()
        with p.connect() as c:
            port = c.local[1]
            c.send(raw)
            try:
                r = c.read_response(raw.split(b" ", 1)[0].decode("latin-1"))
            except (EOFError, ConnectionResetError) as e:
                self.fail("no response, connection closed (%s); want %d %s" % (e, status, reason))
        self.assertDenied(r, status, reason)
        # This connection's line: another connection's may land after the mark.
        line = p.wait_access_where(
            m, lambda l: str(l.get("client", "")).endswith(":%d" % port))
        self.assertAccess(line, decision="deny", reason=reason, status=status)
        if not body_level:  # a bad head is refused before any upstream connection
            self.assertIsNone(line["addr"], "connected upstream for a bad request head")
        self.assertStillServing()

    def test_header_over_max_header_bytes(self):
        raw = (b"GET http://fwd.test/echo HTTP/1.1\r\nHost: fwd.test\r\nX-Big: "
               + b"a" * 20000 + b"\r\n\r\n")
        self.check(raw, 431, "header_too_large")

    def test_many_headers_over_max_header_bytes(self):
        raw = (b"GET http://fwd.test/echo HTTP/1.1\r\nHost: fwd.test\r\n"
               + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 40) for i in range(400)) + b"\r\n")
        self.check(raw, 431, "header_too_large")

    def test_header_just_under_limit_is_fine(self):
        r = self.proxy.send(H.build_request("GET", "http://fwd.test/echo",
                                            headers=[("X-Big", "a" * 6000)]))
        self.assertEqual(r.status, 200, r)


def _make(raw, body_level):
    def t(self):
        self.check(raw, 400, "bad_request", body_level)
    return t


for _name, _raw in CASES.items():
    setattr(Malformed, "test_" + _name, _make(_raw, _name in ("bad_chunk_size",)))
