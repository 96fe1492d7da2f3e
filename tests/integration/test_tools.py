"""Real clients through the proxy, as agents use them.  Names (*.test)
resolve only through the proxy's resolver (the test DNS) to 127.0.0.2; the
tools never resolve anything themselves.

A case is skipped only when its tool is missing.  Debian packages:
curl (curl), wget (wget), git (git), pip (python3-pip), npm (npm).
"""

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest
import urllib.error
import urllib.request
import zipfile

import harness as H


def run(args, env, cwd=None, timeout=60):
    p = subprocess.run(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p


def make_wheel(path):
    name, ver = "tinypkg", "1.0"
    files = {
        "tinypkg/__init__.py": b"VALUE = 42\n",
        "%s-%s.dist-info/METADATA" % (name, ver):
            b"Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\nSummary: test\n",
        "%s-%s.dist-info/WHEEL" % (name, ver):
            b"Wheel-Version: 1.0\nGenerator: sluice-it\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for n, data in files.items():
        d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (n, d, len(data)))
    record.append("%s-%s.dist-info/RECORD,," % (name, ver))
    files["%s-%s.dist-info/RECORD" % (name, ver)] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)


def make_npm_tarball():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for n, data in (("package/package.json",
                         json.dumps({"name": "tiny-pkg", "version": "1.0.0",
                                     "main": "index.js"}).encode()),
                        ("package/index.js", b"module.exports = 42;\n")):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


