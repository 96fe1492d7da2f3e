"""SPEC 6: the admin socket (HTTP over a Unix socket): status, sessions,
pause / resume / kill, reload, Prometheus metrics, bad input, and the
socket file itself (mode 0600, stale file replaced, live one refused).
`sluice ctl` is in test_ctl.py; the Prometheus parser here is shared."""

import math
import os
import re
import select
import socket
import stat
import tempfile
import time
import unittest

import harness as H

# --------------------------------------------------------------------------
# a strict parser of the Prometheus text exposition format (0.0.4)

METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
FLOAT_RE = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")
TIMESTAMP_RE = re.compile(r"-?[0-9]+\Z")
METRIC_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class PromError(AssertionError):
    pass


def prom_float(text, where):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not FLOAT_RE.match(text):
        raise PromError("%s: %r is not a float" % (where, text))
    return float(text)


def prom_unescape(text, where, quote):
    """Undoes \\\\, \\n (and \\" in label values); any other escape is an
    error."""
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                raise PromError("%s: dangling backslash" % where)
            nxt = text[i + 1]
            if nxt == "\\":
                out.append("\\")
            elif nxt == "n":
                out.append("\n")
            elif nxt == '"' and quote:
                out.append('"')
            else:
                raise PromError("%s: bad escape \\%s" % (where, nxt))
            i += 2
            continue
        if ch == "\n" or (quote and ch == '"'):
            raise PromError("%s: unescaped %r" % (where, ch))
        out.append(ch)
        i += 1
    return "".join(out)


def prom_labels(text, pos, where):
    """Parses `{name="value",...}` from text[pos] == '{'; returns (dict,
    position after '}')."""
    assert text[pos] == "{"
    pos += 1
    labels = {}
    while True:
        if pos >= len(text):
            raise PromError("%s: unterminated label set" % where)
        if text[pos] == "}":
            return labels, pos + 1
        m = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*").match(text, pos)
        if not m:
            raise PromError("%s: bad label name at %r" % (where, text[pos:pos + 20]))
        name = m.group(0)
        if name.startswith("__"):
            raise PromError("%s: reserved label name %r" % (where, name))
        if name in labels:
            raise PromError("%s: label %r twice" % (where, name))
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise PromError("%s: want =\" after label %r" % (where, name))
        pos += 2
        start = pos
        while True:
            if pos >= len(text):
                raise PromError("%s: unterminated label value" % where)
            if text[pos] == "\\":
                pos += 2
                continue
            if text[pos] == '"':
                break
            pos += 1
        labels[name] = prom_unescape(text[start:pos], where, quote=True)
        pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] != "}":
            raise PromError("%s: want , or } after label %r" % (where, name))


