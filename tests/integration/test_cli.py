"""SPEC 1: check, explain, version (no serving)."""

import json
import os
import re
import subprocess

import harness as H


def sluice(*args, timeout=15):
    return subprocess.run([H.sluice_binary()] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


class Cli(H.ProxyTestCase):

    def policy(self, **kw):
        p = H.Proxy({"t": {"domains": [".test"], "ports": [80, 443]}}, **kw)
        p.write_policy()
        return p

    def test_version(self):
        r = sluice("version")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode().lower()
        for lib in ("libevent", "openssl", "c-ares", "yaml"):
            self.assertIn(lib, out, "version output lacks %s: %r" % (lib, out))

    def test_check_valid_prints_effective_policy(self):
        p = self.policy()
        r = sluice("check", "-c", p.policy_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        eff = json.loads(r.stdout)
        self.assertIn("listeners", eff)
        self.assertIn("tiers", eff)

    def test_check_default_policy(self):
        r = sluice("check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("127.0.0.1:3128", r.stdout.decode())

    def test_check_errors_have_file_line_col(self):
        base = self.policy()
        cases = {
            "unknown_key": dict(base.policy, bogus=1),
            "unknown_tier": dict(base.policy, listeners=[{"name": "a", "listen": "127.0.0.1:0",
                                                           "tiers": ["nope"]}]),
            "duplicate_listener": dict(base.policy, listeners=[
                {"name": "a", "listen": "127.0.0.1:0", "tiers": ["t"]},
                {"name": "a", "listen": "127.0.0.1:0", "tiers": ["t"]}]),
            "wrong_type": dict(base.policy, tiers={"t": {"domains": [".test"],
                                                         "ports": ["eighty"]}}),
        }
        for name, pol in cases.items():
            with self.subTest(case=name):
                base.write_policy(H.to_yaml(pol) + "\n")
                r = sluice("check", "-c", base.policy_path)
                self.assertEqual(r.returncode, 2, "%s: exit %d, stderr %r"
                                 % (name, r.returncode, r.stderr))
                self.assertRegex(r.stderr.decode(),
                                 re.escape(base.policy_path) + r":\d+:\d+: ")

    def test_check_rejects_policy_over_1MiB(self):
        p = self.policy()
        text = H.to_yaml(p.policy) + "\n" + ("# padding padding padding\n" * 45000)
        p.write_policy(text)
        self.assertGreater(os.path.getsize(p.policy_path), 1 << 20)
        r = sluice("check", "-c", p.policy_path)
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_explain(self):
        self.dns.set("private.test", ["10.0.0.1"])
        p = self.policy()
        r = sluice("explain", "-c", p.policy_path, "http://fwd.test/")
        self.assertEqual(r.returncode, 0, r.stderr)
        j = json.loads(r.stdout)
        self.assertEqual((j["decision"], j["reason"], j["tier"], j["host"], j["port"], j["addrs"]),
                         ("allow", "allowed", "t", "fwd.test", 80, ["127.0.0.2"]))
        r = sluice("explain", "-c", p.policy_path, "nope.invalid:443")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["reason"], "not_allowlisted")
        r = sluice("explain", "-c", p.policy_path, "https://private.test/")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["reason"], "denied_address")
