# container/probe.sh - the containment probe of `sluice run` (SPEC 8).
#
# Runs with busybox sh in a short-lived container that has exactly the
# agent's network settings, before the agent starts. The launcher embeds
# this file and runs it as
#   busybox sh -c "$(cat probe.sh)" sluice-probe DIRECTIVE...
# Each DIRECTIVE is KIND|LABEL|ADDR|PORTS:
#   reach|LABEL|ADDR|PORTS  a TCP connection to every port must succeed
#   block|LABEL|ADDR|PORTS  no port may accept or refuse a connection:
#                           a refusal is an answer, so a path is open
#   dns|LABEL|ADDR|         no DNS answer over UDP or TCP port 53
# Fixed checks: no IPv4 route through a gateway (default route included),
# no IPv6 address, no DNS server configured, the system resolver fails.
# Output: one line per check, "ok ..." or "FAIL ...", then "done".
# The probe only sends to the addresses it is given and to the servers
# named in the container's own /etc/resolv.conf; it never picks an
# outside address by itself.

bb=/bin/busybox
# Seconds: connect timeout, and the hard limit of one attempt (a
# connection that opens and then stays silent is killed, and counts as
# open).
cto=1
hard=3
qname=sluice-probe.invalid

ok() { echo "ok $*"; }
fail() { echo "FAIL $*"; }

# Link-local IPv6 needs a zone: try it on every interface but lo.
targets() {
    case $1 in
    fe80:*|FE80:*)
        case $1 in *%*) echo "$1"; return ;; esac
        for i in $($bb ls /sys/class/net); do
            [ "$i" = lo ] || echo "$1%$i"
        done
        ;;
    *) echo "$1" ;;
    esac
}

# Prints "open", "answered" (refused: a host is there) or "closed".
tcp_try() {
    out=$($bb timeout $hard $bb nc -w $cto "$1" "$2" </dev/null 2>&1)
    rc=$?
    if [ $rc -eq 0 ] || [ $rc -eq 143 ]; then
        echo open
        return
    fi
    case $out in
    *refused*) echo answered ;;
    *) echo closed ;;
    esac
}

check_reach() {
    for p in $(echo "$3" | $bb tr , ' '); do
        r=$(tcp_try "$2" "$p")
        if [ "$r" != open ]; then
            fail "$1 $2 port $p is not reachable ($r): the agent could not use the proxy"
            return
        fi
    done
    ok "$1 $2 reachable on tcp $3"
}

check_block() {
    for a in $(targets "$2"); do
        for p in $(echo "$3" | $bb tr , ' '); do
            r=$(tcp_try "$a" "$p")
            case $r in
            open)
                fail "$1 $a is reachable: tcp port $p accepted a connection"
                return ;;
            answered)
                fail "$1 $a is reachable: tcp port $p answered (connection refused)"
                return ;;
            esac
        done
    done
    ok "$1 $2 unreachable on tcp $3"
}

# A DNS query for $qname, type A, over TCP (two-byte length first).
dns_tcp_query() {
    printf '\000\046\022\064\001\000\000\001\000\000\000\000\000\000'
    printf '\014sluice-probe\007invalid\000\000\001\000\001'
}

check_dns() {
    for a in $(targets "$2"); do
        out=$($bb timeout $hard $bb nslookup $qname "$a" 2>&1)
        case $out in
        *"can't find"*|*Name:*|*Address*#53*|*Server:*)
            fail "$1 $a answers DNS over UDP"
            return ;;
        esac
        n=$(dns_tcp_query | $bb timeout $hard $bb nc -w $cto "$a" 53 2>/dev/null | $bb wc -c)
        if [ "${n:-0}" -gt 0 ]; then
            fail "$1 $a answers DNS over TCP"
            return
        fi
    done
    ok "$1 $2 answers no DNS (udp and tcp 53)"
}

gw=$($bb awk 'NR > 1 && ($2 == "00000000" || $3 != "00000000") { print $1 " " $2 " via " $3 }' /proc/net/route)
if [ -n "$gw" ]; then
    fail "IPv4 route through a gateway (a default route is a way out): $gw"
else
    ok "no default route and no IPv4 gateway"
fi

if $bb grep -q . /proc/net/if_inet6 2>/dev/null; then
    fail "IPv6 addresses present: $($bb awk '{ print $1 "/" $6 }' /proc/net/if_inet6 | $bb tr '\n' ' ')"
else
    ok "no IPv6 address"
fi

ns=$($bb awk '$1 == "nameserver" { print $2 }' /etc/resolv.conf 2>/dev/null)
if [ -n "$ns" ]; then
    fail "/etc/resolv.conf names DNS servers: $(echo $ns)"
else
    ok "no DNS server in /etc/resolv.conf"
fi

out=$($bb timeout $hard $bb nslookup $qname 2>&1)
case $out in
*"no servers could be reached"*) ok "the system resolver reaches no server" ;;
*"can't find"*|*Name:*|*Server:*) fail "the system resolver answers: $(echo $out | $bb head -c 200)" ;;
*) ok "the system resolver reaches no server" ;;
esac

for s in $ns; do
    check_dns "resolv.conf server" "$s" &
done

for d in "$@"; do
    kind=${d%%|*}; rest=${d#*|}
    label=${rest%%|*}; rest=${rest#*|}
    addr=${rest%%|*}; ports=${rest#*|}
    case $kind in
    reach) check_reach "$label" "$addr" "$ports" & ;;
    block) check_block "$label" "$addr" "$ports" & ;;
    dns) check_dns "$label" "$addr" & ;;
    *) fail "bad probe directive: $d" ;;
    esac
done
wait
echo done
