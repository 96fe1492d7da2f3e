#!/bin/sh
# Replays every seed and regression input of tests/fuzz/corpus/<target>/
# through tests/fuzz/replay_<target> (the fuzz target with replay.c's
# main()), on every `make check`, with or without --enable-fuzzing.
#
# Runs from the top build directory (automake TESTS); $srcdir points at the
# source tree, so VPATH builds and distcheck find the corpora. A corpus
# without its replayer, or a replayer without a corpus, fails the test.
set -u

srcdir=${srcdir:-.}
corpus=$srcdir/tests/fuzz/corpus
bindir=${REPLAY_BINDIR:-tests/fuzz}
fail=0
n=0

if [ ! -d "$corpus" ]; then
    echo "replay: FAIL: no corpus directory at $corpus"
    exit 1
fi

for dir in "$corpus"/*/; do
    dir=${dir%/}
    t=${dir##*/}
    bin=$bindir/replay_$t
    if [ ! -x "$bin" ]; then
        echo "replay: FAIL: $t: corpus $dir has no replayer $bin"
        fail=1
        continue
    fi
    # the log is long: one line per input; keep the verdict visible
    if "$bin" "$dir" >"replay-$t.out" 2>&1; then
        tail -n 1 "replay-$t.out"
    else
        echo "replay: FAIL: $t: the input named last crashed the target:"
        tail -n 40 "replay-$t.out"
        fail=1
    fi
    rm -f "replay-$t.out"
    n=$((n + 1))
done

for bin in "$bindir"/replay_*; do
    [ -x "$bin" ] || continue
    t=${bin##*/replay_}
    if [ ! -d "$corpus/$t" ]; then
        echo "replay: FAIL: $bin has no corpus $corpus/$t"
        fail=1
    fi
done

echo "replay: $n targets replayed"
exit $fail
