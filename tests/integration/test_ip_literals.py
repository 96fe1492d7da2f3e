"""SPEC 3 step 2: IP-literal hosts in every form a resolver accepts."""

import harness as H

# (form in an absolute URI, form in CONNECT)
LITERALS = [
    ("127.0.0.2", "127.0.0.2"),
    ("2130706434", "2130706434"),          # decimal
    ("0x7f000002", "0x7f000002"),          # hex
    ("0177.0.0.2", "0177.0.0.2"),          # octal
    ("0x7f.0.0.2", "0x7f.0.0.2"),          # mixed
    ("127.2", "127.2"),                    # short
    ("[::1]", "[::1]"),
    ("[::ffff:127.0.0.2]", "[::ffff:127.0.0.2]"),
    ("[::ffff:7f00:2]", "[::ffff:7f00:2]"),
    ("[0:0:0:0:0:0:0:1]", "[0:0:0:0:0:0:0:1]"),
    ("[fe80::1%25lo]", "[fe80::1%lo]"),    # zone id
    ("10.0.0.1", "10.0.0.1"),
    ("169.254.169.254", "169.254.169.254"),
]


class IpLiteralsDenied(H.ProxyTestCase):
    # Even a tier listing the CIDRs does not help: step 2 comes first.
    TIERS = {"all": {"domains": ["*", "127.0.0.0/8", "::/0", "10.0.0.0/8"],
                     "ports": [80, 443, 7000]}}

    def test_absolute_uri_literals_denied(self):
        dns_mark = len(self.dns.log)
        for uri_host, _ in LITERALS:
            with self.subTest(host=uri_host):
                r, line = self.get("http://%s/echo" % uri_host)
                self.assertDeniedLogged(r, line, 403, "ip_literal", method="GET", port=80)
        self.assertEqual(self.dns.log[dns_mark:], [], "IP literals were sent to DNS")

    def test_connect_literals_denied(self):
        for _, host in LITERALS:
            with self.subTest(host=host):
                r, line = self.connect_req("%s:443" % host)
                self.assertDeniedLogged(r, line, 403, "ip_literal", method="CONNECT",
                                        port=443, path=None)

    def test_plain_literal_body_names_host(self):
        r, line = self.get("http://127.0.0.2/echo")
        self.assertDeniedLogged(r, line, 403, "ip_literal", host="127.0.0.2")


class IpLiteralsAllowed(H.ProxyTestCase):
    # 127.0.0.3 is exempt too, so that it is judged by the tiers alone
    # (nothing listens there: a wrong "allow" ends in upstream_failed).
    NETWORK = {"ip_literals": "allow", "allow_ranges": ["127.0.0.2/32", "127.0.0.3/32"]}
    TIERS = {
        "lit": {"domains": ["127.0.0.2/32", "10.0.0.0/8", "::1", "169.254.0.0/16"],
                "ports": [80, 7000]},
        "names": {"domains": ["*"], "ports": [80]},
    }

    def test_literal_in_allow_range_and_tier_is_allowed(self):
        r, line = self.get("http://127.0.0.2/echo")
        self.assertAllowed(r, line, tier="lit", addr="127.0.0.2", port=80, path="/echo")
        self.assertEqual(r.json()["target"], "/echo")

    def test_other_literal_forms_are_normalised(self):
        for form in ("2130706434", "0x7f000002", "127.0.0.2."):
            with self.subTest(form=form):
                r, line = self.get("http://%s/echo" % form)
                self.assertAllowed(r, line, tier="lit", addr="127.0.0.2")

    def test_private_literal_still_denied_address(self):
        for form in ("10.0.0.1", "0x0a000001", "167772161", "10.1"):
            with self.subTest(form=form):
                r, line = self.get("http://%s/" % form)
                self.assertDeniedLogged(r, line, 403, "denied_address")

    def test_v6_loopback_literal_denied_address(self):
        r, line = self.get("http://[::1]/")
        self.assertDeniedLogged(r, line, 403, "denied_address")

    def test_metadata_literal_denied(self):
        r, line = self.get("http://169.254.169.254/latest/meta-data/")
        self.assertDeniedLogged(r, line, 403, "denied_address")

    def test_mapped_private_literal_denied(self):
        r, line = self.get("http://[::ffff:10.0.0.1]/")
        self.assertEqual(r.status, 403, r)
        self.assertIn(line["reason"], ("denied_address", "not_allowlisted"))

    def test_star_does_not_match_literal(self):
        # 127.0.0.3 is in no CIDR pattern; "*" must not match it.
        r, line = self.get("http://127.0.0.3/")
        self.assertDeniedLogged(r, line, 403, "not_allowlisted")

    def test_connect_literal_allowed(self):
        with self.proxy.connect() as c:
            m = self.proxy.mark()
            c.send(b"CONNECT 127.0.0.2:7000 HTTP/1.1\r\nHost: 127.0.0.2:7000\r\n\r\n")
            r = c.read_response("CONNECT")
            self.assertEqual(r.status, 200, r)
            c.send(b"ping")
            self.assertEqual(c.read_exact(4), b"ping")
        line = self.proxy.wait_access(m)[0]
        self.assertAllowed(r, line, tier="lit", addr="127.0.0.2", method="CONNECT",
                           port=7000, path=None, bytes_up=4, bytes_down=4)
