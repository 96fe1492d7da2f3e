# tests/containers/agent.sh - what the agent does in the container test.
# Runs as the agent (busybox sh, uid 1000) behind `sluice run`. Writes one
# line per check to /workspace/results ("ok NAME" or "FAIL NAME: why") and
# exits 7, so the test also sees the exit status pass through.
# UPSTREAM (an upstream container's address) comes in with --env.
R=/workspace/results
: > $R
ok() { echo "ok $1" >> $R; }
no() { echo "FAIL $1: $2" >> $R; }
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else no "$name" "$*"; fi; }

# The proxy from the environment sluice set: http://ID:TOKEN@ADDR:PORT
hp=${HTTP_PROXY#http://}
creds=${hp%@*}
hostport=${hp#*@}
phost=${hostport%:*}
pport=${hostport##*:}
auth=$(printf '%s' "$creds" | base64 -w 0)

# (busybox 1.35 wget crashes with -T and a proxy: timeout(1) bounds it.)
# Through the proxy: HTTP forwarding and a CONNECT tunnel to an
# allowlisted upstream.
body=$(timeout 10 wget -q -O - http://allowed.test/ 2>&1)
[ "$body" = allowed-origin ] && ok http-allowed || no http-allowed "got: $body"

reply=$({ printf 'CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\nProxy-Authorization: Basic %s\r\n\r\n' "$auth"
          sleep 1
          printf 'GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n'
          sleep 1; } | timeout 8 nc "$phost" "$pport" 2>&1)
case $reply in
"HTTP/1.1 200"*allowed-origin*) ok connect-allowed ;;
*) no connect-allowed "got: $(echo "$reply" | head -3)" ;;
esac

# Not on the allowlist: 403 with the reason.
out=$(timeout 10 wget -S -O - http://blocked.test/ 2>&1)
case $out in
*403*) ok http-denied ;;
*) no http-denied "got: $out" ;;
esac

# The fetch channel reaches what the core channel may not.
body=$(http_proxy=$SLUICE_FETCH_PROXY timeout 10 wget -q -O - http://fetch.test/ 2>&1)
[ "$body" = fetch-origin ] && ok fetch-channel || no fetch-channel "got: $body (SLUICE_FETCH_PROXY=${SLUICE_FETCH_PROXY:+set})"
out=$(timeout 10 wget -S -O - http://fetch.test/ 2>&1)
case $out in *403*) ok fetch-not-on-core ;; *) no fetch-not-on-core "got: $out" ;; esac

# Nothing directly: the upstream by address, the proxy's own host on
# another port, any DNS.
out=$(timeout 5 nc -w 2 "$UPSTREAM" 80 </dev/null 2>&1)
case $out in *unreachable*) ok direct-unreachable ;; *) no direct-unreachable "nc said: $out" ;; esac
if grep -q nameserver /etc/resolv.conf 2>/dev/null; then no no-resolv-conf "$(cat /etc/resolv.conf)"; else ok no-resolv-conf; fi
out=$(timeout 5 nslookup allowed.test 2>&1)
case $out in *"no servers could be reached"*) ok no-dns ;; *) no no-dns "$out" ;; esac
if grep -q . /proc/net/if_inet6; then no no-ipv6 "$(cat /proc/net/if_inet6)"; else ok no-ipv6; fi
if awk 'NR > 1 && $2 == "00000000"' /proc/net/route | grep -q .; then no no-default-route "$(cat /proc/net/route)"; else ok no-default-route; fi

# No capabilities, no privilege gain, a seccomp filter, not root.
for f in CapInh CapPrm CapEff CapBnd CapAmb; do
    v=$(awk -v f="$f:" '$1 == f { print $2 }' /proc/self/status)
    [ "$v" = 0000000000000000 ] && ok "$f-empty" || no "$f-empty" "$v"
done
[ "$(awk '$1 == "NoNewPrivs:" { print $2 }' /proc/self/status)" = 1 ] && ok no-new-privs || no no-new-privs "not set"
[ "$(awk '$1 == "Seccomp:" { print $2 }' /proc/self/status)" = 2 ] && ok seccomp-filter || no seccomp-filter "not filtered"
[ "$(id -u)" = 1000 ] && ok uid-1000 || no uid-1000 "$(id)"
out=$(unshare -U true 2>&1) && no unshare-denied "unshare worked" || ok unshare-denied

# Environment hygiene: only what sluice and --env set.
case $HTTPS_PROXY in *leak*) no env-https-proxy "$HTTPS_PROXY" ;; http://*@"$phost":3128) ok env-https-proxy ;; *) no env-https-proxy "$HTTPS_PROXY" ;; esac
[ -z "$NO_PROXY" ] && [ -z "$no_proxy" ] && ok env-no-proxy-empty || no env-no-proxy-empty "NO_PROXY=$NO_PROXY no_proxy=$no_proxy"
[ -z "$SLUICE_TEST_LEAK" ] && ok env-no-host-vars || no env-no-host-vars "SLUICE_TEST_LEAK=$SLUICE_TEST_LEAK"
env | grep -q leak.invalid && no env-no-leak "$(env | grep leak)" || ok env-no-leak
[ "$TESTVAR" = hello ] && ok env-user-var || no env-user-var "TESTVAR=$TESTVAR"

# Read-only root, writable scratch places, no engine socket.
touch /etc/sluice-test 2>/dev/null && no read-only-root "wrote /etc" || ok read-only-root
check tmp-writable touch /tmp/x
check home-writable touch "$HOME/x"
check workspace-writable touch /workspace/agent-was-here
[ -e /run/podman/podman.sock ] || [ -e /var/run/docker.sock ] && no no-engine-socket "found one" || ok no-engine-socket

echo done >> $R
exit 7
