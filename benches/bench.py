#!/usr/bin/env python3
"""benches/bench.py - sluice against Squid, tinyproxy and no proxy at all.

Started by benches/run (which installs the tools, builds the programs and
puts this script in a fresh network namespace); do not run it by hand
outside one: it refuses to run where any interface but `lo` exists.

Layout of a run (everything on loopback, in the namespace):
  * benches/origin on 127.0.0.2:8080 (HTTP) and 127.0.0.2:9000 (raw TCP),
    pinned to CPU 1 with the load generators (wrk, benches/loadgen);
  * the proxy under test on 127.0.0.1:3128, pinned to CPU 0, started fresh
    for every measurement and stopped after it;
  * for each repetition, for each workload, each proxy in turn (interleaved),
    then medians over the repetitions.

Prints a Markdown report and writes it to benches/results/YYYY-MM-DD-HHMM.md.
Python 3 stdlib only.
"""

import argparse
import datetime
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

PROXY_ADDR = ("127.0.0.1", 3128)
ORIGIN_HOST = "127.0.0.2"
HTTP_PORT = 8080
RAW_PORT = 9000
PROXY_CPU = "0"
LOAD_CPU = "1"
MiB = 1 << 20
GiB = 1 << 30
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

WORKLOADS = ["keepalive", "bigget", "tunnel", "setup", "idle", "policy",
             "logging", "capped"]
ALIASES = {"connect": "setup", "http": "keepalive", "big": "bigget",
           "rss": "idle", "domain": "policy", "log": "logging"}
PROXIES = ["none", "sluice", "squid", "tinyproxy"]

# ---------------------------------------------------------------------------
# small helpers


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def fail(msg):
    log(msg)
    sys.exit(1)


def kv(line):
    """'KEY a=1 b=2.5 c=x' -> {'a': 1, 'b': 2.5, 'c': 'x'}"""
    out = {}
    for tok in line.split()[1:]:
        k, _, v = tok.partition("=")
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def result_line(text, tag):
    for line in text.splitlines():
        if line.startswith(tag + " "):
            return kv(line)
    return None


def proc_children(pid):
    """pid and all its descendants (walks /proc once)."""
    parent = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        parent[int(d)] = int(fields[1])
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(c for c, pp in parent.items() if pp == p)
    return tree


def cpu_snapshot():
    """What the noise check compares: busy ticks of the whole machine
    (/proc/stat), the ticks of our own processes (the bench, what it started
    and already reaped, what still runs, and ksoftirqd, which carries our
    loopback traffic when senders fall behind) and those of every other
    process, by pid: (busy, ours, reaped, others)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    # user, nice, system, irq, softirq: without IRQ time accounting, a tick
    # in softirq goes to the interrupted task's stime but to this softirq
    # column of the machine.
    busy = sum(int(fields[i]) for i in (0, 1, 2, 5, 6))
    mine = set(proc_children(os.getpid()))
    ours, others = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        fl = st[st.rindex(")") + 2:].split()
        ticks = int(fl[11]) + int(fl[12])
        if int(d) in mine or comm.startswith("ksoftirqd/"):
            ours[int(d)] = ticks
        else:
            others[int(d)] = (comm, ticks)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return busy, ours, (ru.ru_utime + ru.ru_stime) * CLK_TCK, others


def foreign_cpu(before, after, seconds):
    """Share of one CPU (%) that other processes (compilers, tests of other
    users of the machine) used between two cpu_snapshot()s, and the names
    of the biggest of them, e.g. "cc1 35%, make 5%"."""
    busy0, ours0, reaped0, others0 = before
    busy1, ours1, reaped1, others1 = after
    mine = reaped1 - reaped0
    for pid, t in ours1.items():
        mine += t - ours0.get(pid, 0)
    scale = 100.0 / CLK_TCK / max(seconds, 1e-3)
    pct = max(0.0, (busy1 - busy0 - mine) * scale)
    by_name = {}
    for pid, (comm, t) in others1.items():
        d = t - others0.get(pid, (comm, 0))[1]
        if d > 0:
            by_name[comm] = by_name.get(comm, 0) + d
    top = sorted(by_name.items(), key=lambda x: -x[1])[:3]
    who = ", ".join("%s %.0f%%" % (n, t * scale) for n, t in top
                    if t * scale >= 1)
    return pct, who


def cpu_ticks(pid):
    """utime + stime of pid and its descendants, in clock ticks."""
    total = 0
    for p in proc_children(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])   # utime, stime
    return total


def rss_kib(pid):
    """VmRSS of pid and its descendants, in KiB."""
    total = 0
    for p in proc_children(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def port_open(addr, timeout=0.2):
    try:
        with socket.create_connection(addr, timeout=timeout):
            return True
    except OSError:
        return False


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def run(cmd, timeout, env=None, cpu=None):
    """Runs cmd pinned to <cpu> (default: the load CPU); returns (rc,
    stdout, stderr)."""
    full = ["taskset", "-c", cpu or LOAD_CPU] + cmd
    try:
        p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, env=env, text=True)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        return -1, out, "timed out after %ss" % timeout


# ---------------------------------------------------------------------------
# the namespace


def ensure_netns():
    with open("/proc/self/net/dev") as f:
        ifs = [line.split(":", 1)[0].strip() for line in f.readlines()[2:]]
    if ifs != ["lo"]:
        fail("not in a private network namespace (interfaces: %s); use "
             "benches/run" % ", ".join(ifs))
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # Per-namespace knobs: enough ephemeral ports and TIME_WAIT reuse for
    # tens of thousands of short connections a second.
    # The listening ports stay out of the ephemeral range: a client socket
    # left in TIME_WAIT on 127.0.0.1:3128 by the no-proxy run made the next
    # proxy's bind fail with EADDRINUSE.
    for key, val in (("net/ipv4/ip_local_port_range", "1024 65535"),
                     ("net/ipv4/ip_local_reserved_ports", "%d,%d,%d" % (
                         PROXY_ADDR[1], HTTP_PORT, RAW_PORT)),
                     ("net/ipv4/tcp_tw_reuse", "1"),
                     ("net/core/somaxconn", "4096"),
                     ("net/ipv4/tcp_max_syn_backlog", "4096")):
        try:
            with open("/proc/sys/" + key, "w") as f:
                f.write(val)
        except OSError as e:
            log("cannot set %s: %s" % (key, e))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in (65536, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
            break
        except (ValueError, OSError):
            continue


# ---------------------------------------------------------------------------
# processes we start


class Proc:
    """A process we started, in its own process group; stop() ends it."""

    live = []

    def __init__(self, name, cmd, cpu, logdir, **kw):
        self.name = name
        self.err_path = os.path.join(logdir, name + ".stderr")
        self.err = open(self.err_path, "ab")
        self.p = subprocess.Popen(["taskset", "-c", cpu] + cmd,
                                  stderr=self.err, start_new_session=True,
                                  **kw)
        self.pid = self.p.pid    # taskset execs the command: same pid
        Proc.live.append(self)

    def alive(self):
        return self.p.poll() is None

    def stderr_tail(self, n=8):
        try:
            with open(self.err_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return lines[-n:]
        except OSError:
            return []

    def exited(self):
        """True once the process is a zombie (or gone), without reaping it:
        while it is not reaped, its pid and process group stay ours."""
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                st = f.read()
        except OSError:
            return True
        return st[st.rindex(")") + 2] in "ZX"

    def stop(self, grace=5.0):
        if self in Proc.live:
            Proc.live.remove(self)
        if self.p.returncode is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            end = time.time() + grace
            while time.time() < end and not self.exited():
                time.sleep(0.02)
            # Whatever it forked shares its process group; the leader is
            # not reaped yet, so the group id cannot have been reused.
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.err.close()
        return self.p.returncode

    @classmethod
    def stop_all(cls):
        for pr in list(cls.live):
            pr.stop(grace=2.0)


class Origin:
    def __init__(self, bins, logdir):
        self.proc = Proc("origin", [bins["origin"], "--http",
                                    "%s:%d" % (ORIGIN_HOST, HTTP_PORT),
                                    "--raw", "%s:%d" % (ORIGIN_HOST, RAW_PORT)],
                         LOAD_CPU, logdir, stdout=subprocess.PIPE)
        line = self.proc.p.stdout.readline()
        if line.strip() != b"READY":
            fail("origin did not start: %s" % self.proc.stderr_tail())


# ---------------------------------------------------------------------------
# proxies under test: each writes its config, starts, says it is ready


# Caps far above what a run relays: only the relay path changes.
CAPPED_LIMITS = """    limits:
      bytes_up: 1000GiB
      bytes_down: 1000GiB
