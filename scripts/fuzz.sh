#!/usr/bin/env bash
# Runs the VMBus fuzz targets (tests/qtest/fuzz) from the sanitizer build.
#
#   scripts/fuzz.sh smoke SECONDS          every target, SECONDS each, from
#                                          the seed corpora; fails on a crash
#   scripts/fuzz.sh run TARGET SECONDS     one campaign of SECONDS of CPU
#                                          time; its corpus grows in
#                                          ~/.cache/qemu-vmbus/fuzz/TARGET
#   scripts/fuzz.sh cover TARGET           what the campaign's corpus reaches
#                                          of hw/vmbus/: functions and edges
#                                          per file
#   scripts/fuzz.sh list                   the targets
#
# Crashes, leaks and timeouts land in build/fuzz-artifacts/TARGET/. Each run
# ends with a line: target, executions, executions per second, coverage.
#
# A campaign counts CPU seconds, not wall seconds: on a machine shared with
# builds a wall-clock budget says little about the fuzzing done. It runs
# libFuzzer in rounds until the CPU time is spent; every round ends as
# libFuzzer ends a run (stats, leak check at exit) and the next starts from
# the corpus the earlier ones grew.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fuzzer=$top/build/san/qemu-fuzz-x86_64
seeds=$top/tests/qtest/fuzz/corpus
dicts=$top/tests/qtest/fuzz/dict
targets=(vmbus-hv-partition vmbus-msg vmbus-ring vmbus-hv-ic vmbus-hv-net
         vmbus-hv-scsi)

# A crash is a report and a nonzero status; leaks count as crashes.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/scripts/lsan-suppressions.txt}
# Symbolized reports and coverage need llvm-symbolizer, which clang's llvm-14
# installs under a versioned name.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && ! command -v llvm-symbolizer >/dev/null &&
    [ -x /usr/bin/llvm-symbolizer-14 ]; then
    export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
fi

# CPU seconds (user + system) of this shell's finished children so far,
# into the variable CHILD_CPU. `times` runs in this shell: a subshell would
# know none of them.
child_cpu() {
    local tfile
    tfile=$(mktemp)
    times > "$tfile"
    CHILD_CPU=$(tail -n 1 "$tfile" |
        awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/);
               t += a[1] * 60 + a[2] } printf "%d\n", t }')
    rm -f "$tfile"
}

# One libFuzzer run of TARGET for SECONDS over CORPUS (written to); its CPU
# seconds into RUN_CPU and its executions into RUN_EXECS.
run_one() {
    local target=$1 secs=$2 corpus=$3 log art rc=0 dict=() cpu0
    art=$top/build/fuzz-artifacts/$target
    mkdir -p "$art" "$corpus"
    [ -f "$dicts/$target.dict" ] && dict=(-dict="$dicts/$target.dict")
    log=$(mktemp)
    child_cpu
    cpu0=$CHILD_CPU
    "$fuzzer" --fuzz-target="$target" ${dict[@]+"${dict[@]}"} \
        -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 \
        -max_len=4096 -print_final_stats=1 \
        -artifact_prefix="$art/" "$corpus" "$seeds/$target" \
        > "$log" 2>&1 || rc=$?
    child_cpu
    RUN_CPU=$((CHILD_CPU - cpu0))
    RUN_EXECS=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    summarise "$target" "$log" "$rc" "$RUN_CPU"
    if [ "$rc" != 0 ]; then
        tail -n 60 "$log" >&2
    fi
    rm -f "$log"
    return "$rc"
}

summarise() {
    local target=$1 log=$2 rc=$3 cpu=$4 execs eps cov ft
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    printf 'fuzz: %-20s %s executions, %s/s, %s CPU s, cov %s, ft %s: %s\n' \
        "$target" "${execs:-?}" "${eps:-?}" "$cpu" "${cov:-?}" "${ft:-?}" \
        "$([ "$rc" = 0 ] && echo ok || echo "FAILED (status $rc)")"
}

case "${1:-}" in
smoke)
    secs=${2:-20}
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    rc=0
    for t in "${targets[@]}"; do
        run_one "$t" "$secs" "$work/$t" || rc=1
    done
    exit "$rc"
    ;;
run)
    [ $# = 3 ] || { echo "usage: $0 run TARGET SECONDS" >&2; exit 2; }
    target=$2 budget=$3 used=0 execs=0 rounds=0
    corpus=$HOME/.cache/qemu-vmbus/fuzz/$target
    # A round's wall time is the CPU time still owed (at least a minute):
    # alone on a core it ends the campaign, next to other work it falls short
    # and another round follows.
    while [ "$used" -lt "$budget" ]; do
        left=$((budget - used))
        run_one "$target" $((left < 60 ? 60 : left)) "$corpus"
        used=$((used + RUN_CPU))
        execs=$((execs + ${RUN_EXECS:-0}))
        rounds=$((rounds + 1))
    done
    printf 'fuzz: %-20s campaign: %d CPU s in %d rounds, %d executions, %d corpus inputs\n' \
        "$target" "$used" "$rounds" "$execs" "$(ls "$corpus" | wc -l)"
    ;;
cover)
    [ $# = 2 ] || { echo "usage: $0 cover TARGET" >&2; exit 2; }
    corpus=$HOME/.cache/qemu-vmbus/fuzz/$2
    mkdir -p "$corpus"
    # -runs=0 replays the corpus and stops; -print_coverage then lists every
    # instrumented function with its edges, symbolized.
    "$fuzzer" --fuzz-target="$2" -runs=0 -print_coverage=1 -timeout=30 \
        -rss_limit_mb=4096 "$corpus" "$seeds/$2" 2>&1 |
    "$top/scripts/fuzz-coverage.py" "$2"
    ;;
list)
    printf '%s\n' "${targets[@]}"
    ;;
*)
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
