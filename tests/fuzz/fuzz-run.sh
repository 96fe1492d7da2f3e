#!/bin/sh
# `make fuzz-run`: runs each libFuzzer target for SECONDS over a scratch
# copy of its corpus, prints executions per second and total executions
# per target, and fails if any target crashed, leaked, timed out or ran out
# of memory.
#
# Usage: fuzz-run.sh SECONDS TARGET...   (from the top build directory)
# Environment:
#   srcdir     the source tree (corpora in tests/fuzz/corpus/<target>/,
#              dictionaries in tests/fuzz/dict/)
#   FUZZ_JOBS  targets run at once (default 1; each uses one core)
#   FUZZ_FLAGS more libFuzzer flags for every run (-max_len=..., -jobs=...)
#   FUZZ_OUT   where logs and crash inputs go (default tests/fuzz/run)
#   FUZZ_KEEP  1: keep the grown scratch corpora and print where they are
#
# New inputs go to the scratch corpus, never into the source tree. A crash
# input is left as FUZZ_OUT/<target>/crash-<sha1> and printed in base64;
# reproduce it with `tests/fuzz/fuzz_<target> FILE` or, without clang,
# `tests/fuzz/replay_<target> FILE`.
set -u

if [ $# -lt 2 ]; then
    echo "usage: fuzz-run.sh SECONDS TARGET..." >&2
    exit 2
fi
secs=$1
shift
srcdir=${srcdir:-.}
jobs=${FUZZ_JOBS:-1}
out=${FUZZ_OUT:-tests/fuzz/run}
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX") || exit 1
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)

# Every report is fatal; leaks count (libFuzzer checks them per input).
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

dict_for() {
    case $1 in
    http_head | chunked) echo "$srcdir/tests/fuzz/dict/http.dict" ;;
    *) echo "$srcdir/tests/fuzz/dict/$1.dict" ;;
    esac
}

stat_of() { # stat_of NAME LOG
    sed -n "s/^stat::$1:[[:space:]]*//p" "$2" | tail -n 1
}

run_one() {
    t=$1
    bin=tests/fuzz/fuzz_$t
    log=$out/$t.log
    work=$scratch/$t
    rm -rf "$out/$t"
    mkdir -p "$work" "$out/$t"
    if [ -d "$srcdir/tests/fuzz/corpus/$t" ]; then
        cp "$srcdir/tests/fuzz/corpus/$t"/* "$work/" 2>/dev/null
    fi
    seeds=$(ls "$work" | wc -l)
    dict=$(dict_for "$t")
    set -- -max_total_time="$secs" -print_final_stats=1 -timeout=25 \
        -rss_limit_mb=2048 -artifact_prefix="$out/$t/"
    [ -f "$dict" ] && set -- "$@" -dict="$dict"
    # shellcheck disable=SC2086
    "$bin" "$@" ${FUZZ_FLAGS:-} "$work" >"$log" 2>&1 </dev/null
    rc=$?
    echo "$rc $seeds $(ls "$work" | wc -l)" >"$out/$t.rc"
}

i=0
for t in "$@"; do
    if [ ! -x "tests/fuzz/fuzz_$t" ]; then
        echo "fuzz-run: no tests/fuzz/fuzz_$t: run make fuzz first" >&2
        exit 1
    fi
done
echo "fuzz-run: $# targets, ${secs}s each, $jobs at a time; logs in $out"
for t in "$@"; do
    run_one "$t" &
    i=$((i + 1))
    if [ "$i" -ge "$jobs" ]; then
        wait
        i=0
    fi
done
wait

fail=0
{
    printf '%-10s %10s %12s %9s %9s %8s  %s\n' target exec/s executions \
        new_units corpus rss_mb result
    for t in "$@"; do
        log=$out/$t.log
        [ -f "$out/$t.rc" ] || echo "127 ? ?" >"$out/$t.rc"
        read -r rc seeds grown <"$out/$t.rc"
        execs=$(stat_of number_of_executed_units "$log")
        speed=$(stat_of average_exec_per_sec "$log")
        units=$(stat_of new_units_added "$log")
        rss=$(stat_of peak_rss_mb "$log")
        artifacts=$(ls "$out/$t" 2>/dev/null)
        result=ok
        if [ "$rc" != 0 ] || [ -n "$artifacts" ]; then
            result="FAILED (exit $rc)"
        fi
        printf '%-10s %10s %12s %9s %9s %8s  %s\n' "$t" "${speed:-?}" \
            "${execs:-?}" "${units:-?}" "$seeds->$grown" "${rss:-?}" "$result"
    done
} | tee "$out/summary.txt"
grep -q FAILED "$out/summary.txt" && fail=1

for t in "$@"; do
    read -r rc seeds grown <"$out/$t.rc"
    artifacts=$(ls "$out/$t" 2>/dev/null)
    [ "$rc" = 0 ] && [ -z "$artifacts" ] && continue
    echo
    echo "==== $t: exit $rc; the report ($out/$t.log):"
    # the sanitizer or libFuzzer report, without the coverage chatter
    sed -n '/^==[0-9]*==\|^[^ ]*: runtime error\|^fuzz_\|^SUMMARY\|^ *#[0-9]\|^Direct leak\|^Indirect leak\|^ALARM\|^MS:\|deadly signal\|^artifact_prefix/p' \
        "$out/$t.log" | head -n 80
    for a in $artifacts; do
        echo "---- $out/$t/$a ($(wc -c <"$out/$t/$a") bytes), base64:"
        base64 "$out/$t/$a" | head -n 40
        echo "reproduce: tests/fuzz/fuzz_$t $out/$t/$a"
        echo "       or: tests/fuzz/replay_$t $out/$t/$a"
    done
done

if [ "${FUZZ_KEEP:-0}" = 1 ]; then
    echo "fuzz-run: grown corpora kept in $scratch/<target>/ (merge new"
    echo "  seeds with: tests/fuzz/fuzz_T -merge=1 SRC/tests/fuzz/corpus/T $scratch/T)"
else
    rm -rf "$scratch"
fi
[ "$fail" = 0 ] && echo "fuzz-run: no crash in $# targets" ||
    echo "fuzz-run: FAIL: see the reports above"
exit $fail
