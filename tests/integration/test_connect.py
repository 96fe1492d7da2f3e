"""SPEC 4: CONNECT tunnels."""

import hashlib
import socket
import threading

import harness as H

N = 4 << 20


class Tunnels(H.ProxyTestCase):
    TIERS = {"t": {"domains": [".test"], "ports": [443, 7000]}}

    def open_tunnel(self, authority="echo.test:7000", version="HTTP/1.1", early=b""):
        c = self.proxy.connect()
        host = "Host: %s\r\n" % authority if version == "HTTP/1.1" else ""
        c.send(("CONNECT %s %s\r\n%s\r\n" % (authority, version, host)).encode() + early)
        r = c.read_response("CONNECT")
        if r.status != 200:
            c.close()
            self.fail("CONNECT %s: %r" % (authority, r))
        return c, r

    def test_tunnel_both_ways_with_checksums(self):
        m = self.proxy.mark()
        c, r = self.open_tunnel()
        err = []

        def writer():
            try:
                for chunk in H.payload_chunks(N, 11):
                    c.sock.sendall(chunk)
            except OSError as e:
                err.append(e)
        t = threading.Thread(target=writer)
        t.start()
        h = hashlib.sha256()
        got = 0
        c.sock.settimeout(10)
        if c.buf:
            h.update(c.buf)
            got += len(c.buf)
            c.buf = b""
        while got < N:
            d = c.sock.recv(1 << 18)
            if not d:
                break
            h.update(d)
            got += len(d)
        t.join(10)
        port = c.local[1]
        c.close()
        self.assertEqual(err, [])
        self.assertEqual((got, h.hexdigest()), (N, H.payload_sha256(N, 11)))
        line = self.proxy.wait_access(m)[0]
        self.assertAllowed(r, line, method="CONNECT", host="echo.test", port=7000, path=None,
                           tier="t", addr="127.0.0.2", bytes_up=N, bytes_down=N,
                           client="127.0.0.1:%d" % port)

    def test_log_line_written_when_tunnel_ends(self):
        m = self.proxy.mark()
        c, r = self.open_tunnel()
        c.send(b"abc")
        self.assertEqual(c.read_exact(3), b"abc")
        port = c.local[1]
        c.close()
        line = self.proxy.wait_access(m)[0]
        self.assertAllowed(r, line, method="CONNECT", bytes_up=3, bytes_down=3,
                           client="127.0.0.1:%d" % port)

    def test_half_close_propagates(self):
        m = self.proxy.mark()
        c, r = self.open_tunnel()
        c.send(b"x" * 100000)
        c.sock.shutdown(socket.SHUT_WR)
        data = c.read_to_eof()
        c.close()
        self.assertEqual(len(data), 100000, "echo after half-close")
        self.proxy.wait_access(m)

    def test_early_data_after_connect_head(self):
        m = self.proxy.mark()
        c, r = self.open_tunnel(early=b"hello")
        self.assertEqual(c.read_exact(5), b"hello", "bytes sent right after CONNECT were lost")
        c.close()
        line = self.proxy.wait_access(m)[0]
        self.assertAccess(line, bytes_up=5, bytes_down=5)

    def test_http10_connect(self):
        m = self.proxy.mark()
        c, r = self.open_tunnel(version="HTTP/1.0")
        c.send(b"ping10")
        self.assertEqual(c.read_exact(6), b"ping10")
        c.close()
        self.assertAllowed(r, self.proxy.wait_access(m)[0], method="CONNECT", port=7000)

    def test_tls_through_tunnel(self):
        m = self.proxy.mark()
        c, r = self.open_tunnel("tls.test:443")
        ctx = self.env.ca.client_context()
        with ctx.wrap_socket(c.sock, server_hostname="tls.test") as t:
            t.sendall(H.build_request("GET", "/echo", host="tls.test", close=True))
            data = b""
            while True:
                d = t.recv(65536)
                if not d:
                    break
                data += d
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:200])
        line = self.proxy.wait_access(m)[0]
        self.assertAllowed(r, line, method="CONNECT", host="tls.test", port=443)
        self.assertGreater(line["bytes_up"], 100)
        self.assertGreater(line["bytes_down"], 100)

    def test_connect_denied_host(self):
        r, line = self.connect_req("nope.invalid:443")
        self.assertDeniedLogged(r, line, 403, "not_allowlisted", host="nope.invalid",
                                method="CONNECT", port=443, path=None)

    def test_connect_denied_port(self):
        r, line = self.connect_req("echo.test:22")
        self.assertDeniedLogged(r, line, 403, "port_not_allowed", host="echo.test",
                                method="CONNECT", port=22)