def parse_prometheus(text):
    """Parses exposition text strictly.  Returns {family: {"type", "help",
    "samples": [(name, labels, value)]}}; raises PromError naming the line.
    Checks: HELP/TYPE syntax, at most one of each per family and before its
    samples; names and labels; float values; every sample belongs to a
    family with a TYPE; a family's lines are contiguous; no duplicate
    series; counters are >= 0; histograms have cumulative buckets ending
    with le="+Inf", _count equal to it, and a _sum."""
    if text and not text.endswith("\n"):
        raise PromError("the text does not end with a newline")
    families = {}
    done = set()          # families whose block has ended
    current = None
    seen = set()

    def family_of(name):
        if name in families:
            return name
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)] if name.endswith(suffix) else None
            if base and base in families and families[base]["type"] in ("histogram", "summary"):
                if suffix == "_bucket" and families[base]["type"] != "histogram":
                    continue
                return base
        return None

    def enter(fam, where):
        nonlocal current
        if fam != current:
            if fam in done:
                raise PromError("%s: lines of %s are not together" % (where, fam))
            if current is not None:
                done.add(current)
            current = fam

    for i, line in enumerate(text.split("\n")[:-1] if text else []):
        where = "line %d (%r)" % (i + 1, line[:120])
        if line == "":
            raise PromError("%s: empty line" % where)
        if line != line.strip():
            raise PromError("%s: leading or trailing white space" % where)
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[0] == "#" and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not METRIC_NAME_RE.match(name):
                    raise PromError("%s: bad metric name %r" % (where, name))
                fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
                enter(name, where)
                if fam["samples"]:
                    raise PromError("%s: %s after samples of %s" % (where, parts[1], name))
                if parts[1] == "HELP":
                    if fam["help"] is not None:
                        raise PromError("%s: second HELP for %s" % (where, name))
                    fam["help"] = prom_unescape(parts[3] if len(parts) > 3 else "", where,
                                                quote=False)
                else:
                    if fam["type"] is not None:
                        raise PromError("%s: second TYPE for %s" % (where, name))
                    if len(parts) != 4 or parts[3] not in METRIC_TYPES:
                        raise PromError("%s: bad TYPE line" % where)
                    fam["type"] = parts[3]
            elif not line.startswith("# ") and line != "#":
                raise PromError("%s: a comment must start with '# '" % where)
            continue
        m = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*").match(line)
        if not m:
            raise PromError("%s: bad metric name" % where)
        name, pos = m.group(0), m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = prom_labels(line, pos, where)
        rest = line[pos:]
        if not rest.startswith(" "):
            raise PromError("%s: want one space before the value" % where)
        fields = rest[1:].split(" ")
        if len(fields) not in (1, 2) or "" in fields:
            raise PromError("%s: want VALUE [TIMESTAMP]" % where)
        value = prom_float(fields[0], where)
        if len(fields) == 2 and not TIMESTAMP_RE.match(fields[1]):
            raise PromError("%s: bad timestamp %r" % (where, fields[1]))
        fam = family_of(name)
        if fam is None or families[fam]["type"] is None:
            raise PromError("%s: %s has no TYPE" % (where, name))
        enter(fam, where)
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise PromError("%s: duplicate series" % where)
        seen.add(key)
        ftype = families[fam]["type"]
        if ftype == "counter" and not value >= 0:
            raise PromError("%s: counter %s is %r" % (where, name, value))
        if ftype == "histogram" and name == fam:
            raise PromError("%s: a histogram has no plain %s sample" % (where, name))
        families[fam]["samples"].append((name, labels, value))
    for fam, f in families.items():
        if f["type"] != "histogram":
            continue
        series = {}
        for name, labels, value in f["samples"]:
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            s = series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
            if name == fam + "_bucket":
                if "le" not in labels:
                    raise PromError("%s: a bucket without le" % fam)
                s["buckets"].append((prom_float(labels["le"], fam + " le"), value))
            elif name == fam + "_sum":
                s["sum"] = value
            elif name == fam + "_count":
                if "le" in labels:
                    raise PromError("%s_count has le" % fam)
                s["count"] = value
        for rest, s in series.items():
            b = s["buckets"]
            if not b or b[-1][0] != math.inf:
                raise PromError("%s%s: buckets do not end with le=\"+Inf\"" % (fam, rest))
            for (le1, c1), (le2, c2) in zip(b, b[1:]):
                if not le2 > le1:
                    raise PromError("%s%s: le %r after %r" % (fam, rest, le2, le1))
                if c2 < c1:
                    raise PromError("%s%s: buckets not cumulative (%r then %r)"
                                    % (fam, rest, c1, c2))
            if s["count"] is None or s["sum"] is None:
                raise PromError("%s%s: no _count or _sum" % (fam, rest))
            if s["count"] != b[-1][1]:
                raise PromError("%s%s: _count %r != +Inf bucket %r"
                                % (fam, rest, s["count"], b[-1][1]))
    return families


def prom_value(families, name, **labels):
    """The value of the sample `name` whose labels include `labels` (0
    if there is none); it must be unique."""
    got = []
    for f in families.values():
        for n, l, v in f["samples"]:
            if n == name and all(l.get(k) == v2 for k, v2 in labels.items()):
                got.append(v)
    if len(got) > 1:
        raise AssertionError("%s%r matches %d samples" % (name, labels, len(got)))
    return got[0] if got else 0