"""

SLUICE_POLICY = """version: 1
listeners:
  - name: bench
    listen: {addr}:{port}
    tiers: [bench]
network:
  allow_ranges: [{origin}/32]
  ip_literals: allow
tiers:
  bench:
    domains: ["{origin}/32"]
    ports: [{http_port}, {raw_port}]
{tier_extra}log:
  access: {access}
  events: {events}
timeouts: {{connect_ms: 10000, header_ms: 10000, idle_ms: 300000, shutdown_grace_ms: 500}}
limits: {{max_connections: 20000, max_header_bytes: 32768}}
{extra}
"""

SQUID_CONF = """# Squid as an allowlisting forward proxy, like the sluice policy:
# only 127.0.0.1 may use it, only to 127.0.0.2, only ports {http_port} and
# {raw_port} (GET and CONNECT alike); no cache; access log on, written by
# Squid itself (stdio, one write per line, as sluice does); no ICMP pinger
# helper, so that Squid is one process like the others.
http_port {addr}:{port}
acl bench_client src {addr}/32
acl bench_dst dst {origin}/32
acl bench_ports port {http_port} {raw_port}
http_access deny !bench_ports
http_access allow bench_client bench_dst
http_access deny all
cache deny all
cache_mem 0 MB
access_log stdio:{dir}/access.log squid
cache_log {dir}/cache.log
cache_store_log none
pid_filename {dir}/squid.pid
coredump_dir {dir}
cache_effective_user {user}
max_filedescriptors 16384
shutdown_lifetime 0 seconds
visible_hostname sluice-bench
dns_nameservers 127.0.0.1
pinger_enable off
"""

TINYPROXY_CONF = """# tinyproxy as an allowlisting forward proxy, like the sluice policy:
# clients from 127.0.0.1 only, hosts matching the filter only (default
# deny), CONNECT to ports {http_port} and {raw_port} only; request log on
# (LogLevel Connect: one "Connect" and one "Request" line per request;
# Info would add several more lines per request).
Port {port}
Listen {addr}
Timeout 600
MaxClients 8192
LogFile "{dir}/tinyproxy.log"
LogLevel Connect
PidFile "{dir}/tinyproxy.pid"
Allow {addr}
Filter "{dir}/filter"
FilterType ere
FilterDefaultDeny Yes
ConnectPort {http_port}
ConnectPort {raw_port}
"""


class Proxy:
    label = "?"

    def __init__(self, work):
        self.work = work
        self.dir = os.path.join(work, self.key)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None

    def fmt(self):
        return dict(addr=PROXY_ADDR[0], port=PROXY_ADDR[1],
                    origin=ORIGIN_HOST, http_port=HTTP_PORT,
                    raw_port=RAW_PORT, dir=self.dir)

    def start(self):
        self.proc = Proc(self.key, self.cmd(), PROXY_CPU, self.dir,
                         stdout=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            if not self.proc.alive():
                raise RuntimeError("%s exited at start: %s" % (
                    self.label, " | ".join(self.proc.stderr_tail())))
            if self.ready():
                time.sleep(0.5)   # let it finish starting before measuring
                return
            time.sleep(0.05)
        raise RuntimeError("%s not ready after 20 s" % self.label)

    def ready(self):
        return port_open(PROXY_ADDR)

    def stop(self):
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    @property
    def pid(self):
        return self.proc.pid


class Sluice(Proxy):
    def __init__(self, work, key, label, binary, extra="", access=None,
                 tier_extra=""):
        self.key, self.label, self.binary = key, label, binary
        super().__init__(work)
        self.access = access or os.path.join(self.dir, "access.log")
        self.events = os.path.join(self.dir, "events.log")
        with open(os.path.join(self.dir, "policy.yaml"), "w") as f:
            f.write(SLUICE_POLICY.format(access=self.access,
                                         events=self.events, extra=extra,
                                         tier_extra=tier_extra,
                                         **self.fmt()))
        rc, out, err = run([self.binary, "check", "-c",
                            os.path.join(self.dir, "policy.yaml")], 30)
        if rc != 0:
            fail("%s rejects the bench policy: %s" % (label, err.strip()))

    def cmd(self):
        return [self.binary, "serve", "-c",
                os.path.join(self.dir, "policy.yaml")]

    def start(self):
        # Readiness comes from the "start" event, so that no probe
        # connection ends up in the access log.
        try:
            self.events_at = os.path.getsize(self.events)
        except OSError:
            self.events_at = 0
        super().start()

    def ready(self):
        try:
            with open(self.events) as f:
                f.seek(self.events_at)
                return '"event":"start"' in f.read()
        except OSError:
            return False

    def log_size(self):
        try:
            return os.path.getsize(self.access)
        except OSError:
            return 0

    def log_since(self, offset):
        """Access records written since <offset>: (count, {status: n},
        {reason: n}, bad_lines)."""
        n, status, reason, bad = 0, {}, {}, 0
        if self.access == "/dev/null":
            return None
        with open(self.access, "rb") as f:
            f.seek(offset)
            for line in f:
                if b'"event":"access"' not in line:
                    continue
                n += 1
                m = re.search(rb'"status":(\d+|null)', line)
                r = re.search(rb'"reason":"([a-z_]+)"', line)
                if m is None or r is None or not line.endswith(b"}\n"):
                    bad += 1
                    continue
                s = m.group(1).decode()
                status[s] = status.get(s, 0) + 1
                k = r.group(1).decode()
                reason[k] = reason.get(k, 0) + 1
        return n, status, reason, bad


class Squid(Proxy):
    key, label = "squid", "Squid"

    def __init__(self, work):
        super().__init__(work)
        user = "proxy"
        try:
            import pwd
            pw = pwd.getpwnam(user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        except (KeyError, ImportError):
            user = "nobody"
            os.chmod(self.dir, 0o777)
        with open(os.path.join(self.dir, "squid.conf"), "w") as f:
            f.write(SQUID_CONF.format(user=user, **self.fmt()))
        rc, out, err = run(["squid", "-k", "parse", "-f",
                            os.path.join(self.dir, "squid.conf")], 60)
        if rc != 0:
            fail("squid rejects the bench config: %s" % (out + err)[-500:])

    def cmd(self):
        # -N: no daemon, no SMP kids: one process, like the others.
        return ["squid", "-N", "-f", os.path.join(self.dir, "squid.conf")]


class Tinyproxy(Proxy):
    key, label = "tinyproxy", "tinyproxy"

    def __init__(self, work):
        super().__init__(work)
        with open(os.path.join(self.dir, "filter"), "w") as f:
            f.write("^%s$\n" % re.escape(ORIGIN_HOST))
        with open(os.path.join(self.dir, "tinyproxy.conf"), "w") as f:
            f.write(TINYPROXY_CONF.format(**self.fmt()))

    def cmd(self):
        return ["tinyproxy", "-d", "-c",
                os.path.join(self.dir, "tinyproxy.conf")]


# ---------------------------------------------------------------------------
# workloads: each takes a started proxy (or None) and returns a dict


def wrk(proxy, path, conns, duration, bins):
    env = dict(os.environ)
    if proxy is None:
        url = "http://%s:%d%s" % (ORIGIN_HOST, HTTP_PORT, path)
    else:
        url = "http://%s:%d/" % PROXY_ADDR
        env["BENCH_URL"] = "http://%s:%d%s" % (ORIGIN_HOST, HTTP_PORT, path)
        env["BENCH_HOST"] = "%s:%d" % (ORIGIN_HOST, HTTP_PORT)
    cmd = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % duration, "--timeout",
           "5s", "-s", bins["wrk.lua"], url]
    rc, out, err = run(cmd, duration + 30, env=env)
    r = result_line(out, "BENCH")
    if rc != 0 or r is None:
        raise RuntimeError("wrk failed (rc %s): %s" % (rc, (out + err)[-300:]))
    r["seconds"] = r["duration_us"] / 1e6
    if isinstance(proxy, Tinyproxy) and \
            abs(r["read_err"] - r["requests"]) <= conns:
        # tinyproxy closes the client connection after every response
        # (no client-side keep-alive); wrk counts each close as a read
        # error and reconnects. That is its design, not a failure.
        r["read_err"] = 0
    return r


def errors_text(d, keys):
    parts = ["%s %d" % (k, d[k]) for k in keys if d.get(k)]
    return ", ".join(parts)


def w_keepalive(proxy, o, bins):
    wrk(proxy, "/small", 50, 1, bins)     # warm-up: connections, caches
    t0 = cpu_ticks(proxy.pid) if proxy else 0
    log_at = proxy.log_size() if isinstance(proxy, Sluice) else None
    r = wrk(proxy, "/small", 50, o.duration, bins)
    out = {"rps": r["requests"] / r["seconds"], "p99_ms": r["p99_us"] / 1e3,
           "p50_ms": r["p50_us"] / 1e3,
           "errors": errors_text(r, ["connect_err", "read_err", "write_err",
                                     "timeout", "non2xx"])}
    if proxy is not None:
        out["cpu_us"] = ((cpu_ticks(proxy.pid) - t0) / CLK_TCK /
                         max(r["requests"], 1) * 1e6)
    if log_at is not None:
        time.sleep(0.2)
        out["log"] = proxy.log_since(log_at)
        out["requests"] = r["requests"]
    return out


def w_bigget(proxy, o, bins):
    r = wrk(proxy, "/big", 4, o.duration, bins)
    return {"mbps": r["bytes"] / r["seconds"] / 1e6,
            "errors": errors_text(r, ["connect_err", "read_err", "write_err",
                                      "timeout", "non2xx"])}


def loadgen_args(proxy):
    a = ["--target", "%s:%d" % (ORIGIN_HOST, RAW_PORT)]
    if proxy is not None:
        a += ["--proxy", "%s:%d" % PROXY_ADDR]
    return a


def w_tunnel(proxy, o, bins):
    rc, out, err = run([bins["loadgen"], "tunnel", "--bytes",
                        str(o.tunnel_bytes)] + loadgen_args(proxy), 300)
    r = result_line(out, "RESULT")
    if r is None:
        raise RuntimeError("loadgen tunnel: rc %s %s" % (rc, err[-300:]))
    if not r.get("ok"):
        return {"mbps": None, "errors": "failed: status %s, %s of %d bytes; %s"
                % (r.get("status"), r.get("bytes"), o.tunnel_bytes,
                   err.strip()[-200:])}
    return {"mbps": r["mbps"], "errors": ""}


SETUP_ERRS = ["non200", "connect_err", "io_err", "eof", "bad_reply"]


def w_setup(proxy, o, bins):
    rc, out, err = run([bins["loadgen"], "setup", "--conns", "50",
                        "--duration", str(o.duration)] + loadgen_args(proxy),
                       o.duration + 60)
    r = result_line(out, "RESULT")
    if r is None:
        raise RuntimeError("loadgen setup: rc %s %s" % (rc, err[-300:]))
    extra = ["%s %s" % (k, v) for k, v in r.items() if k.startswith("status_")]
    e = errors_text(r, SETUP_ERRS)
    return {"rate": r["rate"], "errors": ", ".join(x for x in [e] + extra if x)}


def w_idle(proxy, o, bins):
    if proxy is None:
        return None
    p = subprocess.Popen(["taskset", "-c", LOAD_CPU, bins["loadgen"], "idle",
                          "--count", str(o.idle_tunnels), "--sync"] +
                         loadgen_args(proxy), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        line = p.stdout.readline()
        if not line.startswith("WARM"):
            raise RuntimeError("loadgen idle: %r %s" % (line, p.stderr.read()))
        before = rss_kib(proxy.pid)
        p.stdin.write("go\n")
        p.stdin.flush()
        line = p.stdout.readline()
        if not line.startswith("OPEN"):
            raise RuntimeError("loadgen idle: %r %s" % (line, p.stderr.read()))
        opened = int(line.split()[1])
        after = rss_kib(proxy.pid)
        p.stdin.write("close\n")
        p.stdin.flush()
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    r = result_line(out, "RESULT") or {}
    errs = errors_text(r, SETUP_ERRS)
    if opened < o.idle_tunnels:
        errs = ("only %d of %d opened; " % (opened, o.idle_tunnels)) + errs
    if r.get("still_open", opened) < opened:
        errs += "; %d closed by the proxy while idle" % (
            opened - r["still_open"])
    return {"per_tunnel_kib": (after - before) / opened if opened else None,
            "errors": errs}


WORKLOAD_FN = {"keepalive": w_keepalive, "bigget": w_bigget,
               "tunnel": w_tunnel, "setup": w_setup, "idle": w_idle}

# ---------------------------------------------------------------------------
# the report

# (workload, metric, heading, unit format, higher is better)
ROWS = [
    ("keepalive", "rps", "HTTP keep-alive, 100 B responses, 50 conns: req/s",
     "{:,.0f}", True),
    ("keepalive", "p99_ms", "same: p99 latency (ms)", "{:.2f}", False),
    ("keepalive", "cpu_us", "same: proxy CPU per request (µs)", "{:.1f}",
     False),
    ("bigget", "mbps", "HTTP 1 MiB GETs, 4 conns: MB/s", "{:,.0f}", True),
    ("tunnel", "mbps", "CONNECT, one tunnel, {tunnel}: MB/s", "{:,.0f}", True),
    ("setup", "rate", "CONNECT set-ups, 50 conns: per s", "{:,.0f}", True),
    ("idle", "per_tunnel_kib", "idle tunnels ({idle}): RSS per tunnel (KiB)",
     "{:.1f}", False),
    ("start", "idle_mib", "idle proxy RSS (MiB)", "{:.1f}", False),
]

# Goals from issue 5: (workload, metric) -> (text, check(value, cols)).
GOALS = {
    ("keepalive", "rps"): ("≥ 0.7× no proxy and ≥ 2.6× Squid",
                           lambda v, c: _ge(v, c, "none", 0.7) and
                           _ge(v, c, "squid", 2.6)),
    ("keepalive", "p99_ms"): ("≤ 2× no proxy",
                              lambda v, c: _le(v, c, "none", 2.0)),
    ("keepalive", "cpu_us"): ("≤ 15 µs", lambda v, c: v <= 15),
    ("bigget", "mbps"): ("≥ 0.7× no proxy", lambda v, c: _ge(v, c, "none", 0.7)),
    ("tunnel", "mbps"): ("≥ 0.9× no proxy", lambda v, c: _ge(v, c, "none", 0.9)),
    ("setup", "rate"): ("≥ 0.8× no proxy", lambda v, c: _ge(v, c, "none", 0.8)),
    ("idle", "per_tunnel_kib"): ("≤ 8 KiB", lambda v, c: v <= 8),
    ("start", "idle_mib"): ("≤ 4 MiB", lambda v, c: v <= 4),
}


def _ge(v, cols, key, k):
    b = cols.get(key)
    return None if b is None else v >= k * b


def _le(v, cols, key, k):
    b = cols.get(key)
    return None if b is None else v <= k * b


def fmt(f, v):
    return "—" if v is None else f.format(v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return "%.2f×" % (a / b)


class Results:
    def __init__(self):
        self.samples = {}     # (workload, metric, proxy) -> [values]
        self.noisy = set()    # (workload, metric, proxy, index) of noisy ones
        self.errors = []      # (rep, workload, proxy, text)
        self.noise = []       # (rep, workload, proxy, % of a CPU)
        self.notes = []

    def add(self, wl, metric, proxy, value, noisy=False):
        xs = self.samples.setdefault((wl, metric, proxy), [])
        if noisy:
            self.noisy.add((wl, metric, proxy, len(xs)))
        xs.append(value)

    def med(self, wl, metric, proxy):
        return median(self.samples.get((wl, metric, proxy), []))

    def raw(self, wl, metric, proxy, f):
        xs = self.samples.get((wl, metric, proxy), [])
        return " / ".join(fmt(f, x) + ("*" if (wl, metric, proxy, i) in
                                       self.noisy else "")
                          for i, x in enumerate(xs))


def report(res, o, cols, labels, meta):
    """Returns the Markdown text."""
    a = "sluice"
    b = "sluice_b" if "sluice_b" in cols else None
    lines = []
    w = lines.append
    w("# sluice benchmark %s" % meta["when"])
    w("")
    w("`%s`" % meta["command"])
    w("")
    w("Medians of %d repetition(s); proxy on CPU(s) %s, origin and load "
      "generator on CPU %s; loopback in a private network namespace; access "
      "logs on for every proxy. MB = 10^6 bytes." % (o.reps, PROXY_CPU,
                                                      LOAD_CPU))
    w("")
    heads = [labels[c] for c in cols]
    ratio_cols = []
    if a in cols and "none" in cols:
        ratio_cols.append((a, "none"))
    if a in cols and "squid" in cols:
        ratio_cols.append((a, "squid"))
    if a in cols and "tinyproxy" in cols:
        ratio_cols.append((a, "tinyproxy"))
    if b:
        if "none" in cols:
            ratio_cols.append((b, "none"))
        ratio_cols.append((b, a))
    w("| workload | " + " | ".join(heads) + " | " +
      " | ".join("%s / %s" % (labels[x], labels[y]) for x, y in ratio_cols) +
      (" | goal (issue 5) | met |" if a in cols else " |"))
    w("|---|" + "---:|" * (len(heads) + len(ratio_cols)) +
      ("---|:-:|" if a in cols else ""))
    tunnel_txt = ("1 GiB" if o.tunnel_bytes == GiB else
                  "%.0f MiB" % (o.tunnel_bytes / MiB))
    for wl, metric, head, f, _hib in ROWS:
        if wl != "start" and wl not in o.only:
            continue
        vals = {c: res.med(wl, metric, c) for c in cols}
        if all(v is None for v in vals.values()):
            continue
        row = [head.format(tunnel=tunnel_txt, idle=o.idle_tunnels)]
        row += [fmt(f, vals[c]) for c in cols]
        row += [ratio(vals[x], vals[y]) for x, y in ratio_cols]
        if a in cols:
            goal = GOALS.get((wl, metric))
            met = "—"
            if goal and vals[a] is not None:
                ok = goal[1](vals[a], vals)
                met = "—" if ok is None else ("yes" if ok else "**no**")
            row += [goal[0] if goal else "", met]
        w("| " + " | ".join(row) + " |")
    w("")

    if "logging" in o.only and res.samples.get(("logging", "rps", "file")):
        w("## Cost of logging (sluice, keep-alive workload)")
        w("")
        w("| access log | req/s | p99 (ms) | CPU per request (µs) |")
        w("|---|---:|---:|---:|")
        for k, name in (("file", "file"), ("devnull", "/dev/null")):
            w("| %s | %s | %s | %s |" % (
                name, fmt("{:,.0f}", res.med("logging", "rps", k)),
                fmt("{:.2f}", res.med("logging", "p99_ms", k)),
                fmt("{:.1f}", res.med("logging", "cpu_us", k))))
        cf = res.med("logging", "cpu_us", "file")
        cn = res.med("logging", "cpu_us", "devnull")
        if cf is not None and cn is not None:
            w("")
            w("Logging to a file costs %.1f µs of proxy CPU per request "
              "(%.0f%% of the request); req/s file / /dev/null = %s." % (
                  cf - cn, 100 * (cf - cn) / cf if cf else 0,
                  ratio(res.med("logging", "rps", "file"),
                        res.med("logging", "rps", "devnull"))))
        w("")

    if "capped" in o.only and res.samples.get(("capped", "mbps", "sluice")):
        w("## Tunnels on a tier with byte caps (sluice)")
        w("")
        w("A tier with `bytes_up`/`bytes_down` (the fetch tool's channel) "
          "counts every tunnel byte, so its tunnels are relayed by "
          "proxy/tunnel.c instead of splice(2).")
        w("")
        w("| workload | uncapped (splice) | capped | capped / uncapped |")
        w("|---|---:|---:|---:|")
        w("| CONNECT, one tunnel, %s: MB/s | %s | %s | %s |" % (
            tunnel_txt, fmt("{:,.0f}", res.med("tunnel", "mbps", "sluice")),
            fmt("{:,.0f}", res.med("capped", "mbps", "sluice")),
            ratio(res.med("capped", "mbps", "sluice"),
                  res.med("tunnel", "mbps", "sluice"))))
        w("")

    if "policy" in o.only and meta.get("policy"):
        w("## Policy matching (benches/bench_domain, CPU %s)" % PROXY_CPU)
        w("")
        w("| patterns | load ms | ns/lookup hit | ns/lookup miss |")
        w("|---:|---:|---:|---:|")
        for n in sorted(meta["policy"]):
            w("| {:,} | {} | {} | {} |".format(
                n, fmt("{:.2f}", res.med("policy", "load_ms", n)),
                fmt("{:.1f}", res.med("policy", "hit_ns", n)),
                fmt("{:.1f}", res.med("policy", "miss_ns", n))))
        w("")

    w("## Every repetition")
    w("")
    w("In the order they ran; * marks a run during which other processes "
      "used %d%% of a CPU or more." % NOISE_PCT)
    w("")
    w("| workload | " + " | ".join(heads) + " |")
    w("|---|" + "---:|" * len(heads))
    for wl, metric, head, f, _hib in ROWS:
        if wl != "start" and wl not in o.only:
            continue
        if all(not res.samples.get((wl, metric, c)) for c in cols):
            continue
        w("| " + head.format(tunnel=tunnel_txt, idle=o.idle_tunnels) + " | " +
          " | ".join(res.raw(wl, metric, c, f) or "—" for c in cols) + " |")
    w("")

    w("## Errors and anomalies")
    w("")
    if res.errors:
        w("| rep | workload | proxy | what |")
        w("|---:|---|---|---|")
        for rep, wl, who, text in res.errors:
            w("| %s | %s | %s | %s |" % (rep, wl, who,
                                          text.replace("|", "\\|")))
    else:
        w("None: every request answered 2xx, every tunnel carried its bytes.")
    w("")
    if res.noise:
        w("**%d of %d measurements ran while other processes on the machine "
          "(not the bench) used %d%% of a CPU or more**, after waiting "
          "and retrying as far as the time budget allowed; their numbers are "
          "suspect (* in the table "
          "above)." % (len(res.noise), meta["cells"], NOISE_PCT))
        w("")
        w("<details><summary>which, and who got in the way</summary>")
        w("")
        for rep, wl, label, pct, who in res.noise:
            w("- rep %s, %s, %s: %.0f%% of a CPU (%s)" % (
                rep, wl, label, pct, who or "short-lived processes"))
        w("")
        w("</details>")
        w("")
    else:
        w("No other process on the machine used %d%% of a CPU or more during "
          "any run." % NOISE_PCT)
        w("")
    for n in res.notes:
        w("- " + n)
    w("")
    w("## Setup")
    w("")
    for k, v in meta["setup"]:
        w("- %s: %s" % (k, v))
    w("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# main


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="benches/run",
        description="sluice vs Squid vs tinyproxy vs no proxy, on loopback.")
    ap.add_argument("--only", default=",".join(WORKLOADS),
                    help="comma-separated workloads: %s (default: all)" %
                    ",".join(WORKLOADS))
    ap.add_argument("--proxies", default=",".join(PROXIES),
                    help="comma-separated columns: %s (default: all)" %
                    ",".join(PROXIES))
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--duration", type=int, default=10,
                    help="seconds per timed run (default 10)")
    ap.add_argument("--sluice", default=os.path.join(TOP, "sluice"),
                    help="sluice binary (default: ./sluice)")
    ap.add_argument("--sluice-b", default=None,
                    help="a second sluice binary, measured as its own column")
    ap.add_argument("--label", default="sluice")
    ap.add_argument("--label-b", default="sluice-B")
    ap.add_argument("--sluice-extra", default="",
                    help="YAML appended to sluice's policy (e.g. 'workers: 2')")
    ap.add_argument("--sluice-b-extra", default=None,
                    help="YAML appended to sluice-B's policy (default: "
                    "--sluice-extra)")
    ap.add_argument("--proxy-cpus", default="0",
                    help="taskset CPU list for the proxy (default 0; e.g. "
                    "0,1 to show a multi-worker sluice scaling, knowing that "
                    "the load generator runs on CPU 1)")
    ap.add_argument("--tunnel-bytes", type=int, default=GiB)
    ap.add_argument("--idle-tunnels", type=int, default=2000)
    ap.add_argument("--domain-lookups", type=int, default=2000000)
    ap.add_argument("--quiet-wait", type=float, default=15,
                    help="before each run, wait up to this many seconds for "
                    "other processes to leave the CPUs alone (default 15)")
    ap.add_argument("--retries", type=int, default=1,
                    help="runs again a measurement during which other "
                    "processes used 10%% of a CPU or more, this many times "
                    "(default 1; the quieter run is kept)")
    ap.add_argument("--budget", type=float, default=540,
                    help="seconds after which no more waiting or retrying "
                    "is done (default 540)")
    ap.add_argument("--results", default=os.path.join(HERE, "results"),
                    help="directory for the report (default benches/results)")
    ap.add_argument("--no-save", action="store_true",
                    help="print the report only")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (configs, logs)")
    o = ap.parse_args(argv)
    only = []
    for x in o.only.split(","):
        x = ALIASES.get(x.strip(), x.strip())
        if x not in WORKLOADS:
            ap.error("unknown workload %r (known: %s)" %
                     (x, ", ".join(WORKLOADS)))
        only.append(x)
    o.only = only
    prox = [p.strip() for p in o.proxies.split(",") if p.strip()]
    for p in prox:
        if p not in PROXIES:
            ap.error("unknown proxy %r (known: %s)" % (p, ", ".join(PROXIES)))
    if o.sluice_b and "sluice" not in prox:
        prox.append("sluice")
    o.proxies = prox
    if o.reps < 1 or o.duration < 1:
        ap.error("--reps and --duration must be at least 1")
    if o.sluice_b_extra is None:
        o.sluice_b_extra = o.sluice_extra
    return o


def tool_version(cmd):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=10)
        return (p.stdout.strip().splitlines() or ["?"])[0]
    except (OSError, subprocess.TimeoutExpired):
        return "not found"


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", TOP, "status", "--porcelain",
                                "--untracked-files=no"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL,
                               text=True).stdout.strip()
        return rev + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "?"


def main(argv):
    o = parse_args(argv)
    global PROXY_CPU
    PROXY_CPU = o.proxy_cpus
    ensure_netns()
    if os.cpu_count() and os.cpu_count() < 2:
        global LOAD_CPU
        LOAD_CPU = "0"
        log("one CPU only: everything shares CPU 0")
    try:
        os.sched_setaffinity(0, {int(LOAD_CPU)})
    except OSError:
        pass

    bins = {"origin": os.path.join(HERE, "origin"),
            "loadgen": os.path.join(HERE, "loadgen"),
            "bench_domain": os.path.join(HERE, "bench_domain"),
            "wrk.lua": os.path.join(HERE, "wrk.lua")}
    for k, v in bins.items():
        if not os.path.exists(v):
            fail("%s missing (%s): run benches/run, or make bench-programs"
                 % (k, v))
    for tool in ["taskset"] + (["wrk"] if {"keepalive", "bigget", "logging"}
                               & set(o.only) else []):
        if shutil.which(tool) is None:
            fail("%s not found" % tool)

    work = tempfile.mkdtemp(prefix="sluice-bench-")
    os.chmod(work, 0o755)
    started = time.time()
    now = datetime.datetime.now()
    labels = {"none": "no proxy", "sluice": o.label, "sluice_b": o.label_b,
              "squid": "Squid", "tinyproxy": "tinyproxy"}
    res = Results()
    meta = {"when": now.strftime("%Y-%m-%d %H:%M"),
            "command": " ".join(["benches/run"] + argv), "setup": []}

    def on_signal(signum, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    try:
        proxies = {}
        if "sluice" in o.proxies:
            if not os.access(o.sluice, os.X_OK):
                fail("no sluice binary at %s" % o.sluice)
            proxies["sluice"] = lambda: Sluice(work, "sluice", o.label,
                                               o.sluice, o.sluice_extra)
        if o.sluice_b:
            if not os.access(o.sluice_b, os.X_OK):
                fail("no sluice binary at %s" % o.sluice_b)
            proxies["sluice_b"] = lambda: Sluice(work, "sluice_b", o.label_b,
                                                 o.sluice_b, o.sluice_b_extra)
        if "squid" in o.proxies:
            if shutil.which("squid") is None:
                fail("squid not found")
            proxies["squid"] = lambda: Squid(work)
        if "tinyproxy" in o.proxies:
            if shutil.which("tinyproxy") is None:
                fail("tinyproxy not found")
            proxies["tinyproxy"] = lambda: Tinyproxy(work)
        made = {k: f() for k, f in proxies.items()}
        cols = [c for c in ["none", "sluice", "sluice_b", "squid", "tinyproxy"]
                if c == "none" and "none" in o.proxies or c in made]

        timed = [w for w in ["keepalive", "bigget", "tunnel", "setup", "idle"]
                 if w in o.only]
        logging_proxies = []
        if "logging" in o.only and "sluice" in made:
            logging_proxies = [
                (v, Sluice(work, "sluice_log_" + v, o.label, o.sluice,
                           o.sluice_extra,
                           access="/dev/null" if v == "devnull" else None))
                for v in ("file", "devnull")]
        # A tier with byte caps: its tunnels count every byte, so they are
        # relayed by tunnel.c, not spliced (the fetch tool's channel).
        capped_proxy = None
        if "capped" in o.only and "sluice" in made:
            capped_proxy = Sluice(work, "sluice_capped", o.label, o.sluice,
                                  o.sluice_extra, tier_extra=CAPPED_LIMITS)
        cells = o.reps * (len(timed) * len(cols) + len(logging_proxies)
                          + (1 if capped_proxy else 0)
                          - (len(cols) - len(made) if "idle" in timed else 0))
        sched = Schedule(o.budget - (time.time() - started), cells)
        meta["cells"] = cells
        origin = Origin(bins, work)
        for rep in range(1, o.reps + 1):
            for wl in timed:
                for c in cols:
                    if not origin.proc.alive():
                        fail("the origin died: %s" % origin.proc.stderr_tail())
                    measure(res, rep, wl, c, made.get(c), o, bins, labels,
                            sched)
            if "logging" in o.only and "sluice" in made:
                for variant, proxy in logging_proxies:
                    measure_logging(res, rep, variant, proxy, o, bins,
                                    sched)
            if capped_proxy is not None:
                cell(res, rep, "capped", "sluice",
                     "%s, tier with byte caps" % o.label, capped_proxy,
                     w_tunnel, o, bins, sched)
            if "policy" in o.only:
                meta["policy"] = measure_policy(res, rep, o, bins)
        origin.proc.stop()
    except KeyboardInterrupt:
        log("interrupted")
        Proc.stop_all()
        if not o.keep:
            shutil.rmtree(work, ignore_errors=True)
        return 130
    finally:
        Proc.stop_all()

    meta["setup"] = [
        ("machine", "%s CPUs, %s, load average at the end %s" % (
            os.cpu_count(), os.uname().release,
            open("/proc/loadavg").read().split()[0])),
        ("sluice", "%s — %s%s" % (
            o.sluice, tool_version([o.sluice, "version"]),
            ", tree " + git_rev() if os.path.realpath(o.sluice) ==
            os.path.realpath(os.path.join(TOP, "sluice")) else "")),
    ]
    if o.sluice_b:
        meta["setup"].append(("sluice-B", "%s — %s" % (
            o.sluice_b, tool_version([o.sluice_b, "version"]))))
    if o.sluice_extra:
        meta["setup"].append(("sluice policy extra", "`%s`" % o.sluice_extra))
    meta["setup"] += [
        ("Squid", tool_version(["squid", "-v"])),
        ("tinyproxy", tool_version(["tinyproxy", "-v"])),
        ("wrk", tool_version(["wrk", "-v"])),
        ("duration", "%d s per timed run, %d repetition(s), whole run %.0f s"
         % (o.duration, o.reps, time.time() - started)),
        ("configs", "see benches/README.md; the files of this run were in %s"
         % work + (" (kept)" if o.keep else " (removed)")),
    ]
    text = report(res, o, cols, labels, meta)
    print(text)
    if not o.no_save:
        os.makedirs(o.results, exist_ok=True)
        path = os.path.join(o.results, now.strftime("%Y-%m-%d-%H%M") + ".md")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
        log("written to %s" % os.path.relpath(path, TOP))
    if not o.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


NOISE_PCT = 10


class Schedule:
    """Keeps a run within --budget seconds: waiting for a quiet machine and
    running a measurement again are allowed only while the time left is
    more than the measurements still to do would take at the pace so far."""

    def __init__(self, budget, cells):
        self.start = time.time()
        self.budget = budget
        self.cells = cells
        self.done = 0
        self.spent = 0.0   # seconds in measurements (no waits, no retries)

    def pace(self):
        return self.spent / self.done if self.done else 20.0

    def spare(self):
        left = self.cells - self.done
        return self.start + self.budget - time.time() - left * self.pace()

    def wait_share(self):
        """Seconds of waiting this measurement may take: the spare time,
        shared out over the measurements left."""
        return max(0.0, self.spare() / max(1, self.cells - self.done))

    def may_retry(self):
        return self.spare() > self.pace()


def wait_quiet(o, sched):
    """Waits (at most --quiet-wait seconds, and only while the run has time
    to spare) until other processes leave the machine alone for a second."""
    limit = time.time() + min(o.quiet_wait, sched.wait_share())
    said = False
    while time.time() < limit:
        s0, t0 = cpu_snapshot(), time.time()
        time.sleep(1.0)
        pct, who = foreign_cpu(s0, cpu_snapshot(), time.time() - t0)
        if pct < NOISE_PCT:
            return
        if not said:
            log("other processes use %.0f%% of a CPU (%s); waiting up to "
                "%.0f s" % (pct, who or "short-lived",
                            max(0, limit - time.time())))
            said = True


def log_problems(logres, requests):
    """What is wrong in sluice's access records of one run."""
    n, status, reason, bad = logres
    out = []
    if bad:
        out.append("%d malformed access log lines" % bad)
    others = {k: v for k, v in status.items() if k != "200"}
    if others:
        out.append("access log statuses other than 200: %s; reasons %s"
                   % (others, reason))
    # The log also holds the warm-up's requests and those in flight when wrk
    # stopped; it must not hold fewer lines than wrk counted answers.
    if n < requests:
        out.append("%d access log lines for %d requests" % (n, requests))
    return out


