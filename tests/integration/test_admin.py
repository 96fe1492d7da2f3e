"""SPEC 6: the admin socket (HTTP over a Unix socket) and `sluice ctl`."""

import json
import os
import stat
import subprocess
import time

import harness as H


class Admin(H.ProxyTestCase):
    TIERS = {"t": {"domains": [".test"], "ports": [80, 7000]}}
    LISTENERS = [{"name": "agent", "session": "s-adm", "tiers": ["t"]},
                 {"name": "other", "session": "s-two", "tiers": ["t"]},
                 # a kill is final: the pause test needs a session that no
                 # other test of this class kills
                 {"name": "third", "session": "s-three", "tiers": ["t"]}]

    @classmethod
    def setUpClass(cls):
        cls.env = H.env()
        import tempfile
        cls.sock = os.path.join(tempfile.mkdtemp(prefix="adm-", dir=cls.env.tmp), "admin.sock")
        cls.PROXY_KW = {"extra": {"admin": {"socket": cls.sock}}}
        super().setUpClass()

    def admin(self, method, path):
        with H.Conn(self.sock) as c:
            c.send(("%s %s HTTP/1.1\r\nHost: sluice\r\nContent-Length: 0\r\n\r\n"
                    % (method, path)).encode())
            return c.read_response(method)

    def test_socket_mode_0600(self):
        mode = stat.S_IMODE(os.stat(self.sock).st_mode)
        self.assertEqual(mode, 0o600, "admin socket mode %o" % mode)

    def test_status_and_sessions(self):
        self.get("http://a.test/echo")
        r = self.admin("GET", "/status")
        self.assertEqual(r.status, 200)
        self.assertIsInstance(r.json(), dict)
        r = self.admin("GET", "/sessions")
        self.assertEqual(r.status, 200)
        self.assertIn("s-adm", json.dumps(r.json()))

    def test_metrics_prometheus(self):
        r = self.admin("GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertIn("# TYPE", r.text())

    def test_pause_resume(self):
        ev = len(self.proxy.events())
        self.assertEqual(self.admin("POST", "/sessions/s-adm/pause").status, 200)
        self.proxy.wait_event("session_paused", ev)
        r, line = self.get("http://a.test/echo")
        self.assertDeniedLogged(r, line, 403, "session_paused", session="s-adm")
        r, line = self.get("http://a.test/echo", listener="third")
        self.assertAllowed(r, line, session="s-three")
        self.assertEqual(self.admin("POST", "/sessions/s-adm/resume").status, 200)
        self.proxy.wait_event("session_resumed", ev)
        r, line = self.get("http://a.test/echo")
        self.assertAllowed(r, line, session="s-adm")

    def test_kill_closes_open_tunnel(self):
        with self.proxy.connect(listener="other") as c:
            c.send(b"CONNECT echo.test:7000 HTTP/1.1\r\nHost: echo.test:7000\r\n\r\n")
            self.assertEqual(c.read_response("CONNECT").status, 200)
            ev = len(self.proxy.events())
            self.assertEqual(self.admin("POST", "/sessions/s-two/kill").status, 200)
            self.proxy.wait_event("session_killed", ev)
            self.assertTrue(c.at_eof(wait=3), "kill left the session's tunnel open")
        r, line = self.get("http://a.test/echo", listener="other")
        self.assertDeniedLogged(r, line, 403, "session_killed", session="s-two")

    def test_reload(self):
        ev = len(self.proxy.events())
        self.assertEqual(self.admin("POST", "/reload").status, 200)
        self.proxy.wait_event("reload", ev)

    def test_ctl_status(self):
        p = subprocess.run([H.sluice_binary(), "ctl", "-s", self.sock, "status"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        json.loads(p.stdout)
