#!/usr/bin/env bash
# The fuzz run of record: the slow fuzz tests (pytest -m slow -k fuzz) in seeded chunks.
#
#   benchmarks/fuzz_record.sh [CHUNKS] [PROCS]
#
# CHUNKS chunks (default 25) of `METAHPO_FUZZ_EXAMPLES=$EXAMPLES pytest -m slow -k fuzz
# --hypothesis-seed=S` over tests/test_fuzz*.py, each with its own seed, PROCS processes side by
# side (default 2; process P runs seeds SEED_BASE + 100*P + 0, 1, 2, ...). With EXAMPLES=50 a
# chunk is 400 cases: 50 each of tables, spaces and options, output paths, predict tables, API
# arguments and lying files, and 100 objectives; 25 chunks make 10,000.
#
# One line per chunk in the log (default benchmarks/fuzz/DATE-final.log):
#   proc=P seed=S rc=RC s=SECONDS cases=N <pytest's summary line>
# where cases counts the test cases hypothesis reports as run (passing + failing, from
# --hypothesis-show-statistics), and rc=124 is a chunk that ran past CHUNK_TIMEOUT (a hang).
# At the end, total lines: cases (and by test), failed chunks, failing cases.
# Each chunk's full pytest output stays in RAW (default a temporary folder; its path is logged).
#
# Environment: EXAMPLES (50), SEED_BASE (9000), CHUNK_TIMEOUT (seconds, 1800), LOG, RAW,
# PYTEST (default .venv/bin/pytest, else `python -m pytest`).
set -u
cd "$(dirname "$0")/.."

CHUNKS=${1:-25}
PROCS=${2:-2}
EXAMPLES=${EXAMPLES:-50}
SEED_BASE=${SEED_BASE:-9000}
CHUNK_TIMEOUT=${CHUNK_TIMEOUT:-1800}
LOG=${LOG:-benchmarks/fuzz/$(date +%F)-final.log}
RAW=${RAW:-$(mktemp -d "${TMPDIR:-/tmp}/metahpo-fuzz.XXXXXX")}
if [ -z "${PYTEST:-}" ]; then
    if [ -x .venv/bin/pytest ]; then PYTEST=.venv/bin/pytest; else PYTEST="python -m pytest"; fi
fi
mkdir -p "$RAW" "$(dirname "$LOG")"
: >"$LOG.tmp"

# cases per test in one chunk's output: lines "TEST CASES FAILING" (hypothesis statistics)
count_cases() {
    awk '
        /^tests\/test_fuzz[^ ]*::[^ ]*:$/ { test = $0; sub(/:$/, "", test); sub(/.*::/, "", test) }
        match($0, /[0-9]+ passing( examples)?, [0-9]+ failing/) {
            split(substr($0, RSTART, RLENGTH), w, /[ ,]+/)
            n[test] += w[1] + w[3]; f[test] += w[3]
        }
        END { for (t in n) print t, n[t], f[t] }
    ' "$1"
}

run_proc() {
    local proc=$1 i=$2 seed start rc secs out summary cases
    for ((; i < CHUNKS; i += PROCS)); do
        seed=$((SEED_BASE + 100 * proc + i / PROCS))
        out="$RAW/chunk-$seed.txt"
        start=$(date +%s)
        # shellcheck disable=SC2086
        METAHPO_FUZZ_EXAMPLES=$EXAMPLES OMP_NUM_THREADS=1 timeout "$CHUNK_TIMEOUT" \
            $PYTEST -q -p no:cacheprovider -m slow -k fuzz tests/test_fuzz*.py \
            --hypothesis-seed="$seed" --hypothesis-show-statistics >"$out" 2>&1
        rc=$?
        secs=$(($(date +%s) - start))
        summary=$(grep -E ' in [0-9.]+s' "$out" | tail -n 1 | sed 's/=//g; s/^ *//; s/ *$//')
        cases=$(count_cases "$out" | awk '{ s += $2 } END { print s + 0 }')
        echo "proc=$proc seed=$seed rc=$rc s=$secs cases=$cases ${summary:-(no summary)}" | tee -a "$LOG.tmp"
    done
}

echo "fuzz run of record: $CHUNKS chunks x $EXAMPLES examples per test, $PROCS processes; raw output in $RAW" >&2
start_all=$(date +%s)
for ((p = 1; p <= PROCS; p++)); do
    run_proc "$p" $((p - 1)) &
done
wait
elapsed=$(($(date +%s) - start_all))

{
    cat "$LOG.tmp"
    awk '
        { for (k = 1; k <= NF; k++) { split($k, kv, "="); v[kv[1]] = kv[2] } }
        { chunks++; cases += v["cases"]; secs += v["s"]; if (v["rc"] != 0) { bad++; seeds = seeds " " v["seed"] } }
        match($0, /[0-9]+ failed/) { failed += substr($0, RSTART, RLENGTH) + 0 }
        END {
            printf "total: chunks=%d cases=%d failed_chunks=%d failed_tests=%d process_s=%d", chunks, cases, bad, failed, secs
            if (bad) printf " failing_seeds=%s", substr(seeds, 2)
            printf "\n"
        }
    ' "$LOG.tmp"
    for f in "$RAW"/chunk-*.txt; do count_cases "$f"; done | sort | awk '
        { n[$1] += $2; f[$1] += $3; all += $3 }
        END {
            for (t in n) printf "total: %s cases=%d failing=%d\n", t, n[t], f[t]
            printf "total: failing_cases=%d\n", all
        }' | sort
    echo "total: wall_s=$elapsed raw=$RAW"
} >"$LOG"
rm -f "$LOG.tmp"
tail -n 12 "$LOG"
grep -q "failed_chunks=0 " "$LOG"