def attempt(proxy, fn, o, bins):
    """Starts <proxy> (None: no proxy), runs workload <fn>, stops it."""
    out = {"values": {}, "errors": [], "noise": 0.0, "who": "",
           "idle_mib": None}
    try:
        if proxy is not None:
            proxy.start()
            out["idle_mib"] = rss_kib(proxy.pid) / 1024
        s0, t0 = cpu_snapshot(), time.time()
        r = fn(proxy, o, bins)
        out["noise"], out["who"] = foreign_cpu(s0, cpu_snapshot(),
                                               time.time() - t0)
        for k, v in (r or {}).items():
            if k not in ("errors", "log", "requests"):
                out["values"][k] = v
        if r and r.get("errors"):
            out["errors"].append(r["errors"])
        if r and r.get("log"):
            out["errors"] += log_problems(r["log"], r["requests"])
    except RuntimeError as e:
        out["errors"].append("could not measure: %s" % e)
    if proxy is not None and proxy.proc is not None:
        if not proxy.proc.alive():
            out["errors"].append("**the proxy died** (exit %s): %s" % (
                proxy.proc.p.returncode,
                " | ".join(proxy.proc.stderr_tail())))
        tail = proxy.proc.stderr_tail(3)
        alive = proxy.proc.alive()
        rc = proxy.stop()
        if alive and rc not in (0, -signal.SIGTERM, None):
            out["errors"].append("exit status %s after SIGTERM: %s"
                                 % (rc, " | ".join(tail)))
    return out


