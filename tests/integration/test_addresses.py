"""SPEC 3 step 5: what names resolve to (denied ranges, metadata, mixed
answers, rebinding), DNS failures, and connections back to the proxy."""

import socket
import time

import harness as H

DENIED_NAMES = {
    "private.test": ["10.0.0.1"],
    "rfc1918.test": ["192.168.1.1"],
    "meta.test": ["169.254.169.254"],
    "cgnat.test": ["100.100.100.200"],
    "loop6.test": ["::1"],
    "ula.test": ["fd00::1"],
    "ec2v6.test": ["fd00:ec2::254"],
    "mapped.test": ["::ffff:10.0.0.1"],
    "nat64.test": ["64:ff9b::a00:1"],          # embeds 10.0.0.1
    "sixtofour.test": ["2002:a00:1::1"],        # embeds 10.0.0.1
    "loop4.test": ["127.0.0.1"],
    "mixed.test": ["127.0.0.2", "10.0.0.1"],
    "mixed6.test": ["127.0.0.2", "fd00::1"],
    "mixedmeta.test": ["169.254.169.254", "127.0.0.2"],
}


class DeniedAddresses(H.ProxyTestCase):
    TIERS = {"t": {"domains": [".test"], "ports": [80, 443, 7000]}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for name, addrs in DENIED_NAMES.items():
            cls.dns.set(name, addrs)
        cls.dns.set("nx.test", H.NXDOMAIN)
        cls.dns.set("servfail.test", H.SERVFAIL)
        cls.dns.set("silent.test", H.NOANSWER)
        cls.dns.set("rebind.test", H.Rotate(["127.0.0.2"], ["10.0.0.1"]))
        cls.dns.set("rebind2.test", H.Rotate(["127.0.0.2"], ["10.0.0.1"]))
        cls.dns.set("good6.test", ["127.0.0.2"])

    def test_get_to_name_in_denied_range(self):
        for name in DENIED_NAMES:
            with self.subTest(name=name):
                om = self.origin.mark()
                r, line = self.get("http://%s/echo" % name)
                self.assertDeniedLogged(r, line, 403, "denied_address", host=name,
                                        tier="t", method="GET", port=80)
                self.assertEqual(self.origin.requests_since(om), [],
                                 "%s: a denied request still reached the origin" % name)
                self.assertTrue(self.dns.queries(name), "%s was never resolved" % name)

    def test_connect_to_name_in_denied_range(self):
        for name in ("private.test", "meta.test", "loop6.test", "ula.test", "mixed.test",
                     "mapped.test"):
            with self.subTest(name=name):
                r, line = self.connect_req("%s:443" % name)
                self.assertDeniedLogged(r, line, 403, "denied_address", host=name,
                                        method="CONNECT", port=443, path=None)

    def test_rebinding_each_request_judged_on_own_lookup(self):
        om = self.origin.mark()
        r1, l1 = self.get("http://rebind.test/echo?n=1")
        self.assertAllowed(r1, l1, addr="127.0.0.2", host="rebind.test")
        self.assertEqual(len(self.origin.requests_since(om)), 1)
        # the name now answers 10.0.0.1: denied, or (if the proxy cached the
        # first answer) allowed to the address it had checked.  Never 10.0.0.1.
        r2, l2 = self.get("http://rebind.test/echo?n=2")
        if r2.status == 200:
            self.assertAllowed(r2, l2, addr="127.0.0.2")
        else:
            self.assertDeniedLogged(r2, l2, 403, "denied_address")

    def test_rebinding_connect_uses_checked_address(self):
        # The first A answer is the one the proxy must check and use; a
        # second lookup (e.g. by a connect helper) would get 10.0.0.1 and
        # hit a decoy.
        with self.proxy.connect() as c:
            m = self.proxy.mark()
            c.send(b"CONNECT rebind2.test:7000 HTTP/1.1\r\nHost: rebind2.test:7000\r\n\r\n")
            r = c.read_response("CONNECT")
            self.assertEqual(r.status, 200, r)
            c.send(b"x" * 100)
            self.assertEqual(c.read_exact(100), b"x" * 100)
        line = self.proxy.wait_access(m)[0]
        self.assertAllowed(r, line, addr="127.0.0.2", method="CONNECT", port=7000)

    def test_dns_nxdomain(self):
        r, line = self.get("http://nx.test/")
        self.assertDeniedLogged(r, line, 502, "dns_failure", host="nx.test", tier="t")

    def test_dns_servfail(self):
        r, line = self.get("http://servfail.test/")
        self.assertDeniedLogged(r, line, 502, "dns_failure", host="servfail.test")

    def test_dns_timeout(self):
        t0 = time.time()
        r, line = self.get("http://silent.test/", timeout=20)
        self.assertDeniedLogged(r, line, 502, "dns_failure", host="silent.test")
        self.assertLess(time.time() - t0, 15, "dns timeout took too long")

    def test_dns_failure_on_connect(self):
        r, line = self.connect_req("nx.test:443")
        self.assertDeniedLogged(r, line, 502, "dns_failure", method="CONNECT")


class MetadataNotLiftable(H.ProxyTestCase):
    NETWORK = {"allow_ranges": ["127.0.0.2/32", "169.254.0.0/16", "100.64.0.0/10",
                                "fc00::/7", "168.63.129.16/32"]}
    TIERS = {"t": {"domains": [".test"], "ports": [80]}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dns.set("meta.test", ["169.254.169.254"])
        cls.dns.set("cgnat.test", ["100.100.100.200"])
        cls.dns.set("ec2v6.test", ["fd00:ec2::254"])
        cls.dns.set("azure.test", ["168.63.129.16"])
        cls.dns.set("metamapped.test", ["::ffff:169.254.169.254"])

    def test_metadata_endpoints_denied_despite_allow_ranges(self):
        for name in ("meta.test", "cgnat.test", "ec2v6.test", "azure.test", "metamapped.test"):
            with self.subTest(name=name):
                r, line = self.get("http://%s/latest/meta-data/" % name)
                self.assertDeniedLogged(r, line, 403, "denied_address", host=name)

    def test_allow_range_still_works(self):
        r, line = self.get("http://fine.test/echo")
        self.assertAllowed(r, line, addr="127.0.0.2")


class SelfConnection(H.ProxyTestCase):
    """SPEC 3: a connection back to one of the proxy's own listeners is
    always refused, even when its address is in allow_ranges."""
    NETWORK = {"allow_ranges": ["127.0.0.2/32", "127.0.0.1/32"]}
    TIERS = {"t": {"domains": [".test"], "ports": [80, 3128, 3129]}}
    LISTENERS = [{"name": "agent", "listen": "127.0.0.1:3128", "tiers": ["t"]},
                 {"name": "other", "listen": "127.0.0.1:3129", "tiers": ["t"]}]

    @classmethod
    def setUpClass(cls):
        cls.env = H.env()
        cls.env.dns.set("self.test", ["127.0.0.1"])
        super().setUpClass()

    def assertOneLine(self, m):
        time.sleep(0.3)
        lines = self.proxy.access()[m:]
        self.assertEqual(len(lines), 1, "expected one access line (no loop), got %s" % lines)

    def test_get_to_own_listener_refused(self):
        for port in (3128, 3129):
            with self.subTest(port=port):
                m = self.proxy.mark()
                r, line = self.get("http://self.test:%d/echo" % port)
                self.assertDeniedLogged(r, line, 403, "denied_address", host="self.test",
                                        port=port)
                self.assertOneLine(m)

    def test_connect_to_own_listener_refused(self):
        for port in (3128, 3129):
            with self.subTest(port=port):
                m = self.proxy.mark()
                r, line = self.connect_req("self.test:%d" % port)
                self.assertDeniedLogged(r, line, 403, "denied_address", method="CONNECT",
                                        port=port)
                self.assertOneLine(m)

    def test_same_address_other_port_allowed(self):
        # Control: 127.0.0.1 itself is allowed here (allow_ranges); only the
        # listeners' own ports are refused.  127.0.0.1:80 is a decoy; the
        # expected hit is discounted.
        r, line = self.connect_req("self.test:80")
        self.assertEqual(r.status, 200, "control CONNECT self.test:80: %r" % r)
        deadline = time.time() + 2
        while time.time() < deadline and not self.env.decoys.since(self._decoy_mark):
            time.sleep(0.02)
        self.assertEqual(self.env.decoys.since(self._decoy_mark), [("127.0.0.1", 80)])
        self._decoy_mark = self.env.decoys.mark()