class PrometheusParser(unittest.TestCase):
    """The parser rejects what it should (no proxy needed)."""

    GOOD = ('# HELP a_total Things, with a \\\\ and a \\n.\n'
            '# TYPE a_total counter\n'
            'a_total{x="1",y="q\\"uote\\\\ \\n"} 3\n'
            'a_total{x="2",} 4e3\n'
            '# TYPE g gauge\n'
            'g -1.5 1700000000000\n'
            'g{s="+Inf"} NaN\n'
            '# TYPE h histogram\n'
            'h_bucket{le="0.1"} 1\n'
            'h_bucket{le="1"} 2\n'
            'h_bucket{le="+Inf"} 2\n'
            'h_sum 0.5\n'
            'h_count 2\n')

    def test_good_text_parses(self):
        f = parse_prometheus(self.GOOD)
        self.assertEqual(f["a_total"]["type"], "counter")
        self.assertEqual(f["a_total"]["help"], "Things, with a \\ and a \n.")
        self.assertEqual(prom_value(f, "a_total", x="1"), 3)
        self.assertEqual(f["a_total"]["samples"][0][1]["y"], 'q"uote\\ \n')
        self.assertEqual(prom_value(f, "a_total", x="2"), 4000)
        self.assertTrue(math.isnan(prom_value(f, "g", s="+Inf")))

    def test_bad_texts_are_refused(self):
        bad = {
            "no TYPE": "x 1\n",
            "no newline at end": "# TYPE x gauge\nx 1",
            "bad name": "# TYPE 1x gauge\n1x 1\n",
            "bad value": "# TYPE x gauge\nx one\n",
            "bad value 2": "# TYPE x gauge\nx 1.2.3\n",
            "two spaces": "# TYPE x gauge\nx  1\n",
            "trailing space": "# TYPE x gauge\nx 1 \n",
            "bad type": "# TYPE x countr\nx 1\n",
            "second TYPE": "# TYPE x gauge\n# TYPE x gauge\nx 1\n",
            "TYPE after sample": "# TYPE x gauge\nx 1\n# HELP x late\n",
            "unquoted label": "# TYPE x gauge\nx{a=1} 1\n",
            "bad escape": '# TYPE x gauge\nx{a="\\t"} 1\n',
            "bad label name": '# TYPE x gauge\nx{1a="1"} 1\n',
            "reserved label": '# TYPE x gauge\nx{__a="1"} 1\n',
            "label twice": '# TYPE x gauge\nx{a="1",a="2"} 1\n',
            "unterminated": '# TYPE x gauge\nx{a="1} 1\n',
            "duplicate series": '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2\n',
            "interleaved": "# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx{a=\"b\"} 1\n",
            "negative counter": "# TYPE x_total counter\nx_total -1\n",
            "empty line": "# TYPE x gauge\n\nx 1\n",
            "comment without space": "#TYPE x gauge\nx 1\n",
            "no +Inf": '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
            "not cumulative": ('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="2"} 1\n'
                               'h_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'),
            "count != +Inf": ('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\n'
                              'h_count 3\n'),
            "no sum": '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 2\n',
            "bucket without le": ('# TYPE h histogram\nh_bucket 2\nh_bucket{le="+Inf"} 2\n'
                                  'h_sum 1\nh_count 2\n'),
        }
        for why, text in bad.items():
            with self.subTest(why=why):
                with self.assertRaises(PromError):
                    parse_prometheus(text)


# --------------------------------------------------------------------------
# the admin socket of a live proxy

def admin_request(sock, method, path, headers=(), raw=None, timeout=5):
    """One request on the admin socket; returns the Response."""
    with H.Conn(sock, timeout=timeout) as c:
        if raw is None:
            raw = ("%s %s HTTP/1.1\r\nHost: sluice\r\n%sContent-Length: 0\r\n\r\n"
                   % (method, path, "".join("%s: %s\r\n" % h for h in headers))).encode()
        c.send(raw)
        return c.read_response(method)


def wait_eof(sock, timeout):
    """Waits for EOF (or a reset) on `sock`; returns the time it came, or
    None."""
    deadline = time.perf_counter() + timeout
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            return None
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            continue
        try:
            d = sock.recv(65536)
        except ConnectionResetError:
            return time.perf_counter()
        if not d:
            return time.perf_counter()


