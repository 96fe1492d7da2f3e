"""SPEC 1 / 6: `sluice ctl [-s SOCKET | -c POLICY] [--json] COMMAND [ID]`
against a live proxy (every command), against a missing socket, and with bad
usage: exit 0 and a readable answer, 1 with a one-line message when the
socket is missing or the proxy refuses, 2 for usage."""

import json
import os
import socket
import subprocess
import tempfile

import harness as H
from test_admin import admin_request, parse_prometheus, wait_eof


def ctl(*args, env_extra=None, timeout=15):
    env = {k: v for k, v in os.environ.items() if k != "SLUICE_ADMIN_SOCKET"}
    env.update(env_extra or {})
    return subprocess.run([H.sluice_binary(), "ctl"] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=timeout,
                          universal_newlines=True)


class Ctl(H.ProxyTestCase):
    TIERS = {"t": {"domains": [".test"], "ports": [80, 7000],
                   "limits": {"bytes_down": "1GiB", "requests_per_minute": 1000}}}
    LISTENERS = [{"name": "agent", "session": "s-ctl-a", "tiers": ["t"]},
                 {"name": "b", "session": "s-ctl-b", "tiers": ["t"]},
                 {"name": "k", "session": "s-ctl-k", "tiers": ["t"]}]

    @classmethod
    def setUpClass(cls):
        cls.env = H.env()
        cls.sock = os.path.join(tempfile.mkdtemp(prefix="ctl-", dir=cls.env.tmp), "admin.sock")
        cls.PROXY_KW = {"extra": {"admin": {"socket": cls.sock}}}
        super().setUpClass()

    def ctl(self, *args, **kw):
        return ctl("-s", self.sock, *args, **kw)

    def assertOk(self, p):
        self.assertEqual(p.returncode, 0, "ctl exited %d; stderr: %s" % (p.returncode, p.stderr))
        self.assertEqual(p.stderr, "")

    def assertFails(self, p, rc, *words):
        self.assertEqual(p.returncode, rc, "want exit %d, got %d; stdout %r stderr %r"
                         % (rc, p.returncode, p.stdout, p.stderr))
        self.assertTrue(p.stderr.strip(), "no message on stderr")
        for w in words:
            self.assertIn(w, p.stderr)

    def state_of(self, session):
        r = admin_request(self.sock, "GET", "/sessions")
        for s in r.json()["sessions"]:
            if s["id"] == session:
                return s["state"]
        return None

    # ---- every command against the live proxy
    def test_status(self):
        p = self.ctl("status")
        self.assertOk(p)
        s = json.loads(p.stdout)
        self.assertEqual(s["pid"], self.proxy.proc.pid)
        self.assertEqual(s["policy"], self.proxy.policy_path)
        self.assertEqual(sorted(l["name"] for l in s["listeners"]), ["agent", "b", "k"])
        lines = p.stdout.splitlines()
        self.assertGreater(len(lines), 5, "status is not printed readably: %r" % p.stdout)
        self.assertTrue(lines[1].startswith("  \""), "status is not indented: %r" % p.stdout)
        # --json: the raw body, one line
        p = self.ctl("--json", "status")
        self.assertOk(p)
        self.assertEqual(p.stdout.count("\n"), 1, p.stdout)
        self.assertEqual(json.loads(p.stdout)["pid"], self.proxy.proc.pid)

    def test_sessions_table_and_json(self):
        for listener in ("agent", "b"):
            r, _ = self.get("http://a.test/bytes?n=2048", listener=listener)
            self.assertEqual(r.status, 200)
        p = self.ctl("sessions")
        self.assertOk(p)
        rows = [l.split() for l in p.stdout.splitlines()]
        self.assertEqual(rows[0], ["SESSION", "STATE", "TIER", "REQUESTS", "OPEN",
                                   "BYTES_UP", "BYTES_DOWN"], p.stdout)
        byid = {row[0]: row for row in rows[1:]}
        for sid in ("s-ctl-a", "s-ctl-b"):
            self.assertIn(sid, byid, p.stdout)
            self.assertEqual(byid[sid][2], "t")
        p = self.ctl("--json", "sessions")
        self.assertOk(p)
        ids = {s["id"] for s in json.loads(p.stdout)["sessions"]}
        self.assertLessEqual({"s-ctl-a", "s-ctl-b"}, ids)

    def test_pause_resume(self):
        self.get("http://a.test/echo", listener="b")
        p = self.ctl("pause", "s-ctl-b")
        self.assertOk(p)
        self.assertEqual(p.stdout, "session s-ctl-b: paused\n")
        self.assertEqual(self.state_of("s-ctl-b"), "paused")
        r, line = self.get("http://a.test/echo", listener="b")
        self.assertDeniedLogged(r, line, 403, "session_paused", session="s-ctl-b")
        p = self.ctl("sessions")
        row = [l.split() for l in p.stdout.splitlines() if l.startswith("s-ctl-b ")][0]
        self.assertEqual(row[1], "paused", p.stdout)
        p = self.ctl("resume", "s-ctl-b")
        self.assertOk(p)
        self.assertEqual(p.stdout, "session s-ctl-b: active\n")
        r, line = self.get("http://a.test/echo", listener="b")
        self.assertAllowed(r, line, session="s-ctl-b")
        # --json prints the proxy's answer
        p = self.ctl("--json", "pause", "s-ctl-b")
        self.assertOk(p)
        self.assertEqual(json.loads(p.stdout), {"session": "s-ctl-b", "state": "paused"})
        p = self.ctl("--json", "resume", "s-ctl-b")
        self.assertOk(p)
        self.assertEqual(json.loads(p.stdout), {"session": "s-ctl-b", "state": "active"})

    def test_kill(self):
        with self.proxy.connect("k") as c:
            c.send(b"CONNECT echo.test:7000 HTTP/1.1\r\nHost: echo.test:7000\r\n\r\n")
            self.assertEqual(c.read_response("CONNECT").status, 200)
            p = self.ctl("kill", "s-ctl-k")
            self.assertOk(p)
            self.assertEqual(p.stdout, "session s-ctl-k: killed\n")
            t = wait_eof(c.sock, 2.0)
            self.assertIsNotNone(t, "ctl kill left the session's tunnel open")
        self.assertEqual(self.state_of("s-ctl-k"), "killed")
        r, line = self.get("http://a.test/echo", listener="k")
        self.assertDeniedLogged(r, line, 403, "session_killed", session="s-ctl-k")
        # a kill is final: resume is refused, with the proxy's reason
        p = self.ctl("resume", "s-ctl-k")
        self.assertFails(p, 1, "final", "409")
        self.assertEqual(p.stdout, "")
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertEqual(self.state_of("s-ctl-k"), "killed")

    def test_unknown_session(self):
        for cmd in ("pause", "resume", "kill"):
            with self.subTest(cmd=cmd):
                p = self.ctl(cmd, "s-nobody")
                self.assertFails(p, 1, "s-nobody", "404")
                self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIsNone(self.state_of("s-nobody"))

    def test_reload(self):
        ev = len(self.proxy.events())
        p = self.ctl("reload")
        self.assertOk(p)
        self.assertEqual(p.stdout, "reloaded\n")
        self.proxy.wait_event("reload", ev)
        p = self.ctl("--json", "reload")
        self.assertOk(p)
        self.assertIs(json.loads(p.stdout)["reloaded"], True)
        # a bad policy: exit 1, the message says where; the old policy stays
        good = open(self.proxy.policy_path).read()
        try:
            with open(self.proxy.policy_path, "w") as f:
                f.write(good + "bogus_key: 1\n")
            p = self.ctl("reload")
            self.assertFails(p, 1, self.proxy.policy_path, "bogus_key")
            self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        finally:
            with open(self.proxy.policy_path, "w") as f:
                f.write(good)
        r, line = self.get("http://a.test/echo")
        self.assertAllowed(r, line)

    def test_metrics(self):
        p = self.ctl("metrics")
        self.assertOk(p)
        f = parse_prometheus(p.stdout)
        self.assertIn("sluice_requests_total", f)
        self.assertIn("sluice_dns_lookup_seconds", f)

    def test_socket_from_policy_and_environment(self):
        p = ctl("-c", self.proxy.policy_path, "--json", "status")
        self.assertOk(p)
        self.assertEqual(json.loads(p.stdout)["pid"], self.proxy.proc.pid)
        p = ctl("--json", "status", env_extra={"SLUICE_ADMIN_SOCKET": self.sock})
        self.assertOk(p)
        self.assertEqual(json.loads(p.stdout)["pid"], self.proxy.proc.pid)
        # -s wins over the environment
        p = ctl("-s", self.sock, "--json", "status",
                env_extra={"SLUICE_ADMIN_SOCKET": "/nonexistent/admin.sock"})
        self.assertOk(p)