class Tools(H.ProxyTestCase):
    TIERS = {"dev": {"domains": [".test"], "ports": [80, 443]}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="tools-", dir=cls.env.tmp)
        cls.home = os.path.join(cls.tmp, "home")
        os.mkdir(cls.home)
        cls.tenv = H.tools_env(cls.home)
        cls.ca = cls.env.ca.ca
        cls.purl = cls.proxy.url()
        cls.origin.add_route("/hello.txt", b"hello through sluice\n", "text/plain")
        # git: a bare repo served dumb-HTTP
        if H.have("git"):
            src = os.path.join(cls.tmp, "gitsrc")
            root = os.path.join(cls.tmp, "gitroot")
            os.makedirs(root)
            g = dict(cls.tenv, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
                     GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
            subprocess.run(["git", "init", "-q", "-b", "main", src], env=g, check=True)
            with open(os.path.join(src, "README"), "w") as f:
                f.write("served by the sluice test origin\n")
            subprocess.run(["git", "-C", src, "add", "README"], env=g, check=True)
            subprocess.run(["git", "-C", src, "commit", "-q", "-m", "init"], env=g, check=True)
            bare = os.path.join(root, "repo.git")
            subprocess.run(["git", "clone", "-q", "--bare", src, bare], env=g, check=True)
            subprocess.run(["git", "-C", bare, "update-server-info"], env=g, check=True)
            cls.origin.mount("/git/", root)
        # pip: a "simple" index
        pypi = os.path.join(cls.tmp, "pypi")
        os.makedirs(os.path.join(pypi, "files"))
        os.makedirs(os.path.join(pypi, "simple", "tinypkg"))
        whl = os.path.join(pypi, "files", "tinypkg-1.0-py3-none-any.whl")
        make_wheel(whl)
        digest = hashlib.sha256(open(whl, "rb").read()).hexdigest()
        with open(os.path.join(pypi, "simple", "tinypkg", "index.html"), "w") as f:
            f.write('<!DOCTYPE html><html><body><a href="../../files/'
                    'tinypkg-1.0-py3-none-any.whl#sha256=%s">tinypkg-1.0-py3-none-any.whl'
                    '</a></body></html>\n' % digest)
        with open(os.path.join(pypi, "simple", "index.html"), "w") as f:
            f.write('<html><body><a href="tinypkg/">tinypkg</a></body></html>\n')
        cls.origin.mount("/pypi/", pypi)
        # npm: a one-package registry
        tgz = make_npm_tarball()
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
        packument = {
            "name": "tiny-pkg", "dist-tags": {"latest": "1.0.0"},
            "versions": {"1.0.0": {
                "name": "tiny-pkg", "version": "1.0.0", "main": "index.js",
                "dist": {"tarball": "https://npm.test/npm/tiny-pkg/-/tiny-pkg-1.0.0.tgz",
                         "shasum": hashlib.sha1(tgz).hexdigest(),
                         "integrity": integrity}}}}
        cls.origin.add_route("/npm/tiny-pkg", json.dumps(packument).encode(), "application/json")
        cls.origin.add_route("/npm/tiny-pkg/-/tiny-pkg-1.0.0.tgz", tgz,
                             "application/octet-stream")

    def need(self, tool):
        if not H.have(tool):
            self.skipTest("%s not installed" % tool)

    def lines_since(self, m, hosts, methods=None, wait=0.3):
        """All access lines after m (waits a little for tunnel ends): all
        allowed, covering `hosts` (and `methods`)."""
        import time
        time.sleep(wait)
        lines = self.proxy.access()[m:]
        self.assertTrue(lines, "no access line")
        for l in lines:
            H.check_access_schema(l)
            self.assertEqual(l["decision"], "allow", "denied: %s" % json.dumps(l))
        self.assertTrue(set(hosts) <= {l["host"] for l in lines},
                        "hosts %r not all in log %r" % (hosts, [l["host"] for l in lines]))
        if methods:
            self.assertTrue(set(methods) <= {l["method"] for l in lines})
        return lines

    def assertRan(self, p, what):
        if p.returncode != 0:
            self.fail("%s exited %d\nstdout: %s\nstderr: %s"
                      % (what, p.returncode, p.stdout[-2000:].decode("utf-8", "replace"),
                         p.stderr[-3000:].decode("utf-8", "replace")))

    # ---- curl (Debian: curl)
    def test_curl_http(self):
        self.need("curl")
        m = self.proxy.mark()
        p = run(["curl", "-sS", "--fail", "--max-time", "20", "-x", self.purl,
                 "http://tls.test/hello.txt"], self.tenv)
        self.assertRan(p, "curl http")
        self.assertEqual(p.stdout, b"hello through sluice\n")
        self.lines_since(m, ["tls.test"], ["GET"])

    def test_curl_https_connect(self):
        self.need("curl")
        m = self.proxy.mark()
        p = run(["curl", "-sS", "--fail", "--max-time", "20", "-x", self.purl,
                 "--cacert", self.ca, "https://tls.test/hello.txt"], self.tenv)
        self.assertRan(p, "curl https")
        self.assertEqual(p.stdout, b"hello through sluice\n")
        lines = self.lines_since(m, ["tls.test"], ["CONNECT"])
        self.assertEqual(lines[0]["port"], 443)

    def test_curl_credentials_not_forwarded(self):
        self.need("curl")
        purl = self.proxy.url(userinfo="agentuser:s3cret@")
        for url, extra in (("http://tls.test/echo", []),
                           ("https://tls.test/echo", ["--cacert", self.ca])):
            with self.subTest(url=url):
                m = self.proxy.mark()
                p = run(["curl", "-sS", "--fail", "--max-time", "20", "-x", purl] + extra
                        + [url], self.tenv)
                self.assertRan(p, "curl with proxy credentials")
                echo = json.loads(p.stdout)
                leaked = [h for h in echo["headers"]
                          if h[0].lower() == "proxy-authorization" or "s3cret" in h[1]
                          or "YWdlbnR1c2VyOnMzY3JldA" in h[1]]
                self.assertEqual(leaked, [], "proxy credentials reached the origin")
                self.lines_since(m, ["tls.test"])

    def test_curl_denied_host(self):
        self.need("curl")
        p = run(["curl", "-sS", "--max-time", "20", "-x", self.purl, "-o", os.devnull,
                 "-w", "%{http_code}", "http://nope.invalid/"], self.tenv)
        self.assertEqual(p.stdout, b"403")
        p = run(["curl", "-sS", "--max-time", "20", "-x", self.purl, "--cacert", self.ca,
                 "https://nope.invalid/"], self.tenv)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"403", p.stderr)

    def test_curl_upload_expect_100_continue(self):
        self.need("curl")
        f = os.path.join(self.tmp, "up.bin")
        with open(f, "wb") as out:
            out.write(H.payload(3 << 20, 21))
        p = run(["curl", "-sS", "--fail", "--max-time", "30", "-x", self.purl, "-T", f,
                 "http://tls.test/upload"], self.tenv)
        self.assertRan(p, "curl -T")
        self.assertEqual(json.loads(p.stdout),
                         {"length": 3 << 20, "sha256": H.payload_sha256(3 << 20, 21)})

    # ---- wget (Debian: wget)
    def test_wget_http_and_https(self):
        self.need("wget")
        for url in ("http://tls.test/hello.txt", "https://tls.test/hello.txt"):
            with self.subTest(url=url):
                p = run(["wget", "-q", "-O", "-", "-T", "20", "-t", "1",
                         "-e", "use_proxy=yes", "-e", "http_proxy=" + self.purl,
                         "-e", "https_proxy=" + self.purl,
                         "--ca-certificate=" + self.ca, url], self.tenv)
                self.assertRan(p, "wget " + url)
                self.assertEqual(p.stdout, b"hello through sluice\n")

    # ---- python urllib (stdlib)
    def test_python_urllib(self):
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": self.purl, "https": self.purl}),
            urllib.request.HTTPSHandler(context=self.env.ca.client_context()))
        for url in ("http://tls.test/hello.txt", "https://tls.test/hello.txt"):
            with self.subTest(url=url):
                with opener.open(url, timeout=10) as resp:
                    self.assertEqual(resp.read(), b"hello through sluice\n")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            opener.open("http://nope.invalid/", timeout=10)
        self.assertEqual(cm.exception.code, 403)
        self.assertEqual(cm.exception.headers.get("Sluice-Reason"), "not_allowlisted")

    # ---- git (Debian: git)
    def test_git_clone_dumb_http_and_https(self):
        self.need("git")
        for scheme in ("http", "https"):
            with self.subTest(scheme=scheme):
                m = self.proxy.mark()
                dest = os.path.join(self.tmp, "clone-" + scheme)
                p = run(["git", "-c", "http.proxy=" + self.purl, "-c", "http.sslCAInfo=" + self.ca,
                         "clone", "-q", "%s://git.test/git/repo.git" % scheme, dest], self.tenv)
                self.assertRan(p, "git clone " + scheme)
                with open(os.path.join(dest, "README")) as f:
                    self.assertEqual(f.read(), "served by the sluice test origin\n")
                self.lines_since(m, ["git.test"])

    # ---- pip (Debian: python3-pip)
    def test_pip_download_from_simple_index(self):
        try:
            import pip  # noqa: F401
        except ImportError:
            self.skipTest("pip not installed")
        m = self.proxy.mark()
        dest = os.path.join(self.tmp, "pipdl")
        e = dict(self.tenv, PIP_INDEX_URL="https://pypi.test/pypi/simple/")
        p = run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", dest,
                 "--cert", self.ca, "--proxy", self.purl, "--timeout", "15",
                 "--retries", "0", "tinypkg==1.0"], e, timeout=90)
        self.assertRan(p, "pip download")
        self.assertEqual(os.listdir(dest), ["tinypkg-1.0-py3-none-any.whl"])
        self.lines_since(m, ["pypi.test"], ["CONNECT"])

    # ---- npm (Debian: npm)
    def test_npm_install_from_fake_registry(self):
        self.need("npm")
        m = self.proxy.mark()
        proj = os.path.join(self.tmp, "npmproj")
        os.makedirs(proj)
        with open(os.path.join(proj, "package.json"), "w") as f:
            f.write('{"name": "proj", "version": "1.0.0", "private": true}\n')
        p = run(["npm", "install", "tiny-pkg@1.0.0", "--registry", "https://npm.test/npm/",
                 "--proxy", self.purl, "--https-proxy", self.purl, "--cafile", self.ca,
                 "--cache", os.path.join(self.tmp, "npmcache"), "--no-audit", "--no-fund",
                 "--ignore-scripts", "--no-package-lock", "--fetch-retries", "0",
                 "--loglevel", "error"], self.tenv, cwd=proj, timeout=120)
        self.assertRan(p, "npm install")
        with open(os.path.join(proj, "node_modules", "tiny-pkg", "package.json")) as f:
            self.assertEqual(json.load(f)["version"], "1.0.0")
        self.lines_since(m, ["npm.test"], ["CONNECT"])