class Admin(H.ProxyTestCase):
    TIERS = {"capped": {"domains": ["capped.test"], "ports": [7000],
                        "limits": {"bytes_down": "1GiB"}},
             "t": {"domains": [".test"], "ports": [80, 7000]}}
    LISTENERS = [{"name": "agent", "session": "s-adm", "tiers": ["capped", "t"]},
                 {"name": "other", "session": "s-two", "tiers": ["capped", "t"]},
                 # a kill is final: the pause test needs a session that no
                 # other test of this class kills
                 {"name": "third", "session": "s-three", "tiers": ["t"]},
                 {"name": "fresh", "session": "s-fresh", "tiers": ["t"]},
                 {"name": "bytes", "session": "s-bytes", "tiers": ["t"]},
                 {"name": "spare", "session": "s-spare", "tiers": ["t"]}]

    @classmethod
    def setUpClass(cls):
        cls.env = H.env()
        cls.sock = os.path.join(tempfile.mkdtemp(prefix="adm-", dir=cls.env.tmp), "admin.sock")
        cls.PROXY_KW = {"extra": {"admin": {"socket": cls.sock}}}
        super().setUpClass()

    def admin(self, method, path, **kw):
        return admin_request(self.sock, method, path, **kw)

    def sessions(self):
        r = self.admin("GET", "/sessions")
        self.assertEqual(r.status, 200, r)
        self.assertTrue((r.header("Content-Type") or "").startswith("application/json"), r)
        return {s["id"]: s for s in r.json()["sessions"]}

    def assertJsonError(self, r, status, *words):
        self.assertEqual(r.status, status, r)
        self.assertTrue((r.header("Content-Type") or "").startswith("application/json"),
                        "error without a JSON body: %r" % r)
        body = r.json()
        self.assertIsInstance(body.get("error"), str, body)
        for w in words:
            self.assertIn(w, body["error"])

    def metrics(self):
        r = self.admin("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        ctype = r.header("Content-Type") or ""
        self.assertTrue(ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype)
        return parse_prometheus(r.text())

    def open_tunnel(self, authority, listener):
        c = self.proxy.connect(listener)
        c.send(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority)).encode())
        self.assertEqual(c.read_response("CONNECT").status, 200)
        return c

    # ---- the socket file
    def test_socket_mode_0600(self):
        st = os.stat(self.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, "admin socket mode %o"
                         % stat.S_IMODE(st.st_mode))

    # ---- status and sessions
    def test_status(self):
        r = self.admin("GET", "/status")
        self.assertEqual(r.status, 200)
        self.assertTrue((r.header("Content-Type") or "").startswith("application/json"), r)
        s = r.json()
        self.assertEqual(s["pid"], self.proxy.proc.pid)
        self.assertIsInstance(s["version"], str)
        self.assertGreaterEqual(s["uptime_s"], 0)
        self.assertEqual(s["policy"], self.proxy.policy_path)
        self.assertRegex(s["policy_sha256"], r"^[0-9a-f]{64}$")
        self.assertEqual({l["name"]: H.parse_hostport(l["addr"]) for l in s["listeners"]},
                         self.proxy.listeners)
        for k in ("open", "total", "max"):
            self.assertIsInstance(s["connections"][k], int, s)
        # the query string is not part of the path; HEAD has no body
        self.assertEqual(self.admin("GET", "/status?x=1").json()["pid"], s["pid"])
        r = self.admin("HEAD", "/status")
        self.assertEqual((r.status, r.body), (200, b""))

    def test_sessions_count_requests_and_bytes(self):
        """Per session and tier: requests, bytes (forwarded and tunnelled,
        as the access lines say), open connections, limits, state."""
        m = self.proxy.mark()
        for i in range(3):
            r, _ = self.get("http://a.test/bytes?n=%d" % (1000 * (i + 1)), listener="bytes")
            self.assertEqual(r.status, 200)
        with self.open_tunnel("echo.test:7000", "bytes") as c:
            c.send(b"x" * 5000)
            self.assertEqual(c.read_exact(5000), b"x" * 5000)
            s = self.sessions()["s-bytes"]
            self.assertEqual(s["open"], 1, s)
            self.assertEqual(s["tiers"][0]["connections"], 1, s)
        lines = [l for l in self.proxy.access()[m:] if l["session"] == "s-bytes"]
        deadline = time.time() + 5
        while len(lines) < 4 and time.time() < deadline:
            time.sleep(0.05)
            lines = [l for l in self.proxy.access()[m:] if l["session"] == "s-bytes"]
        self.assertEqual(len(lines), 4, lines)
        s = self.sessions()["s-bytes"]
        self.assertEqual(s["state"], "active")
        self.assertEqual(s["requests"], 4, s)
        self.assertEqual(s["open"], 0, s)
        self.assertRegex(s["first_seen"], H.TS_RE.pattern)
        self.assertRegex(s["last_seen"], H.TS_RE.pattern)
        self.assertEqual(len(s["tiers"]), 1, s)
        t = s["tiers"][0]
        self.assertEqual(t["tier"], "t")
        self.assertEqual(t["requests"], 4, t)
        self.assertEqual(t["connections"], 0, t)
        self.assertEqual(t["limits"], {"bytes_up": None, "bytes_down": None,
                                       "requests_per_minute": None, "bandwidth": None,
                                       "connections": None}, t)
        self.assertEqual((t["bytes_up"], t["bytes_down"]),
                         (sum(l["bytes_up"] for l in lines), sum(l["bytes_down"] for l in lines)),
                         "/sessions bytes differ from the access lines: %s\n%s" % (t, lines))

    def test_sessions_text_table(self):
        self.get("http://a.test/echo", listener="spare")
        r = self.admin("GET", "/sessions", headers=[("Accept", "text/plain")])
        self.assertEqual(r.status, 200)
        self.assertTrue((r.header("Content-Type") or "").startswith("text/plain"), r)
        rows = [l.split() for l in r.text().splitlines()]
        self.assertEqual(rows[0], ["SESSION", "STATE", "TIER", "REQUESTS", "OPEN",
                                   "BYTES_UP", "BYTES_DOWN"])
        self.assertIn("s-spare", [row[0] for row in rows[1:]])

    # ---- pause, resume, kill
    def test_pause_resume(self):
        ev = len(self.proxy.events())
        with self.open_tunnel("echo.test:7000", "agent") as c:
            r = self.admin("POST", "/sessions/s-adm/pause")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json(), {"session": "s-adm", "state": "paused"})
            e = self.proxy.wait_event("session_paused", ev)
            self.assertEqual(e.get("session"), "s-adm", e)
            self.assertEqual(self.sessions()["s-adm"]["state"], "paused")
            r, line = self.get("http://a.test/echo")
            self.assertDeniedLogged(r, line, 403, "session_paused", session="s-adm")
            r, line = self.connect_req("echo.test:7000")
            self.assertDeniedLogged(r, line, 403, "session_paused", session="s-adm")
            # an open tunnel keeps running while its session is paused
            c.send(b"still here")
            self.assertEqual(c.read_exact(10), b"still here")
            # other sessions are not affected
            r, line = self.get("http://a.test/echo", listener="third")
            self.assertAllowed(r, line, session="s-three")
            r = self.admin("POST", "/sessions/s-adm/resume")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json(), {"session": "s-adm", "state": "active"})
            e = self.proxy.wait_event("session_resumed", ev)
            self.assertEqual(e.get("session"), "s-adm", e)
            r, line = self.get("http://a.test/echo")
            self.assertAllowed(r, line, session="s-adm")
            c.send(b"and now")
            self.assertEqual(c.read_exact(7), b"and now")

    def test_pause_before_first_request(self):
        """A session named by a listener can be paused before it has sent
        anything; its first request is then refused."""
        self.assertNotIn("s-fresh", self.sessions())
        r = self.admin("POST", "/sessions/s-fresh/pause")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.sessions()["s-fresh"]["state"], "paused")
        r, line = self.get("http://a.test/echo", listener="fresh")
        self.assertDeniedLogged(r, line, 403, "session_paused", session="s-fresh")
        self.assertEqual(self.admin("POST", "/sessions/s-fresh/resume").status, 200)
        r, line = self.get("http://a.test/echo", listener="fresh")
        self.assertAllowed(r, line, session="s-fresh")

    def test_kill_closes_open_connections_at_once(self):
        """Kill: an open tunnel (spliced, no cap), a metered tunnel (under a
        byte cap), a forwarded request waiting for its answer and an idle
        keep-alive connection of the session are all closed at once; new
        requests get 403 session_killed; a kill is final."""
        m = self.proxy.mark()
        plain = self.open_tunnel("echo.test:7000", "other")
        metered = self.open_tunnel("capped.test:7000", "other")
        for c in (plain, metered):
            c.send(b"ping")
            self.assertEqual(c.read_exact(4), b"ping")
        waiting = self.proxy.connect("other")
        waiting.send(H.build_request("GET", "http://a.test/slow?ms=3000"))
        idle = self.proxy.connect("other")
        idle.send(H.build_request("GET", "http://a.test/echo"))
        self.assertEqual(idle.read_response().status, 200)
        other = self.open_tunnel("echo.test:7000", "third")   # another session
        time.sleep(0.2)   # the slow request is at the origin
        ev = len(self.proxy.events())
        conns = {"tunnel": plain, "metered tunnel": metered, "waiting request": waiting,
                 "idle keep-alive": idle}
        with H.Conn(self.sock) as a:
            t0 = time.perf_counter()
            a.send(b"POST /sessions/s-two/kill HTTP/1.1\r\nHost: sluice\r\n"
                   b"Content-Length: 0\r\n\r\n")
            latency = {}
            for name, c in conns.items():
                t = wait_eof(c.sock, 3.0)
                latency[name] = None if t is None else t - t0
            r = a.read_response("POST")
        for c in conns.values():
            c.close()
        print("\n  kill -> EOF: %s" % ", ".join(
            "%s %s" % (n, "never" if v is None else "%.1f ms" % (v * 1000))
            for n, v in latency.items()), end=" ")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"session": "s-two", "state": "killed"})
        for name, v in latency.items():
            self.assertIsNotNone(v, "kill left the session's %s open" % name)
            self.assertLess(v, 0.5, "the %s closed %.3f s after the kill" % (name, v))
        e = self.proxy.wait_event("session_killed", ev)
        self.assertEqual(e.get("session"), "s-two", e)
        # the requests that were cut say why
        killed = [l for l in self.proxy.access()[m:] if l["session"] == "s-two"
                  and l["reason"] == "session_killed"]
        self.assertEqual(sorted(l["method"] for l in killed), ["CONNECT", "CONNECT", "GET"],
                         "want the two tunnels and the waiting GET logged session_killed: %s"
                         % killed)
        # another session's tunnel is untouched
        other.send(b"alive")
        self.assertEqual(other.read_exact(5), b"alive")
        other.close()
        r, line = self.get("http://a.test/echo", listener="other")
        self.assertDeniedLogged(r, line, 403, "session_killed", session="s-two")
        r, line = self.connect_req("echo.test:7000", listener="other")
        self.assertDeniedLogged(r, line, 403, "session_killed", session="s-two")
        # a kill is final
        self.assertJsonError(self.admin("POST", "/sessions/s-two/resume"), 409)
        self.assertEqual(self.sessions()["s-two"]["state"], "killed")
        r, line = self.get("http://a.test/echo", listener="other")
        self.assertDeniedLogged(r, line, 403, "session_killed", session="s-two")

    def test_session_id_percent_encoded(self):
        """The ID in /sessions/ID/ACTION is a URI path segment: a
        percent-encoded id names the same session."""
        self.get("http://a.test/echo", listener="third")
        try:
            r = self.admin("POST", "/sessions/s%2Dthree/pause")
            self.assertEqual(r.status, 200, "POST /sessions/s%%2Dthree/pause: %r" % r)
            self.assertEqual(r.json(), {"session": "s-three", "state": "paused"})
        finally:
            self.admin("POST", "/sessions/s-three/resume")

    # ---- bad input
    def test_bad_input_is_a_4xx_json_error_and_changes_nothing(self):
        self.get("http://a.test/echo", listener="spare")
        before = self.sessions()
        ev = len(self.proxy.events())
        cases = [
            ("GET", "/nope", 404), ("GET", "/", 404), ("GET", "/status/x", 404),
            ("GET", "/sessionsX", 404),
            ("POST", "/sessions/s-nobody/pause", 404), ("POST", "/sessions/s-nobody/resume", 404),
            ("POST", "/sessions/s-nobody/kill", 404),
            ("POST", "/sessions/s-spare/explode", 404), ("POST", "/sessions/s-spare", 404),
            ("POST", "/sessions//pause", 404), ("POST", "/sessions/s-spare/pause/x", 404),
            ("POST", "/sessions/s-spare/kill/", 404),
            ("GET", "/sessions/s-spare/kill", 405), ("GET", "/sessions/s-spare/pause", 405),
            ("GET", "/reload", 405), ("POST", "/status", 405), ("POST", "/metrics", 405),
            ("POST", "/sessions", 405),
            # methods evhttp knows but the admin socket does not serve
            ("DELETE", "/sessions/s-spare/kill", 405), ("PUT", "/reload", 405),
            ("PATCH", "/status", 405), ("OPTIONS", "/status", 405),
        ]
        for method, path, status in cases:
            with self.subTest(method=method, path=path):
                r = self.admin(method, path)
                self.assertJsonError(r, status)
        # Garbage is answered by libevent's evhttp itself (400 or 413, with
        # its own HTML body: libevent 2.1 has no hook for that body).
        garbage = [b"\x00\x01\x02garbage\r\n\r\n", b"HELLO\r\n\r\n", b"GET\r\n\r\n",
                   b"GET /status HTTP/9.9\r\n\r\n", b"GET /status\r\n\r\n",
                   b"POST /sessions/s-spare/kill HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                   b"POST /sessions/s-spare/kill HTTP/1.1\r\nContent-Length: 100000\r\n\r\n"
                   + b"k" * 100000]
        for raw in garbage:
            with self.subTest(raw=raw[:40]):
                with H.Conn(self.sock) as c:
                    try:
                        c.send(raw)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    try:
                        head = c.read_until(b"\r\n", limit=1 << 16)
                    except (EOFError, ConnectionResetError):
                        self.fail("garbage %r: no answer, the socket was closed" % raw[:40])
                    self.assertRegex(head, rb"^HTTP/1\.[01] 4\d\d ",
                                     "garbage %r answered %r" % (raw[:40], head))
        # A head over the admin socket's limit: a 4xx, or the connection
        # closed (the answer may be lost to the reset that closing with
        # unread input causes).
        with H.Conn(self.sock) as c:
            try:
                c.send(b"GET /status HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
                head = c.read_until(b"\r\n", limit=1 << 16)
                self.assertRegex(head, rb"^HTTP/1\.[01] 4\d\d ", head)
            except (EOFError, ConnectionResetError, BrokenPipeError):
                pass
        after = self.sessions()
        self.assertEqual(before, after, "bad input changed the sessions")
        evs = [e["event"] for e in self.proxy.events()[ev:]]
        self.assertEqual(evs, [], "bad input left events")
        self.assertEqual(self.admin("GET", "/status").status, 200)

    # ---- reload
    def test_reload(self):
        ev = len(self.proxy.events())
        before = self.metrics()
        r = self.admin("POST", "/reload")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.json()["reloaded"], r)
        self.proxy.wait_event("reload", ev)
        after = self.metrics()
        self.assertEqual(prom_value(after, "sluice_reloads_total", result="ok"),
                         prom_value(before, "sluice_reloads_total", result="ok") + 1)
        # a bad policy: refused with the reason, the old policy stays
        good = open(self.proxy.policy_path).read()
        try:
            with open(self.proxy.policy_path, "w") as f:
                f.write(good + "bogus_key: 1\n")
            ev = len(self.proxy.events())
            r = self.admin("POST", "/reload")
            self.assertJsonError(r, 422, self.proxy.policy_path)
            self.proxy.wait_event("reload_failed", ev)
            self.assertEqual(prom_value(self.metrics(), "sluice_reloads_total", result="failed"),
                             prom_value(before, "sluice_reloads_total", result="failed") + 1)
        finally:
            with open(self.proxy.policy_path, "w") as f:
                f.write(good)
        r, line = self.get("http://a.test/echo", listener="spare")
        self.assertAllowed(r, line)

    # ---- metrics
    def test_metrics_prometheus(self):
        f = self.metrics()
        want = {"sluice_requests_total": "counter", "sluice_bytes_total": "counter",
                "sluice_open_connections": "gauge", "sluice_sessions": "gauge",
                "sluice_dns_lookups_total": "counter",
                "sluice_dns_lookup_seconds": "histogram",
                "sluice_log_write_failures_total": "counter",
                "sluice_reloads_total": "counter"}
        for name, typ in want.items():
            self.assertIn(name, f, "no %s in /metrics" % name)
            self.assertEqual(f[name]["type"], typ, name)
            self.assertTrue(f[name]["help"], "%s has no HELP" % name)

    def test_metrics_count_what_happened(self):
        self.dns.set("nxmetrics.test", H.NXDOMAIN)
        before = self.metrics()
        m = self.proxy.mark()
        allowed = []
        for i in range(3):
            r, line = self.get("http://a.test/bytes?n=%d" % (100 * (i + 1)), listener="spare")
            self.assertAllowed(r, line)
            allowed.append(line)
        with self.open_tunnel("echo.test:7000", "spare") as c:
            c.send(b"y" * 3000)
            self.assertEqual(c.read_exact(3000), b"y" * 3000)
            during = self.metrics()
        r, line = self.get("http://nxmetrics.test/", listener="spare")
        self.assertDeniedLogged(r, line, 502, "dns_failure")
        r, line = self.get("http://outside.example/", listener="spare")
        self.assertDeniedLogged(r, line, 403, "not_allowlisted")
        lines = self.proxy.access()[m:]
        deadline = time.time() + 5
        while len(lines) < 6 and time.time() < deadline:
            time.sleep(0.05)
            lines = self.proxy.access()[m:]
        self.assertEqual(len(lines), 6, lines)
        after = self.metrics()

        def diff(name, **labels):
            return prom_value(after, name, **labels) - prom_value(before, name, **labels)

        self.assertEqual(diff("sluice_requests_total", decision="allow", reason="allowed",
                              tier="t"), 4)
        self.assertEqual(diff("sluice_requests_total", decision="deny", reason="dns_failure",
                              tier="t"), 1)
        self.assertEqual(diff("sluice_requests_total", decision="deny",
                              reason="not_allowlisted"), 1)
        self.assertEqual(diff("sluice_bytes_total", direction="up", tier="t"),
                         sum(l["bytes_up"] for l in lines))
        self.assertEqual(diff("sluice_bytes_total", direction="down", tier="t"),
                         sum(l["bytes_down"] for l in lines))
        self.assertEqual(diff("sluice_dns_lookups_total"), 5)
        self.assertEqual(diff("sluice_dns_failures_total"), 1)
        self.assertEqual(diff("sluice_dns_lookup_seconds_count"), 5)
        self.assertEqual(prom_value(after, "sluice_dns_lookup_seconds_count"),
                         prom_value(after, "sluice_dns_lookups_total"))
        self.assertEqual(prom_value(during, "sluice_open_connections"), 1)
        self.assertEqual(prom_value(after, "sluice_sessions"), len(self.sessions()))
        self.assertEqual(prom_value(after, "sluice_log_write_failures_total"), 0)
        # every reason and decision label is one of the closed set
        for n, labels, _ in after["sluice_requests_total"]["samples"]:
            self.assertIn(labels.get("reason"), H.REASONS, labels)
            self.assertIn(labels.get("decision"), ("allow", "deny"), labels)
        deadline = time.time() + 3
        while prom_value(self.metrics(), "sluice_open_connections") != 0:
            self.assertLess(time.time(), deadline, "sluice_open_connections stays above 0")
            time.sleep(0.05)


