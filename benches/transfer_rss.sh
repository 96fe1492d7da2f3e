#!/bin/sh
# Run benches/transfer_rss.py in a private network namespace (loopback only).
exec unshare -n sh -c 'ip link set lo up && SLUICE_BENCH_NETNS=1 exec python3 "$0" "$@"' "$(dirname "$0")/transfer_rss.py" "$@"
