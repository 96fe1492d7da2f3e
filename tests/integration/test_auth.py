"""SPEC 2 auth / 3: Basic proxy credentials "SESSION:TOKEN" from
tokens_file; 407 auth_required; the session is the one authenticated."""

import base64
import os
import signal
import subprocess

import harness as H


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


class BasicAuth(H.ProxyTestCase):
    TIERS = {"t": {"domains": [".test"], "ports": [80, 443, 7000]}}

    @classmethod
    def setUpClass(cls):
        cls.env = H.env()
        import tempfile
        d = tempfile.mkdtemp(prefix="auth-", dir=cls.env.tmp)
        cls.tokens = os.path.join(d, "tokens")
        with open(cls.tokens, "w") as f:
            f.write("s-alpha:tok-alpha\ns-beta:tok-beta\n")
        cls.PROXY_KW = {"extra": {"auth": {"mode": "basic", "tokens_file": cls.tokens}}}
        super().setUpClass()

    def assert407(self, r, line):
        self.assertDenied(r, 407, "auth_required")
        self.assertEqual(r.header("Proxy-Authenticate"), 'Basic realm="sluice"')
        self.assertAccess(line, decision="deny", reason="auth_required", status=407)

    def test_no_credentials(self):
        r, line = self.get("http://a.test/echo")
        self.assert407(r, line)

    def test_wrong_token_and_unknown_session(self):
        for cred in (basic("s-alpha", "wrong"), basic("s-nobody", "tok-alpha"),
                     basic("s-alpha", "tok-beta"), "Bearer tok-alpha", "Basic !!!"):
            with self.subTest(cred=cred):
                r, line = self.get("http://a.test/echo", headers=[("Proxy-Authorization", cred)])
                self.assert407(r, line)

    def test_valid_credentials_set_session_and_are_not_forwarded(self):
        r, line = self.get("http://a.test/echo",
                           headers=[("Proxy-Authorization", basic("s-alpha", "tok-alpha"))])
        self.assertAllowed(r, line, session="s-alpha")
        names = [k.lower() for k, _ in r.json()["headers"]]
        self.assertNotIn("proxy-authorization", names)

    def test_connect_needs_credentials(self):
        r, line = self.connect_req("echo.test:7000")
        self.assert407(r, line)
        m = self.proxy.mark()
        with self.proxy.connect() as c:
            c.send(("CONNECT echo.test:7000 HTTP/1.1\r\nHost: echo.test:7000\r\n"
                    "Proxy-Authorization: %s\r\n\r\n" % basic("s-beta", "tok-beta")).encode())
            r = c.read_response("CONNECT")
            self.assertEqual(r.status, 200)
            c.send(b"hi")
            self.assertEqual(c.read_exact(2), b"hi")
        self.assertAllowed(r, self.proxy.wait_access(m)[0], session="s-beta", method="CONNECT")

    def test_curl_with_credentials_in_proxy_url(self):
        if not H.have("curl"):
            self.skipTest("curl not installed (Debian: curl)")
        home = os.path.join(self.proxy.dir, "home")
        os.makedirs(home, exist_ok=True)
        for url, extra in (("http://tls.test/echo", []),
                           ("https://tls.test/echo", ["--cacert", self.env.ca.ca])):
            with self.subTest(url=url):
                m = self.proxy.mark()
                p = subprocess.run(["curl", "-sS", "--fail", "--max-time", "20", "-x",
                                    self.proxy.url(userinfo="s-alpha:tok-alpha@")] + extra + [url],
                                   env=H.tools_env(home), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=30)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertNotIn(b"tok-alpha", p.stdout)
                self.assertNotIn(b"czphbHBoYTp0b2stYWxwaGE", p.stdout)  # base64 of the pair
                line = self.proxy.wait_access(m)[0]
                self.assertEqual(line["session"], "s-alpha")

    def test_tokens_file_reread_on_reload(self):
        cred = [("Proxy-Authorization", basic("s-gamma", "tok-gamma"))]
        r, line = self.get("http://a.test/echo", headers=cred)
        self.assertEqual(r.status, 407)
        with open(self.tokens, "a") as f:
            f.write("s-gamma:tok-gamma\n")
        ev = len(self.proxy.events())
        self.proxy.signal(signal.SIGHUP)
        self.proxy.wait_event("reload", ev)
        r, line = self.get("http://a.test/echo", headers=cred)
        self.assertAllowed(r, line, session="s-gamma")
