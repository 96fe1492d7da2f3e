#!/bin/sh
# tests/containers/run.sh - `sluice run` with real containers (podman).
#
# Builds local images without any registry (CONTAINERS.md): an agent and an
# upstream image from busybox-static, a DNS server image over the host's
# /usr (python3), and the sluice sidecar image from the built binary and the
# libraries ldd lists. The "internet" is upstream containers on an internal
# egress network, so no packet leaves the machine. Then:
#   1. a full session: the agent (agent.sh) reaches an allowlisted upstream
#      through the proxy (HTTP and CONNECT), is refused another with 403,
#      uses the fetch channel, reaches nothing directly, has no DNS, no
#      IPv6, no capabilities, a clean environment; its exit status passes
#      through; the summary and the access log show exactly its requests;
#   2. --workspace-copy and an --env file round trip;
#   3. a broken network (one with a gateway) makes the probe refuse;
#   4. Ctrl-C (SIGINT) during the agent: clean-up and 130;
#   5. bad input: one line, exit 2, nothing created;
#   6. --dry-run creates nothing;
#   7. the agent seccomp profile runs gcc, git, python3 (host /usr).
# Everything created is removed afterwards. Exit 77 (skip) only when podman
# cannot run containers here at all.
set -u

srcdir=${srcdir:-.}
here=$(cd "$srcdir/tests/containers" && pwd)
SLUICE=${SLUICE:-$PWD/sluice}
T=sluicet$$
tmp=""
failures=0
t_start=$(date +%s)

skip() {
    echo "SKIP: $*"
    exit 77
}
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
note() { echo "# $*"; }

[ "$(id -u)" = 0 ] || skip "needs root: rootful podman creates the internal networks"
command -v podman >/dev/null 2>&1 || skip "podman is not installed"
[ -x /bin/busybox ] || skip "busybox-static is not installed"
[ -x /usr/bin/python3 ] || skip "python3 is not installed (/usr/bin/python3)"
[ -x "$SLUICE" ] || { echo "FAIL: no sluice binary at $SLUICE"; exit 1; }
export CONTAINERS_CONF="$here/containers.conf"
podman info >/dev/null 2>&1 || skip "podman cannot run here: $(podman info 2>&1 | tail -1)"

tmp=$(mktemp -d /tmp/sluice-ct.XXXXXX)
chmod 755 "$tmp"
# A copy: a rebuild during the test must not swap the binary under it.
cp "$SLUICE" "$tmp/sluice"
SLUICE=$tmp/sluice

