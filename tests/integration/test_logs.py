"""SPEC 1 (signals) and 5 (logs): start event, SIGUSR1 reopen, SIGHUP
reload, fail-closed access log, SIGTERM/SIGINT."""

import errno
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import harness as H

TIERS = {"t": {"domains": ["a.test", "echo.test"], "ports": [80, 7000]}}


class Lifecycle(H.ProxyTestCase):
    """Each test runs its own proxy."""

    def start(self, tiers=TIERS, **kw):
        p = H.Proxy(dict(tiers), **kw).start()
        self.addCleanup(p.kill)
        return p

    def stop_ok(self, p):
        rc = p.stop()
        self.assertEqual(rc, 0, "sluice exit code after SIGTERM; stderr: %s" % p.stderr_text())
        self.assertTrue(any(e.get("event") == "shutdown" for e in p.events()),
                        "no shutdown event: %s" % p.events())
        for l in p.access():
            H.check_access_schema(l)

    def test_start_event_lists_bound_listeners(self):
        p = self.start(listeners=[{"name": "agent", "tiers": ["t"]},
                                  {"name": "fetch", "tiers": ["t"], "listen": "127.0.0.1:0"}])
        ev = p.start_event
        names = [l.get("name") for l in ev["listeners"]]
        self.assertEqual(sorted(names), ["agent", "fetch"])
        for l in ev["listeners"]:
            host, port = H.parse_hostport(l["addr"])
            self.assertEqual(host, "127.0.0.1")
            self.assertNotEqual(port, 0, "start event shows port 0, not the bound port")
        self.assertNotEqual(p.addr("agent"), p.addr("fetch"))
        for name in ("agent", "fetch"):
            r = p.send(H.build_request("GET", "http://a.test/echo"), listener=name)
            self.assertEqual(r.status, 200)
        self.stop_ok(p)

    def test_sigterm_exit_0_and_shutdown_event(self):
        p = self.start()
        self.stop_ok(p)

    def test_sigint_exit_0(self):
        p = self.start()
        p.signal(signal.SIGINT)
        self.assertEqual(p.proc.wait(8), 0)
        self.assertTrue(any(e.get("event") == "shutdown" for e in p.events()))

    def test_sigterm_lets_inflight_request_finish(self):
        p = self.start()
        out = {}

        def slow():
            try:
                out["r"] = p.send(H.build_request("GET", "http://a.test/slow?ms=1000"))
            except Exception as e:  # reported below
                out["e"] = e
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.4)
        p.signal(signal.SIGTERM)
        time.sleep(0.2)
        # a new connection is refused, or answered 503 shutting_down
        try:
            r = p.send(H.build_request("GET", "http://a.test/echo"))
            self.assertEqual((r.status, r.header("Sluice-Reason")), (503, "shutting_down"),
                             "new request during shutdown: %r" % r)
        except (ConnectionRefusedError, ConnectionResetError, EOFError):
            pass
        t.join(10)
        self.assertNotIn("e", out, "in-flight request failed: %r" % out.get("e"))
        self.assertEqual(out["r"].status, 200)
        self.assertEqual(out["r"].body, b"slow done\n")
        self.assertEqual(p.proc.wait(8), 0)
        self.assertTrue(any(l.get("path") == "/slow?ms=1000" for l in p.access()),
                        "no access line for the in-flight request")

    def test_reload_during_shutdown_does_not_listen_again(self):
        p = self.start()   # shutdown_grace_ms 2000
        addr = p.addr()
        c = p.connect()    # an open tunnel keeps the proxy in its grace
        c.send(b"CONNECT echo.test:7000 HTTP/1.1\r\nHost: echo.test:7000\r\n\r\n")
        self.assertEqual(c.read_response("CONNECT").status, 200)
        p.signal(signal.SIGTERM)
        time.sleep(0.2)
        p.signal(signal.SIGHUP)
        time.sleep(0.3)
        with self.assertRaises(OSError, msg="a reload in the grace listened again"):
            socket.create_connection(addr, timeout=2).close()
        after = [e.get("event") for e in p.events()]
        after = after[after.index("shutdown"):]
        self.assertNotIn("reload", after, "a reload in the grace was applied "
                         "(its listeners bound again, on new ports here)")
        self.assertIn("reload_failed", after)
        self.assertEqual(p.proc.wait(10), 0)
        c.close()

    def test_sigterm_grace_ends_open_tunnel_and_logs_it(self):
        p = self.start()   # shutdown_grace_ms 2000
        c = p.connect()
        c.send(b"CONNECT echo.test:7000 HTTP/1.1\r\nHost: echo.test:7000\r\n\r\n")
        self.assertEqual(c.read_response("CONNECT").status, 200)
        c.send(b"data")
        self.assertEqual(c.read_exact(4), b"data")
        t0 = time.time()
        p.signal(signal.SIGTERM)
        rc = p.proc.wait(10)
        c.close()
        self.assertEqual(rc, 0)
        self.assertLess(time.time() - t0, 6, "shutdown took far longer than shutdown_grace")
        lines = [l for l in p.access() if l["method"] == "CONNECT"]
        self.assertEqual(len(lines), 1, "open tunnel not logged at shutdown")
        self.assertEqual((lines[0]["bytes_up"], lines[0]["bytes_down"]), (4, 4))

    def test_sigusr1_reopens_logs(self):
        p = self.start()
        r = p.send(H.build_request("GET", "http://a.test/echo?before"))
        self.assertEqual(r.status, 200)
        p.wait_access(0, 1)
        old = p.access_path + ".1"
        os.rename(p.access_path, old)
        p.signal(signal.SIGUSR1)
        time.sleep(0.5)
        r = p.send(H.build_request("GET", "http://a.test/echo?after"))
        self.assertEqual(r.status, 200)
        lines = p.wait_access(0, 1)
        self.assertEqual(lines[0]["path"], "/echo?after")
        self.assertEqual([l["path"] for l in H.read_jsonl(old)], ["/echo?before"],
                         "renamed log got lines after SIGUSR1")
        self.stop_ok(p)

    def test_sighup_reload_and_reload_failed(self):
        p = self.start(tiers={"t": {"domains": ["a.test"], "ports": [80]}})
        r = p.send(H.build_request("GET", "http://b.test/echo"))
        self.assertEqual(r.status, 403)
        # a good new policy takes effect
        p.policy["tiers"]["t"]["domains"] = ["a.test", "b.test"]
        p.write_policy()
        ev_mark = len(p.events())
        p.signal(signal.SIGHUP)
        p.wait_event("reload", ev_mark)
        r = p.send(H.build_request("GET", "http://b.test/echo"))
        self.assertEqual(r.status, 200, "after reload: %r" % r)
        # a broken one is rejected and the old one stays
        for broken in ("version: 1\nlisteners: [oops\n",
                       H.to_yaml(dict(p.policy, bogus_key=1)) + "\n"):
            with self.subTest(broken=broken[:30]):
                p.write_policy(broken)
                ev_mark = len(p.events())
                p.signal(signal.SIGHUP)
                ev = p.wait_event("reload_failed", ev_mark)
                self.assertTrue(p.alive(), "sluice died on a bad reload")
                self.assertEqual(p.send(H.build_request("GET", "http://b.test/echo")).status, 200,
                                 "old policy not kept after reload_failed %r" % ev)
                self.assertEqual(p.send(H.build_request("GET", "http://c.test/echo")).status, 403)
        self.stop_ok(p)

    def test_access_log_full_fails_closed_then_recovers(self):
        d = tempfile.mkdtemp(prefix="tmpfs-", dir=self.env.tmp)
        rc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d],
                            stderr=subprocess.PIPE).returncode
        if rc != 0:
            self.skipTest("cannot mount a tmpfs here")
        self.addCleanup(subprocess.run, ["umount", "-l", d])
        p = self.start(log={"access": os.path.join(d, "access.log")})
        bad = []   # split/partial lines, reported at the end
        r = p.send(H.build_request("GET", "http://a.test/echo?warm"))
        self.assertEqual(r.status, 200)
        p.wait_access(0, 1)
        # fill the file system
        filler = os.path.join(d, "filler")
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError as e:
                self.assertEqual(e.errno, errno.ENOSPC)
            try:
                while True:
                    f.write(b"\0")
            except OSError:
                pass
        lines_at_full = len(p.access(bad))
        ok, refused = 0, None
        for i in range(60):
            r = p.send(H.build_request("GET", "http://a.test/echo?full=%d" % i))
            if r.status == 200:
                ok += 1
            else:
                refused = r
                break
        self.assertIsNotNone(refused, "60 requests served while the access log is full")
        self.assertDenied(refused, 503, "log_unavailable")
        time.sleep(0.3)
        logged = len(p.access(bad)) - lines_at_full
        # free the space: serving resumes by itself
        os.unlink(filler)
        deadline = time.time() + 5
        while True:
            r = p.send(H.build_request("GET", "http://a.test/echo?recovered"))
            if r.status == 200 or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(r.status, 200, "serving did not resume after space was freed: %r" % r)
        deadline = time.time() + 3
        while not any(l.get("path") == "/echo?recovered" for l in p.access(bad)):
            self.assertLess(time.time(), deadline, "no access line after recovery")
            time.sleep(0.05)
        rc = p.stop()
        self.assertEqual(rc, 0)
        self.assertEqual(bad, [], "the access log has split/partial lines (JSONL lines must "
                         "never be split, even on ENOSPC)")
        self.assertLessEqual(ok, logged, "%d requests served (200) while the disk was full, "
                             "only %d access lines written: egress without an audit line"
                             % (ok, logged))

    def test_ipv6_listener(self):
        p = self.start(listeners=[{"name": "v6", "listen": "[::1]:0", "tiers": ["t"]}])
        host, port = p.addr("v6")
        self.assertEqual(host, "::1")
        r = p.send(H.build_request("GET", "http://a.test/echo"), listener="v6")
        self.assertEqual(r.status, 200)
        line = p.wait_access(0)[0]
        self.assertTrue(line["client"].startswith("[::1]:"), line["client"])
        self.stop_ok(p)

    def test_logs_to_stdout(self):
        p = H.Proxy(dict(TIERS))
        p.policy["log"] = {"access": "-", "events": "-"}
        p.write_policy()
        proc = subprocess.Popen([H.sluice_binary(), "serve", "-c", p.policy_path],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)
        self.addCleanup(proc.kill)
        import json
        first = json.loads(proc.stdout.readline())
        self.assertEqual(first.get("event"), "start", first)
        addr = H.parse_hostport(first["listeners"][0]["addr"])
        with H.Conn(addr) as c:
            c.send(H.build_request("GET", "http://a.test/echo"))
            self.assertEqual(c.read_response().status, 200)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=8)
        self.assertEqual(proc.returncode, 0)
        objs = [json.loads(l) for l in out.decode().splitlines()]
        self.assertEqual([o.get("event") for o in objs][-1:], ["shutdown"])
        acc = [o for o in objs if o.get("event") == "access"]
        self.assertEqual(len(acc), 1)
        H.check_access_schema(acc[0])
