#!/bin/sh
# End-to-end tests of the real `sluice` binary (see harness.py).
#
# Runs from `make check` (automake TESTS) in the build directory; $srcdir
# points at the source tree.  The binary is ./sluice, or $SLUICE.
# Needs root, unshare(1), ip(8) and python3: otherwise exit 77 (skip).
#
# Every test runs inside a network namespace (and a private mount namespace)
# made here: only `lo` exists, so nothing can leave this machine.  Decoy
# addresses (private ranges, cloud metadata) are added to lo so that the
# tests notice any connection the proxy should not have made.
#
# Usage: run.sh [-k PATTERN]... [TEST_ID]...   (arguments go to unittest)

here=$(cd "$(dirname "$0")" && pwd)

if [ "${SLUICE_IT_NETNS:-}" != 1 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "integration: SKIP: needs root for unshare -n (network namespace)"
        exit 77
    fi
    for tool in unshare ip python3; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "integration: SKIP: '$tool' not found (Debian: util-linux, iproute2, python3)"
            exit 77
        fi
    done
    if ! unshare -n -m true 2>/dev/null; then
        echo "integration: SKIP: unshare -n -m is not permitted here"
        exit 77
    fi
    SLUICE=${SLUICE:-$PWD/sluice}
    case $SLUICE in /*) ;; *) SLUICE=$PWD/$SLUICE ;; esac
    if [ ! -x "$SLUICE" ]; then
        echo "integration: FAIL: no sluice binary at $SLUICE (build it, or set SLUICE)"
        exit 1
    fi
    # run a snapshot, so that a rebuild during the run does not disturb it
    SLUICE_IT_SNAP=$(mktemp -d)
    cp "$SLUICE" "$SLUICE_IT_SNAP/sluice" || exit 1
    SLUICE=$SLUICE_IT_SNAP/sluice
    export SLUICE SLUICE_IT_SNAP
    SLUICE_IT_NETNS=1 exec unshare -n -m --propagation private sh "$here/run.sh" "$@"
fi

# ---- inside the namespaces
set -e
ip link set lo up
for a in 10.0.0.1/32 169.254.169.254/32 100.100.100.200/32 192.168.1.1/32; do
    ip addr add "$a" dev lo
done
for a in fd00::1/128 fd00:ec2::254/128; do
    ip -6 addr add "$a" dev lo nodad
done
set +e

# The system resolver must never be used: point it at a stray server the
# harness runs on 127.0.0.1:53, which records any query it gets.
rtmp=$(mktemp -d)
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "$rtmp/resolv.conf"
if ! mount --bind "$rtmp/resolv.conf" /etc/resolv.conf; then
    # Then the stray-resolver check would watch the wrong server.
    echo "integration: FAIL: could not bind-mount /etc/resolv.conf"
    rm -rf "$rtmp" "${SLUICE_IT_SNAP:-/nonexistent}"
    exit 1
fi

export SLUICE_IT_NETNS
export PYTHONDONTWRITEBYTECODE=1
cd "$here" || exit 1
# a hung proxy must fail the run, not hang it
guard=
command -v timeout >/dev/null 2>&1 && guard="timeout -k 10 900"
$guard python3 "$here/runtests.py" "$@"
rc=$?
[ $rc = 124 ] && echo "integration: FAIL: the run exceeded 900 s"
rm -rf "$rtmp" "${SLUICE_IT_SNAP:-/nonexistent}"
exit $rc