cleanup() {
    for c in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep -E "^(sluice-)?$T" ); do
        podman rm -f -t 0 --ignore "$c" >/dev/null 2>&1
    done
    for v in $(podman volume ls --format '{{.Name}}' 2>/dev/null | grep -E "^(sluice-)?$T"); do
        podman volume rm -f "$v" >/dev/null 2>&1
    done
    for n in $(podman network ls --format '{{.Name}}' 2>/dev/null | grep -E "^(sluice-)?$T"); do
        podman network rm -f "$n" >/dev/null 2>&1
    done
    for i in $(podman images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep "^localhost/$T-"); do
        podman rmi -f "$i" >/dev/null 2>&1
    done
    [ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# ---- images ---------------------------------------------------------------

# A busybox root: applets, a uid-1000 user, /tmp as real images have it.
bb_root() {
    mkdir -p "$1/bin" "$1/etc" "$1/tmp" "$1/proc" "$1/sys" "$1/dev" "$1/www"
    chmod 1777 "$1/tmp"
    cp /bin/busybox "$1/bin/busybox"
    for a in $(/bin/busybox --list); do
        [ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000:agent:/home/agent:/bin/sh\n' >"$1/etc/passwd"
    printf 'root:x:0:\nagent:x:1000:\n' >"$1/etc/group"
}

import() {
    tar -C "$1" -c . | podman import - "$2" >/dev/null 2>&1 || {
        echo "FAIL: podman import $2"
        exit 1
    }
}

t0=$(date +%s)
bb_root "$tmp/img-agent"
import "$tmp/img-agent" "localhost/$T-agent:latest"
podman run --rm --network none "localhost/$T-agent:latest" true >/dev/null 2>&1 ||
    skip "podman cannot run a container here: $(podman run --rm --network none "localhost/$T-agent:latest" true 2>&1 | tail -1)"

# The sidecar: sluice, its libraries, busybox for the probe.
bb_root "$tmp/img-sluice"
mkdir -p "$tmp/img-sluice/usr/bin"
cp "$SLUICE" "$tmp/img-sluice/usr/bin/sluice"
for lib in $(ldd "$SLUICE" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    mkdir -p "$tmp/img-sluice$(dirname "$lib")"
    cp -L "$lib" "$tmp/img-sluice$lib"
done
import "$tmp/img-sluice" "localhost/$T-sluice:latest"

# Python from the host's /usr, for the DNS server.
mkdir -p "$tmp/img-usr/usr" "$tmp/img-usr/etc" "$tmp/img-usr/tmp" "$tmp/img-usr/proc" "$tmp/img-usr/sys" "$tmp/img-usr/dev"
chmod 1777 "$tmp/img-usr/tmp"
for d in bin lib lib64 sbin; do ln -s "usr/$d" "$tmp/img-usr/$d"; done
cp "$tmp/img-agent/etc/passwd" "$tmp/img-agent/etc/group" "$tmp/img-usr/etc/"
import "$tmp/img-usr" "localhost/$T-usr:latest"
note "images built in $(($(date +%s) - t0)) s"

# ---- the "internet": upstreams and DNS on an internal egress network ------

podman network create --internal --disable-dns "$T-egress" >/dev/null || { echo "FAIL: egress network"; exit 1; }
egress_subnet=$(podman network inspect --format '{{range .Subnets}}{{.Subnet}}{{end}}' "$T-egress")

upstream() { # NAME BODY
    podman run -d --name "$T-$1" --network "$T-egress" "localhost/$T-agent:latest" \
        sh -c "mkdir -p /tmp/www && echo $2 > /tmp/www/index.html && httpd -p 80 -h /tmp/www && httpd -f -p 443 -h /tmp/www" >/dev/null ||
        { echo "FAIL: upstream $1"; exit 1; }
    podman inspect --format "{{(index .NetworkSettings.Networks \"$T-egress\").IPAddress}}" "$T-$1"
}
ip_allowed=$(upstream allowed allowed-origin)
ip_blocked=$(upstream blocked blocked-origin)
ip_fetch=$(upstream fetch fetch-origin)
podman run -d --name "$T-dns" --network "$T-egress" -v /usr:/usr:ro \
    -v "$here/dns.py:/dns.py:ro" "localhost/$T-usr:latest" \
    /usr/bin/python3 /dns.py "allowed.test=$ip_allowed" "blocked.test=$ip_blocked" "fetch.test=$ip_fetch" >/dev/null ||
    { echo "FAIL: dns container"; exit 1; }
ip_dns=$(podman inspect --format "{{(index .NetworkSettings.Networks \"$T-egress\").IPAddress}}" "$T-dns")
note "egress $egress_subnet: allowed $ip_allowed, blocked $ip_blocked, fetch $ip_fetch, dns $ip_dns"

cat >"$tmp/policy.yaml" <<POLICY
version: 1
listeners:
  - name: agent
    listen: 127.0.0.1:3128
    tiers: [core]
resolver:
  servers: ["$ip_dns"]
network:
  allow_ranges: ["$egress_subnet"]
tiers:
  core:
    domains: [allowed.test]
    ports: [80, 443]
  fetch:
    domains: [fetch.test]
    ports: [80]
POLICY

export XDG_STATE_HOME="$tmp/state"
common="--engine podman -c $tmp/policy.yaml --proxy-image localhost/$T-sluice:latest --egress-network $T-egress"

# Nothing of session $1 may remain in the engine.
no_leftovers() {
    left=$(podman ps -a --filter "label=sluice.session=$1" --format '{{.Names}}'
        podman network ls --filter "label=sluice.session=$1" --format '{{.Name}}'
        podman volume ls --filter "label=sluice.session=$1" --format '{{.Name}}')
    [ -z "$left" ] && pass "$2: nothing left behind" || fail "$2: left behind: $left"
}

# ---- 1. a full session -------------------------------------------------------

S1=$T-main
ws="$tmp/ws"
mkdir -p "$ws"
cp "$here/agent.sh" "$ws/agent.sh"
chown -R 1000:1000 "$ws"
t0=$(date +%s)
HTTPS_PROXY=http://leak.invalid:9 HTTP_PROXY=http://leak.invalid:9 \
    https_proxy=http://leak.invalid:9 NO_PROXY=leak.invalid SLUICE_TEST_LEAK=1 \
    "$SLUICE" run $common --session "$S1" --workspace "$ws" \
    --probe-target "$ip_allowed:80" --probe-target "$ip_dns:53" \
    --memory 256m --pids 128 --cpus 1 --env TESTVAR=hello --env "UPSTREAM=$ip_allowed" \
    "localhost/$T-agent:latest" sh /workspace/agent.sh >"$tmp/s1.out" 2>"$tmp/s1.err"
rc=$?
note "session 1 took $(($(date +%s) - t0)) s"
sed 's/^/  | /' "$tmp/s1.err"
[ $rc -eq 7 ] && pass "agent exit status 7 passes through" || fail "exit status $rc, want 7"
grep -q "containment probe passed" "$tmp/s1.err" && pass "probe passed" || fail "probe did not pass"
if [ -f "$ws/results" ]; then
    grep '^FAIL' "$ws/results" | while read -r line; do echo "FAIL: agent: ${line#FAIL }"; done
    nfail=$(grep -c '^FAIL' "$ws/results")
    nok=$(grep -c '^ok' "$ws/results")
    [ "$nfail" -eq 0 ] && pass "agent: $nok checks hold" || failures=$((failures + nfail))
    grep -q '^done' "$ws/results" || fail "agent script did not finish"
else
    fail "agent wrote no results"
fi

st="$tmp/state/sluice/$S1"
log="$st/run/access.jsonl"
if [ -f "$log" ]; then
    # Exactly the agent's five requests, in a stable rendering.
    python3 - "$log" >"$tmp/s1.access" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event") != "access":
        continue
    print(r["session"], r["listener"], r["method"], r["host"], r["port"],
          r["decision"], r["reason"], r["tier"])
PY
    sort "$tmp/s1.access" >"$tmp/s1.got"
    sort >"$tmp/s1.want" <<WANT
$S1 agent GET allowed.test 80 allow allowed core
$S1 agent CONNECT allowed.test 443 allow allowed core
$S1 agent GET blocked.test 80 deny not_allowlisted None
$S1 fetch GET fetch.test 80 allow allowed fetch
$S1 agent GET fetch.test 80 deny not_allowlisted None
WANT
    if cmp -s "$tmp/s1.got" "$tmp/s1.want"; then
        pass "access log holds exactly the agent's 5 requests"
    else
        fail "access log differs:"
        diff "$tmp/s1.want" "$tmp/s1.got" | sed 's/^/  /'
    fi
else
    fail "no access log at $log"
fi
grep -q "session $S1: 3 allowed, 2 denied" "$tmp/s1.err" && pass "summary counts" || fail "summary counts"
grep -Eq "blocked.test +1 +not_allowlisted" "$tmp/s1.err" && grep -Eq "fetch.test +1 +not_allowlisted" "$tmp/s1.err" &&
    pass "summary lists the denied hosts" || fail "summary denied hosts"
grep -Eq "^ +core +2 +0 " "$tmp/s1.err" && grep -Eq "^ +fetch +1 +0 " "$tmp/s1.err" &&
    pass "summary per tier" || fail "summary per tier"
[ ! -e "$st/agent.env" ] && [ ! -e "$st/config/tokens" ] && pass "token files removed" || fail "token files left in $st"
no_leftovers "$S1" "session 1"

# ---- 2. --workspace-copy, --keep, a policy with basic auth -----------------

# The sidecar keeps the policy's auth.mode: with basic, the agent's
# credentials (the session's token, in its proxy variables) must be
# accepted; the session in the log then comes from them.
S2=$T-copy
ws2="$tmp/ws2"
mkdir -p "$ws2"
echo from-host >"$ws2/input.txt"
: >"$tmp/gw-tokens"
{ cat "$tmp/policy.yaml"; printf 'auth:\n  mode: basic\n  tokens_file: %s\n' "$tmp/gw-tokens"; } >"$tmp/policy-basic.yaml"
t0=$(date +%s)
"$SLUICE" run $common -c "$tmp/policy-basic.yaml" --session "$S2" --workspace "$ws2" --workspace-copy --keep \
    --env "GREETING=a b'c" --memory 128m "localhost/$T-agent:latest" \
    sh -c 'test "$(cat /workspace/input.txt)" = from-host && echo changed > /workspace/input.txt && test "$GREETING" = "a b'"'"'c" && test "$(wget -q -O - http://allowed.test/)" = allowed-origin && exit 3' \
    >"$tmp/s2.out" 2>"$tmp/s2.err"
rc=$?
note "session 2 took $(($(date +%s) - t0)) s"
[ $rc -eq 3 ] && pass "workspace copied in, env value kept verbatim, credentials accepted" || { fail "workspace-copy run: exit $rc"; sed 's/^/  | /' "$tmp/s2.err"; }
grep -q "\"session\":\"$S2\".*\"host\":\"allowed.test\".*\"decision\":\"allow\"" "$tmp/state/sluice/$S2/run/access.jsonl" &&
    pass "basic auth: the request is logged under the session" || fail "basic auth: no allowed line for $S2"
[ "$(cat "$ws2/input.txt")" = from-host ] && pass "the host folder was not written" || fail "host folder changed"
podman container exists "sluice-$S2-proxy" && podman network exists "sluice-$S2-int" &&
    pass "--keep leaves the sidecar and the network" || fail "--keep removed the sidecar or network"
podman container exists "sluice-$S2-agent" && fail "--keep left the agent" || pass "--keep removes the agent"
podman volume exists "sluice-$S2-workspace" && fail "--keep left the workspace volume" || pass "--keep removes the volume"
podman rm -f -t 0 "sluice-$S2-proxy" >/dev/null 2>&1
podman network rm -f "sluice-$S2-int" >/dev/null 2>&1
no_leftovers "$S2" "session 2 (after removing what --keep kept)"

# ---- 3. a broken network: the probe refuses ---------------------------------

# An internal network with a gateway: the host gets an address on the
# bridge, which the agent could reach. Pick a free /24.
S3=$T-broken
n=200
while [ $n -lt 250 ]; do
    podman network create --internal --disable-dns --subnet "10.89.$n.0/24" \
        --gateway "10.89.$n.1" "$T-brokennet" >/dev/null 2>&1 && break
    n=$((n + 1))
done
ws3="$tmp/ws3"
mkdir -p "$ws3"
chown 1000:1000 "$ws3"
t0=$(date +%s)
"$SLUICE" run $common --session "$S3" --network "$T-brokennet" --workspace "$ws3" \
    "localhost/$T-agent:latest" touch /workspace/STARTED >"$tmp/s3.out" 2>"$tmp/s3.err"
rc=$?
note "session 3 took $(($(date +%s) - t0)) s"
sed 's/^/  | /' "$tmp/s3.err"
[ $rc -eq 1 ] && pass "broken network: exit 1" || fail "broken network: exit $rc, want 1"
grep -q "OPEN PATH: host address 10.89.$n.1" "$tmp/s3.err" && pass "the probe names the open path" || fail "probe did not name 10.89.$n.1"
grep -q "refusing to start the agent" "$tmp/s3.err" && pass "refused" || fail "no refusal"
[ ! -e "$ws3/STARTED" ] && pass "the agent never ran" || fail "the agent ran"
[ ! -e "$tmp/state/sluice/$S3" ] && pass "no state left" || fail "state left: $(ls -R "$tmp/state/sluice/$S3")"
no_leftovers "$S3" "session 3"
podman network exists "$T-brokennet" && pass "the user's network is kept" || fail "the user's network was removed"
podman network rm -f "$T-brokennet" >/dev/null 2>&1

# ---- 3b. the probe script sees open paths ---------------------------------

# Run directly on the egress network, where a DNS server and an upstream
# are reachable, with IPv6 left on: each must be named.
out=$(podman run --rm --name "$T-probecheck" --network "$T-egress" --dns none \
    --user 1000:1000 --entrypoint /bin/busybox "localhost/$T-sluice:latest" \
    sh -c "$(cat "$srcdir/container/probe.sh")" sluice-probe \
    "dns|the test resolver|$ip_dns|" "block|an upstream|$ip_allowed|22,80" \
    "reach|an upstream|$ip_allowed|80" "block|a silent address|$ip_allowed|9" 2>&1)
for want in "FAIL the test resolver $ip_dns answers DNS over UDP" \
    "FAIL an upstream $ip_allowed is reachable: tcp port 22 answered" \
    "ok an upstream $ip_allowed reachable on tcp 80" \
    "FAIL a silent address $ip_allowed is reachable: tcp port 9 answered" \
    "FAIL IPv6 addresses present" "ok no DNS server in /etc/resolv.conf" "done"; do
    case $out in *"$want"*) pass "probe script: $want" ;; *) fail "probe script: no '$want' in: $out" ;; esac
done

# ---- 4. Ctrl-C during the agent ---------------------------------------------

S4=$T-intr
t0=$(date +%s)
"$SLUICE" run $common --session "$S4" "localhost/$T-agent:latest" sleep 60 \
    >"$tmp/s4.out" 2>"$tmp/s4.err" </dev/null &
pid=$!
i=0
while [ $i -lt 100 ]; do
    [ "$(podman inspect --format '{{.State.Running}}' "sluice-$S4-agent" 2>/dev/null)" = true ] && break
    sleep 0.1
    i=$((i + 1))
done
kill -INT $pid
wait $pid
rc=$?
note "session 4 took $(($(date +%s) - t0)) s"
[ $rc -eq 130 ] && pass "SIGINT: exit 130" || { fail "SIGINT: exit $rc, want 130"; sed 's/^/  | /' "$tmp/s4.err"; }
grep -q "session $S4: 0 allowed, 0 denied" "$tmp/s4.err" && pass "SIGINT: summary printed" || fail "SIGINT: no summary"
no_leftovers "$S4" "session 4"

# ---- 5. bad input -------------------------------------------------------------

printf 'version: 1\nlisteners: []\n' >"$tmp/bad.yaml"
printf 'version: 1\n' >"$tmp/unreadable.yaml"
chmod 000 "$tmp/unreadable.yaml"
bad() { # NAME PATTERN ARGS...
    name=$1 pattern=$2
    shift 2
    "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"
    rc=$?
    lines=$(wc -l <"$tmp/bad.err")
    if [ $rc -eq 2 ] && [ "$lines" -eq 1 ] && grep -q "$pattern" "$tmp/bad.err"; then
        pass "bad input: $name: $(cat "$tmp/bad.err")"
    else
        fail "bad input: $name: exit $rc, $lines lines: $(cat "$tmp/bad.err")"
    fi
}
bad "unknown engine" "unknown engine" "$SLUICE" run --engine lxc --session "$T-bad" img
bad "missing image" "missing IMAGE" "$SLUICE" run --engine podman --session "$T-bad"
bad "unreadable policy" "cannot read" "$SLUICE" run --engine podman -c "$tmp/nope.yaml" --session "$T-bad" img
if [ "$(id -u)" != 0 ]; then
    bad "unreadable policy (mode)" "cannot read" "$SLUICE" run --engine podman -c "$tmp/unreadable.yaml" --session "$T-bad" img
fi
bad "policy failing check" "bad.yaml:2" "$SLUICE" run --engine podman -c "$tmp/bad.yaml" --session "$T-bad" img
bad "engine not installed" "podman is not installed" env PATH=/nonexistent "$SLUICE" run --engine podman --session "$T-bad" img
if command -v docker >/dev/null 2>&1 && ! docker version >/dev/null 2>&1; then
    bad "engine not running" "docker is installed but not running" "$SLUICE" run --engine docker --session "$T-bad" img
fi
bad "image not found" "image localhost/$T-nosuch:latest not found" "$SLUICE" run $common --session "$T-bad" "localhost/$T-nosuch:latest"
bad "proxy image not found" "proxy image" "$SLUICE" run --engine podman --proxy-image "localhost/$T-nosuch:1" --session "$T-bad" "localhost/$T-agent:latest"
bad "unknown tier" "no such tier" "$SLUICE" run $common --tier nope --session "$T-bad" "localhost/$T-agent:latest"
bad "bad --env" "KEY=VALUE" "$SLUICE" run $common --env HOME --session "$T-bad" "localhost/$T-agent:latest"
bad "proxy variable in --env" "proxy variables" "$SLUICE" run $common --env https_proxy=x --session "$T-bad" "localhost/$T-agent:latest"
[ ! -e "$tmp/state/sluice/$T-bad" ] && pass "bad input: no state folder" || fail "bad input left a state folder"
no_leftovers "$T-bad" "bad input"

# ---- 6. --dry-run -------------------------------------------------------------

"$SLUICE" run $common --dry-run --session "$T-dry" "localhost/$T-agent:latest" sh >"$tmp/dry.out" 2>"$tmp/dry.err"
rc=$?
cmds=$(grep -vc '^#' "$tmp/dry.out")
others=$(grep -v '^#' "$tmp/dry.out" | grep -vc '^podman ')
[ $rc -eq 0 ] && [ "$cmds" -ge 10 ] && [ "$others" -eq 0 ] && pass "dry-run: $cmds podman commands" || fail "dry-run: exit $rc, $cmds commands, $others others"
grep -q "^podman network create --internal --disable-dns" "$tmp/dry.out" && grep -q "^podman run --rm --name sluice-$T-dry-probe" "$tmp/dry.out" &&
    pass "dry-run lists the network and the probe" || fail "dry-run misses the network or the probe"
grep -q "$(printf '%s' "token")" "$tmp/dry.out" && ! grep -Eq '[0-9a-f]{64}' "$tmp/dry.out" && pass "dry-run hides the token" || fail "dry-run shows a token"
[ ! -e "$tmp/state/sluice/$T-dry" ] && pass "dry-run: no state folder" || fail "dry-run wrote state"
no_leftovers "$T-dry" "dry-run"

# ---- 7. the agent seccomp profile is fit for real tools ---------------------

if [ -x /usr/bin/gcc ] && [ -x /usr/bin/git ]; then
    out=$(podman run --rm --network none --init --user 1000:1000 --cap-drop=ALL \
        --security-opt no-new-privileges --security-opt "seccomp=$srcdir/container/seccomp/agent.json" \
        --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,size=256m,mode=1777,U \
        -e HOME=/tmp -v /usr:/usr:ro -w /tmp "localhost/$T-usr:latest" sh -c '
        printf "int main(void){return 0;}\n" >t.c && gcc -O2 t.c -o t && ./t && echo gcc-ok
        git init -q r && cd r && git -c user.email=a@b -c user.name=a commit -q --allow-empty -m x && echo git-ok && cd ..
        python3 -c "import subprocess, multiprocessing; subprocess.run([\"true\"], check=True); print(\"python-ok\")"
        unshare -U true 2>/dev/null || echo unshare-denied' 2>&1)
    for w in gcc-ok git-ok python-ok unshare-denied; do
        case $out in *$w*) pass "seccomp agent.json: $w" ;; *) fail "seccomp agent.json: no $w: $out" ;; esac
    done
else
    note "gcc or git missing: seccomp fitness check skipped"
fi

note "total $(($(date +%s) - t_start)) s, $failures failures"
[ $failures -eq 0 ]