def cell(res, rep, wl, key, label, proxy, fn, o, bins, sched):
    """One measurement: waits for a quiet machine, runs, and runs once more
    if other processes got in the way (keeping the quieter run)."""
    log("rep %d: %s via %s" % (rep, wl, label))
    wait_quiet(o, sched)
    t0 = time.time()
    a = attempt(proxy, fn, o, bins)
    sched.spent += time.time() - t0
    sched.done += 1
    errors = list(a["errors"])
    for _ in range(o.retries):
        if a["noise"] < NOISE_PCT or not sched.may_retry():
            break
        log("other processes used %.0f%% of a CPU meanwhile (%s): once more"
            % (a["noise"], a["who"] or "short-lived"))
        wait_quiet(o, sched)
        b = attempt(proxy, fn, o, bins)
        errors += [e for e in b["errors"] if e not in errors]
        if b["noise"] < a["noise"]:
            a = b
    noisy = a["noise"] >= NOISE_PCT
    for k, v in a["values"].items():
        res.add(wl, k, key, v, noisy)
    if a["idle_mib"] is not None and wl not in ("logging", "capped"):
        res.add("start", "idle_mib", key, a["idle_mib"])
    for e in errors:
        res.errors.append((rep, wl, label, e))
    if a["noise"] >= NOISE_PCT:
        res.noise.append((rep, wl, label, a["noise"], a["who"]))


