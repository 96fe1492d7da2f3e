"""SPEC 3 step 1 and 3: host normalisation and domain pattern forms."""

import harness as H


class DomainPatterns(H.ProxyTestCase):
    TIERS = {
        "exact": {"domains": ["exact.test"], "ports": [80]},
        "star": {"domains": ["*.star.test"], "ports": [80]},
        "dot": {"domains": [".dot.test"], "ports": [80]},
        "dot8080": {"domains": ["*.dot.test"], "ports": [80, 8080]},
        "ex": {"domains": [".example.test"], "ports": [80]},
        "idn": {"domains": ["xn--bcher-kva.test"], "ports": [80]},
        "any": {"domains": ["*"], "ports": [80, 8080]},
    }
    LISTENERS = [
        {"name": "agent", "tiers": ["exact", "star", "dot", "dot8080", "ex", "idn"]},
        {"name": "open", "tiers": ["any"], "session": "s-open"},
    ]

    def allowed(self, url, tier, host, port=80, listener="agent", **want):
        r, line = self.get(url, listener=listener)
        path = "/" + url.split("/", 3)[3]
        self.assertAllowed(r, line, tier=tier, host=host, port=port, method="GET",
                           path=path, listener=listener, addr=H.ORIGIN_IP,
                           client="127.0.0.1:%d" % r.client_port, **want)
        return r, line

    def denied(self, url, reason, host, port=80, listener="agent"):
        dns_mark = len(self.dns.queries(host))
        r, line = self.get(url, listener=listener)
        self.assertDeniedLogged(r, line, 403, reason, host=host, port=port,
                                listener=listener, method="GET")
        self.assertEqual(line["host"], host)
        self.assertEqual(self.dns.queries(host)[dns_mark:], [],
                         "a host denied by the allowlist was looked up in DNS")
        return r, line

    def test_exact_allows_that_host(self):
        self.allowed("http://exact.test/echo", "exact", "exact.test")

    def test_exact_does_not_cover_subdomains(self):
        self.denied("http://www.exact.test/", "not_allowlisted", "www.exact.test")
        self.denied("http://xexact.test/", "not_allowlisted", "xexact.test")

    def test_star_covers_subdomains_not_apex(self):
        self.allowed("http://a.star.test/echo", "star", "a.star.test")
        self.allowed("http://deep.a.star.test/echo", "star", "deep.a.star.test")
        self.denied("http://star.test/", "not_allowlisted", "star.test")

    def test_dot_covers_apex_and_subdomains(self):
        self.allowed("http://dot.test/echo", "dot", "dot.test")
        self.allowed("http://x.y.dot.test/echo", "dot", "x.y.dot.test")

    def test_label_boundary(self):
        self.allowed("http://example.test/echo", "ex", "example.test")
        self.allowed("http://www.example.test/echo", "ex", "www.example.test")
        self.denied("http://badexample.test/", "not_allowlisted", "badexample.test")
        self.denied("http://example.test.evil.invalid/", "not_allowlisted",
                    "example.test.evil.invalid")

    def test_case_and_trailing_dot_normalised(self):
        self.allowed("http://EXACT.Test./echo", "exact", "exact.test")
        self.allowed("http://WWW.Example.TEST/echo", "ex", "www.example.test")

    def test_port_not_allowed_vs_not_allowlisted(self):
        self.denied("http://exact.test:8080/", "port_not_allowed", "exact.test", port=8080)
        self.denied("http://other.invalid:8080/", "not_allowlisted", "other.invalid", port=8080)
        self.denied("http://other.invalid/", "not_allowlisted", "other.invalid")
        r, line = self.connect_req("exact.test:443")
        self.assertDeniedLogged(r, line, 403, "port_not_allowed", host="exact.test",
                                method="CONNECT", port=443, path=None)

    def test_first_matching_tier_is_logged(self):
        # a.dot.test matches "dot" and "dot8080"; port 80 -> the first.
        self.allowed("http://a.dot.test/echo", "dot", "a.dot.test")
        # port 8080: "dot" matches the host but not the port, "dot8080" both.
        self.allowed("http://a.dot.test:8080/echo", "dot8080", "a.dot.test", port=8080)
        # apex on 8080: only "dot" matches the host, not the port.
        self.denied("http://dot.test:8080/", "port_not_allowed", "dot.test", port=8080)

    def test_wildcard_any_name_and_fixed_session(self):
        self.allowed("http://anything.test/echo", "any", "anything.test",
                     listener="open", session="s-open")
        self.allowed("http://deep.name.test:8080/echo", "any", "deep.name.test",
                     port=8080, listener="open", session="s-open")

    def test_wildcard_never_matches_ip_literal(self):
        r, line = self.get("http://127.0.0.2/echo", listener="open")
        self.assertDeniedLogged(r, line, 403, "ip_literal", listener="open")

    def test_a_label_pattern(self):
        self.allowed("http://xn--bcher-kva.test/echo", "idn", "xn--bcher-kva.test")
        self.allowed("http://XN--BCHER-KVA.test/echo", "idn", "xn--bcher-kva.test")

    def test_tiers_are_per_listener(self):
        # a.star.test:8080 is in no tier of "agent", but in "any" of "open".
        self.denied("http://a.star.test:8080/", "port_not_allowed", "a.star.test", port=8080)
        self.allowed("http://a.star.test:8080/echo", "any", "a.star.test", port=8080,
                     listener="open")

    def test_invalid_host_is_bad_request(self):
        for host in ("exa_mple!.test", "a..b.test", "x" * 64 + ".test"):
            with self.subTest(host=host):
                r, line = self.get("http://%s/" % host)
                self.assertDeniedLogged(r, line, 400, "bad_request")
                self.assertEqual(self.dns.queries(host), [], "invalid host %r went to DNS" % host)


