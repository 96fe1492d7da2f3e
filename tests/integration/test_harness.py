"""Self-tests of the harness pieces (no proxy): DNS server, origins, echo,
decoys.  If these fail, the other failures are not the proxy's."""

import json
import socket
import ssl
import unittest

import harness as H


class HarnessSelfTest(H.ProxyTestCase):

    def test_dns_udp_and_tcp(self):
        d = self.dns
        d.set("h-a.example", ["127.0.0.2", "::1"])
        self.assertEqual(H.dns_query(d.server, "h-a.example", 1), (0, ["127.0.0.2"]))
        self.assertEqual(H.dns_query(d.server, "H-A.example.", 28, tcp=True), (0, ["::1"]))
        d.set("h-nx.example", H.NXDOMAIN)
        self.assertEqual(H.dns_query(d.server, "h-nx.example")[0], 3)
        d.set("h-sf.example", H.SERVFAIL)
        self.assertEqual(H.dns_query(d.server, "h-sf.example")[0], 2)
        d.set("h-to.example", H.NOANSWER)
        self.assertIsNone(H.dns_query(d.server, "h-to.example", timeout=0.3))
        d.set("h-rot.example", H.Rotate(["127.0.0.2"], ["10.0.0.1"]))
        self.assertEqual(H.dns_query(d.server, "h-rot.example")[1], ["127.0.0.2"])
        self.assertEqual(H.dns_query(d.server, "h-rot.example")[1], ["10.0.0.1"])
        self.assertEqual(H.dns_query(d.server, "h-rot.example")[1], ["10.0.0.1"])
        self.assertEqual(len(d.queries("h-rot.example", 1)), 3)
        self.assertEqual(H.dns_query(d.server, "anything.test")[1], ["127.0.0.2"])

    def test_origin_echo_keepalive(self):
        before = self.origin.connections
        with H.Conn(("127.0.0.2", 80)) as c:
            for i in range(3):
                c.send(H.build_request("GET", "/echo?i=%d" % i, host="x.test", close=False))
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json()["target"], "/echo?i=%d" % i)
        self.assertEqual(self.origin.connections - before, 1)

    def test_origin_bytes_upload(self):
        with H.Conn(("127.0.0.2", 8080)) as c:
            c.send(H.build_request("GET", "/bytes?n=300000&chunked=1", host="x.test", close=False))
            r = c.read_response(sha_only=True)
            self.assertEqual((r.length, r.sha256), (300000, H.payload_sha256(300000)))
            body = H.payload(100000, 3)
            c.send(H.build_request("POST", "/upload", host="x.test", body=body, close=False))
            self.assertEqual(c.read_response().json(),
                             {"length": 100000, "sha256": H.payload_sha256(100000, 3)})
            chunked = b"".join(b"%x\r\n%s\r\n" % (len(x), x)
                               for x in H.payload_chunks(100000, 3, 7000)) + b"0\r\n\r\n"
            c.send(H.build_request("POST", "/upload", host="x.test", body=chunked,
                                   headers=[("Transfer-Encoding", "chunked")]))
            self.assertEqual(c.read_response().json()["sha256"], H.payload_sha256(100000, 3))

    def test_tls_origin(self):
        ctx = self.env.ca.client_context()
        with socket.create_connection(("127.0.0.2", 443), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="tls.test") as t:
                t.sendall(H.build_request("GET", "/echo", host="tls.test", close=True))
                data = b""
                while True:
                    d = t.recv(65536)
                    if not d:
                        break
                    data += d
        self.assertIn(b"200 OK", data.split(b"\r\n")[0])

    def test_echo_and_decoys(self):
        with socket.create_connection(("127.0.0.2", 7000), timeout=5) as s:
            s.sendall(b"ping")
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(s.recv(10), b"ping")
        self.assertEqual(self.env.decoys.failed, [], "decoys that could not bind")
        m = self.env.decoys.mark()
        socket.create_connection(("169.254.169.254", 80), timeout=5).close()
        import time
        for _ in range(100):
            if self.env.decoys.since(m):
                break
            time.sleep(0.01)
        self.assertEqual(self.env.decoys.since(m), [("169.254.169.254", 80)])
        self._decoy_mark = self.env.decoys.mark()  # that hit was ours

    def test_system_resolver_is_the_stray_one(self):
        self.assertIsNotNone(self.env.stray_dns, "could not bind the stray DNS on 127.0.0.1:53")
        with open("/etc/resolv.conf") as f:
            servers = {l.split()[1] for l in f if l.split()[:1] == ["nameserver"]}
        self.assertEqual(servers, {"127.0.0.1"})
        with self.assertRaises(OSError):
            socket.getaddrinfo("leak-check.test", 80)
        self.assertTrue(self.env.stray_dns.queries("leak-check.test"))
        self._stray_mark = len(self.env.stray_dns.log)  # that query was ours

    def test_yaml(self):
        y = H.to_yaml({"version": 1, "listeners": [{"name": "a", "tiers": ["x"]}],
                       "tiers": {"x": {"domains": ["*.a", ".b"], "ports": [80]}}})
        self.assertEqual(y, 'version: 1\nlisteners:\n  - name: "a"\n    tiers: ["x"]\n'
                            'tiers:\n  x:\n    domains: ["*.a", ".b"]\n    ports: [80]')