def measure(res, rep, wl, c, proxy, o, bins, labels, sched):
    if wl == "idle" and proxy is None:
        return
    cell(res, rep, wl, c, labels[c], proxy, WORKLOAD_FN[wl], o, bins, sched)


def measure_logging(res, rep, variant, proxy, o, bins, sched):
    cell(res, rep, "logging", variant,
         "%s, access log to %s" % (o.label, "/dev/null"
                                   if variant == "devnull" else "a file"),
         proxy, w_keepalive, o, bins, sched)


def measure_policy(res, rep, o, bins):
    log("rep %d: policy matching (bench_domain)" % rep)
    rc, out, err = run([bins["bench_domain"], str(o.domain_lookups)], 300,
                       cpu=PROXY_CPU)
    sizes = set()
    if rc != 0:
        res.errors.append((rep, "policy", "sluice",
                           "bench_domain failed: %s" % err.strip()[-200:]))
        return sizes
    for line in out.splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|"
                     r"\s*([\d.]+)\s*\|", line)
        if m:
            n = int(m.group(1))
            sizes.add(n)
            res.add("policy", "load_ms", n, float(m.group(2)))
            res.add("policy", "hit_ns", n, float(m.group(3)))
            res.add("policy", "miss_ns", n, float(m.group(4)))
    return sizes


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