class IdnPattern(H.ProxyTestCase):
    """SPEC 3 step 1: "IDN compared in its A-label form" -- a pattern
    written as a U-label matches the A-label host agents send."""
    TIERS = {"idn": {"domains": ["bücher.test", "*.münchen.test"], "ports": [80]}}

    def test_u_label_pattern_matches_a_label_host(self):
        for url, host in (("http://xn--bcher-kva.test/echo", "xn--bcher-kva.test"),
                          ("http://www.xn--mnchen-3ya.test/echo", "www.xn--mnchen-3ya.test")):
            with self.subTest(host=host):
                r, line = self.get(url)
                self.assertAllowed(r, line, tier="idn", host=host)


class DomainsFiles(H.ProxyTestCase):
    """SPEC 2: domains_files: plain lists, one pattern a line, '#' comments."""

    @classmethod
    def setUpClass(cls):
        import os
        import tempfile
        cls.env = H.env()
        d = tempfile.mkdtemp(prefix="dfiles-", dir=cls.env.tmp)
        path = os.path.join(d, "mirrors.txt")
        with open(path, "w") as f:
            f.write("# package mirrors\nfile-exact.test\n\n  .file-dot.test  \n"
                    "*.file-star.test # trailing comment\n")
        cls.TIERS = {"f": {"domains": ["inline.test"], "domains_files": [path], "ports": [80]}}
        super().setUpClass()

    def test_patterns_from_file(self):
        for host in ("inline.test", "file-exact.test", "file-dot.test", "x.file-dot.test",
                     "a.file-star.test"):
            with self.subTest(host=host):
                r, line = self.get("http://%s/echo" % host)
                self.assertAllowed(r, line, tier="f", host=host)
        for host in ("file-star.test", "x.file-exact.test", "package.test"):
            with self.subTest(host=host):
                r, line = self.get("http://%s/echo" % host)
                self.assertDeniedLogged(r, line, 403, "not_allowlisted", host=host)
