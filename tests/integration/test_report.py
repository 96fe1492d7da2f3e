"""SPEC 3 step 3: a listener in report mode lets allowlist misses through
(logged report_only + would_deny) and enforces everything else."""

import harness as H


class ReportMode(H.ProxyTestCase):
    TIERS = {"core": {"domains": ["allowed.test"], "ports": [80, 7000]}}
    LISTENERS = [{"name": "agent", "tiers": ["core"], "mode": "report"},
                 {"name": "strict", "tiers": ["core"], "mode": "enforce"}]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dns.set("private.test", ["10.0.0.1"])

    def test_not_allowlisted_is_allowed_and_reported(self):
        r, line = self.get("http://other.test/echo")
        self.assertAllowed(r, line, reason="report_only", host="other.test", addr="127.0.0.2")
        self.assertEqual(line.get("would_deny"), "not_allowlisted", line)

    def test_port_not_allowed_is_reported(self):
        r, line = self.get("http://allowed.test:8080/echo")
        self.assertAllowed(r, line, reason="report_only", port=8080)
        self.assertEqual(line.get("would_deny"), "port_not_allowed", line)

    def test_allowlisted_is_plain_allowed(self):
        r, line = self.get("http://allowed.test/echo")
        self.assertAllowed(r, line, reason="allowed", tier="core")
        self.assertIn(line.get("would_deny"), (None,), line)

    def test_connect_reported(self):
        m = self.proxy.mark()
        with self.proxy.connect() as c:
            c.send(b"CONNECT other.test:7000 HTTP/1.1\r\nHost: other.test:7000\r\n\r\n")
            r = c.read_response("CONNECT")
            self.assertEqual(r.status, 200, r)
            c.send(b"hi")
            self.assertEqual(c.read_exact(2), b"hi")
        line = self.proxy.wait_access(m)[0]
        self.assertAllowed(r, line, reason="report_only", method="CONNECT")
        self.assertEqual(line.get("would_deny"), "not_allowlisted")

    def test_ip_literal_still_denied(self):
        r, line = self.get("http://127.0.0.2/echo")
        self.assertDeniedLogged(r, line, 403, "ip_literal")

    def test_denied_address_still_denied(self):
        r, line = self.get("http://private.test/")
        self.assertDeniedLogged(r, line, 403, "denied_address", host="private.test")

    def test_bad_request_still_refused(self):
        r, line = self.exchange(b"GET / HTTP/1.1\r\nHost: other.test\r\n\r\n")
        self.assertDeniedLogged(r, line, 400, "bad_request")

    def test_enforce_listener_unaffected(self):
        r, line = self.get("http://other.test/echo", listener="strict")
        self.assertDeniedLogged(r, line, 403, "not_allowlisted", host="other.test",
                                listener="strict")
