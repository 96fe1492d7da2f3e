"""SPEC 2 limits / 3 step 4: per-session, per-tier caps -> 429 with
byte_cap / rate_limited / connection_cap, and alert events."""

import time

import harness as H

MiB = 1 << 20


class Limits(H.ProxyTestCase):
    TIERS = {
        "rate": {"domains": ["rate.test"], "ports": [80],
                 "limits": {"requests_per_minute": 5, "alert_at": "80%"}},
        "conns": {"domains": ["conn.test"], "ports": [7000], "limits": {"connections": 2}},
        "down": {"domains": ["down.test"], "ports": [80], "limits": {"bytes_down": "1MiB"}},
        "up": {"domains": ["up.test"], "ports": [80], "limits": {"bytes_up": "1MiB"}},
        "bw": {"domains": ["bw.test"], "ports": [80], "limits": {"bandwidth": "1MiB/s"}},
        "free": {"domains": ["free.test", "rate.test"], "ports": [80, 7000]},
    }
    LISTENERS = [{"name": "agent", "session": "s-lim",
                  "tiers": ["rate", "conns", "down", "up", "bw", "free"]},
                 {"name": "other", "session": "s-other", "tiers": ["rate"]}]

    def test_requests_per_minute(self):
        ev0 = len(self.proxy.events())
        for i in range(5):
            r, line = self.get("http://rate.test/echo?%d" % i)
            self.assertAllowed(r, line, tier="rate", session="s-lim")
        r, line = self.get("http://rate.test/echo?6")
        self.assertDeniedLogged(r, line, 429, "rate_limited", host="rate.test", tier="rate")
        alerts = [e for e in self.proxy.events()[ev0:] if e.get("event") == "alert"]
        self.assertTrue(alerts, "no alert event at 80%% of requests_per_minute")
        a = alerts[0]
        self.assertEqual((a.get("session"), a.get("tier")), ("s-lim", "rate"), a)
        self.assertIn("requests_per_minute", a.values(), a)
        self.assertIn("used", a)
        self.assertEqual(a.get("limit"), 5, a)
        # caps are per session: another session is unaffected
        r, line = self.get("http://rate.test/echo?o", listener="other")
        self.assertAllowed(r, line, session="s-other")

    def test_connection_cap(self):
        opened = []
        try:
            for i in range(2):
                c = self.proxy.connect()
                c.send(b"CONNECT conn.test:7000 HTTP/1.1\r\nHost: conn.test:7000\r\n\r\n")
                self.assertEqual(c.read_response("CONNECT").status, 200)
                opened.append(c)
            r, line = self.connect_req("conn.test:7000")
            self.assertDeniedLogged(r, line, 429, "connection_cap", method="CONNECT")
            opened.pop().close()
            time.sleep(0.3)
            with self.proxy.connect() as c:
                c.send(b"CONNECT conn.test:7000 HTTP/1.1\r\nHost: conn.test:7000\r\n\r\n")
                self.assertEqual(c.read_response("CONNECT").status, 200,
                                 "a freed connection slot was not given back")
        finally:
            for c in opened:
                c.close()

    def test_bytes_down_cap_cuts_and_refuses(self):
        r, line = self.get("http://down.test/bytes?n=%d" % (MiB // 2))
        self.assertAllowed(r, line, tier="down")
        m = self.proxy.mark()
        with self.proxy.connect(timeout=10) as c:
            c.send(H.build_request("GET", "http://down.test/bytes?n=%d" % (2 * MiB)))
            try:
                r = c.read_response(sha_only=True)
                self.fail("a 2 MiB body went through a 1 MiB bytes_down cap (got %d)" % r.length)
            except EOFError:
                pass
        line = self.proxy.wait_access(m)[0]
        self.assertAccess(line, reason="byte_cap", tier="down")
        self.assertLess(line["bytes_down"], 1 * MiB + 65536)
        r, line = self.get("http://down.test/echo")
        self.assertDeniedLogged(r, line, 429, "byte_cap", host="down.test")

    def test_bytes_up_cap(self):
        m = self.proxy.mark()
        body = H.payload(2 * MiB)
        with self.proxy.connect(timeout=10) as c:
            try:
                c.send(H.build_request("POST", "http://up.test/upload", body=body))
                r = c.read_response()
                self.assertNotEqual(r.status, 200, "2 MiB went up through a 1 MiB bytes_up cap")
            except (EOFError, ConnectionResetError, BrokenPipeError):
                pass
        line = self.proxy.wait_access(m)[0]
        self.assertAccess(line, reason="byte_cap", tier="up")
        self.assertLess(line["bytes_up"], 1 * MiB + 65536)

    def test_bandwidth(self):
        t0 = time.time()
        r, line = self.get("http://bw.test/bytes?n=%d" % (3 * MiB), sha_only=True, timeout=15)
        took = time.time() - t0
        self.assertAllowed(r, line, tier="bw")
        self.assertEqual(r.length, 3 * MiB)
        self.assertGreater(took, 1.5, "3 MiB at 1MiB/s took %.2fs" % took)

    def test_caps_are_per_tier(self):
        r, line = self.get("http://free.test/bytes?n=%d" % (2 * MiB), sha_only=True)
        self.assertAllowed(r, line, tier="free")