class AdminSocketFile(H.ProxyTestCase):
    """The socket file: a stale one is replaced, a live one is refused, a
    file that is not a socket is left alone, and the socket goes away with
    the proxy."""

    TIERS = {}
    POLICY_TIERS = {"t": {"domains": [".test"], "ports": [80]}}

    def new_proxy(self, path):
        return H.Proxy(dict(self.POLICY_TIERS), extra={"admin": {"socket": path}})

    def test_stale_replaced_live_refused(self):
        d = tempfile.mkdtemp(prefix="adm-file-", dir=self.env.tmp)
        path = os.path.join(d, "admin.sock")
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()    # the file stays, nobody listens: a crash's leftover
        self.assertTrue(stat.S_ISSOCK(os.stat(path).st_mode))
        first = self.new_proxy(path)
        old = os.umask(0)   # the socket is 0600 whatever the umask
        try:
            first.start()
        finally:
            os.umask(old)
        try:
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            r = admin_request(path, "GET", "/status")
            self.assertEqual(r.json()["pid"], first.proc.pid)
            second = self.new_proxy(path)
            try:
                with self.assertRaises(H.ProxyError):
                    second.start(timeout=5)
                rc = second.proc.wait(5)
                err = second.stderr_text()
                self.assertEqual(rc, 1, "a second proxy on a live admin socket exited %r" % rc)
                self.assertIn(path, err)
                self.assertIn("in use", err)
            finally:
                second.kill()
            # the live proxy still answers on its socket
            r = admin_request(path, "GET", "/status")
            self.assertEqual(r.json()["pid"], first.proc.pid)
        finally:
            self.assertEqual(first.stop(), 0)
        self.assertFalse(os.path.exists(path), "the admin socket outlived the proxy")

    def test_not_a_socket_is_left_alone(self):
        d = tempfile.mkdtemp(prefix="adm-file-", dir=self.env.tmp)
        path = os.path.join(d, "admin.sock")
        with open(path, "w") as f:
            f.write("precious\n")
        p = self.new_proxy(path)
        try:
            with self.assertRaises(H.ProxyError):
                p.start(timeout=5)
            self.assertEqual(p.proc.wait(5), 1)
            self.assertIn(path, p.stderr_text())
        finally:
            p.kill()
        with open(path) as f:
            self.assertEqual(f.read(), "precious\n")