class CtlWithoutProxy(H.ProxyTestCase):
    """No proxy: a missing or dead socket, and usage errors."""

    TIERS = {}

    def test_missing_socket(self):
        path = os.path.join(tempfile.mkdtemp(prefix="ctl-none-", dir=self.env.tmp), "none.sock")
        for args in (["status"], ["sessions"], ["--json", "sessions"], ["pause", "s-x"],
                     ["resume", "s-x"], ["kill", "s-x"], ["reload"], ["metrics"]):
            with self.subTest(args=args):
                p = ctl("-s", path, *args)
                self.assertEqual(p.returncode, 1, p)
                self.assertEqual(p.stdout, "")
                self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
                self.assertIn(path, p.stderr)

    def test_dead_socket(self):
        """A socket file nobody listens on (a crashed proxy's)."""
        path = os.path.join(tempfile.mkdtemp(prefix="ctl-dead-", dir=self.env.tmp), "dead.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        p = ctl("-s", path, "status")
        self.assertEqual(p.returncode, 1, p)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn(path, p.stderr)

    def test_policy_without_admin_socket(self):
        d = tempfile.mkdtemp(prefix="ctl-pol-", dir=self.env.tmp)
        path = os.path.join(d, "policy.yaml")
        with open(path, "w") as f:
            f.write("version: 1\nlisteners:\n  - name: a\n    listen: 127.0.0.1:0\n"
                    "    tiers: [t]\ntiers:\n  t:\n    domains: [a.test]\n    ports: [80]\n")
        p = ctl("-c", path, "status")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn(path, p.stderr)
        self.assertIn("admin.socket", p.stderr)

    def test_usage(self):
        for args in ([], ["frobnicate"], ["pause"], ["resume"], ["kill"], ["status", "extra"],
                     ["sessions", "s-x"], ["pause", "s-x", "more"], ["--bogus", "status"],
                     ["-s"], ["pause", "a/b"], ["kill", "a b"], ["pause", "x" * 200]):
            with self.subTest(args=args):
                p = ctl("-s", "/nonexistent/admin.sock", *args)
                self.assertEqual(p.returncode, 2, "ctl %r exited %d; stderr %r"
                                 % (args, p.returncode, p.stderr))
                self.assertEqual(p.stdout, "")
                self.assertTrue(p.stderr.strip())