class AdminWithAuth(H.ProxyTestCase):
    """With auth.mode basic, a session named in the tokens file can be
    paused before its first request; a session named nowhere cannot."""

    TIERS = {"t": {"domains": [".test"], "ports": [80]}}

    @classmethod
    def setUpClass(cls):
        cls.env = H.env()
        d = tempfile.mkdtemp(prefix="adm-auth-", dir=cls.env.tmp)
        cls.sock = os.path.join(d, "admin.sock")
        tokens = os.path.join(d, "tokens")
        with open(tokens, "w") as f:
            f.write("s-tok:tok-secret\n")
        cls.PROXY_KW = {"extra": {"admin": {"socket": cls.sock},
                                  "auth": {"mode": "basic", "tokens_file": tokens}}}
        super().setUpClass()

    def test_pause_tokens_file_session_before_first_request(self):
        import base64
        cred = [("Proxy-Authorization",
                 "Basic " + base64.b64encode(b"s-tok:tok-secret").decode())]
        r = admin_request(self.sock, "POST", "/sessions/s-tok/pause")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"session": "s-tok", "state": "paused"})
        r, line = self.get("http://a.test/echo", headers=cred)
        self.assertDeniedLogged(r, line, 403, "session_paused", session="s-tok")
        self.assertEqual(admin_request(self.sock, "POST", "/sessions/s-tok/resume").status, 200)
        r, line = self.get("http://a.test/echo", headers=cred)
        self.assertAllowed(r, line, session="s-tok")
        # a session in no tokens file and on no listener is unknown
        r = admin_request(self.sock, "POST", "/sessions/s-unknown/pause")
        self.assertEqual(r.status, 404, r)
        r = admin_request(self.sock, "GET", "/sessions")
        self.assertNotIn("s-unknown", [s["id"] for s in r.json()["sessions"]])
