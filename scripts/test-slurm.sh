#!/usr/bin/env bash
# Test scripts/slurm-sweep.sh against a real single-node Slurm, and its --local emulation.
#
#   scripts/test-slurm.sh            both parts
#   scripts/test-slurm.sh --local    only the --local (taskset) part: no Slurm, no root
#   scripts/test-slurm.sh --slurm    only the Slurm part
#
# What it does:
#   1. builds the lesson examples (cargo build --release -p delayed-bench --examples) and
#      dask_loop_mpi (cargo build --release -p delayed --features mpi --example dask_loop_mpi),
#      into ${CARGO_TARGET_DIR:-target}, unless DELAYED_EXAMPLES_DIR names a directory that
#      already holds dask_loop & co; without mpirun (Open MPI) it says so, builds without MPI
#      and FAILS the MPI checks (never skips them);
#   2. --local: sweeps CPUs "1 2 <nproc+1>" over the loop, loop_flow and delay workloads
#      with 200 ms tasks, emulated with taskset; then --ranks "1 2" x CPUs "1 2" with mpirun;
#   3. Slurm: installs the Debian packages if missing, starts a private Slurm with
#      scripts/local-slurm.sh in a fresh temporary directory (a trap stops it on any exit),
#      runs the same sweep as one `sbatch --wait` whole-node job, then one row as its own
#      `srun --immediate` allocation, lesson.sbatch and a 2-task lesson-array.sbatch;
#      MPI: srun --mpi=list shows pmix, a --ranks "1 2" x CPUs "1 2" sweep, one direct
#      `srun --mpi=pmix -n 2 dask_loop_mpi`, lesson-mpi.sbatch with 2 tasks;
#      then stops Slurm and checks that its daemons are gone.
#   Checks, per sweep row: CPUs <= node CPUs -> status ok, workers = CPUs asked, the CPU list
#   has that many distinct CPUs, the expected result, wall time within 30 % + 0.15 s of the
#   ideal (and not below it); CPUs > node CPUs -> "refused" in that row, reported within 15 s.
#   Also: without srun the sweep says so and points to --local.
# Exit status: 0 when every check passed, 1 otherwise. Takes about a minute once built.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPTS=$REPO/scripts
UNIT_MS=${SLURM_TEST_UNIT_MS:-200}
WORKLOADS="loop loop_flow delay"
DO_LOCAL=1
DO_SLURM=1
case ${1:-} in
    --local) DO_SLURM=0 ;;
    --slurm) DO_LOCAL=0 ;;
    "") ;;
    -h | --help) sed -n '2,29p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--local|--slurm]" >&2; exit 2 ;;
esac

FAILS=0
T_START=$(date +%s)
pass() { echo "  ok   $*"; }
fail() { echo "  FAIL $*"; FAILS=$((FAILS + 1)); }
section() { echo "== $* ($(($(date +%s) - T_START)) s)"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/test-slurm.XXXXXX") || exit 1
SLURM_DIR=$WORK/slurm
STARTED=0
cleanup() {
    local rc=$?
    if [[ $STARTED -eq 1 ]]; then
        LOCAL_SLURM_DIR=$SLURM_DIR "$SCRIPTS/local-slurm.sh" stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
# long steps run in the background under `bounded`, so a signal ends the test at once
CHILD=""
bounded() {
    timeout --kill-after=5 "$@" &
    CHILD=$!
    wait "$CHILD"
    local rc=$?
    CHILD=""
    return $rc
}
trap '[[ -n $CHILD ]] && kill -TERM "$CHILD" 2>/dev/null; exit 130' INT TERM HUP
cd "$REPO" || exit 1

# --- CSV checks ------------------------------------------------------------

# split one CSV line (RFC 4180 quotes) into the array F
csv_split() {
    local line=$1 field="" ch inq=0 i
    F=()
    for ((i = 0; i < ${#line}; i++)); do
        ch=${line:i:1}
        if [[ $inq -eq 1 ]]; then
            if [[ $ch == '"' ]]; then
                if [[ ${line:i+1:1} == '"' ]]; then field+='"'; i=$((i + 1)); else inq=0; fi
            else
                field+=$ch
            fi
        elif [[ $ch == '"' ]]; then
            inq=1
        elif [[ $ch == , ]]; then
            F+=("$field"); field=""
        else
            field+=$ch
        fi
    done
    F+=("$field")
}

count_cpus() { # "0-2,5" -> 4 (distinct)
    local part a b
    local -A seen=()
    local IFS=,
    for part in $1; do
        if [[ $part == *-* ]]; then
            for ((a = ${part%-*}, b = ${part#*-}; a <= b; a++)); do seen[$a]=1; done
        elif [[ $part =~ ^[0-9]+$ ]]; then
            seen[$part]=1
        fi
    done
    echo "${#seen[@]}"
}

# check_csv FILE NODE_CPUS EXPECTED_MODE EXPECTED_ROWS
check_csv() {
    local csv=$1 ncpu=$2 mode=$3 want_rows=$4 n=0 line label
    if [[ ! -s $csv ]]; then
        fail "no CSV written"
        return
    fi
    [[ $(head -n1 "$csv") == date,cluster,mode,workload,cpus_asked,workers,cpu_list,result,wall_s,ideal_s,step_s,status ]] &&
        pass "CSV header" || fail "CSV header: $(head -n1 "$csv")"
    [[ -s ${csv%.csv}.md ]] && grep -q '^| workload | CPUs asked | workers | CPU list |' "${csv%.csv}.md" &&
        pass "markdown table beside it" || fail "no markdown table beside $csv"
    while IFS= read -r line; do
        csv_split "$line"
        n=$((n + 1))
        local rmode=${F[2]} wl=${F[3]} c=${F[4]} workers=${F[5]} list=${F[6]} result=${F[7]}
        local wall=${F[8]} ideal=${F[9]} step=${F[10]} status=${F[11]}
        label="$rmode $wl cpus=$c:"
        [[ $rmode == "$mode" ]] || fail "$label mode '$rmode', expected '$mode'"
        if ((c <= ncpu)); then
            if [[ $status != ok ]]; then
                fail "$label status '$status'"
                continue
            fi
            [[ $workers == "$c" ]] && pass "$label workers=$workers" || fail "$label workers=$workers, expected $c"
            local nl
            nl=$(count_cpus "$list")
            [[ $nl -eq $c ]] && pass "$label CPU list '$list' has $nl CPUs" || fail "$label CPU list '$list' has $nl CPUs, expected $c"
            local expect
            case $wl in loop) expect=total=44 ;; loop_flow) expect=total=90 ;; delay) expect=result=5 ;; *) expect=$result ;; esac
            [[ $result == "$expect" ]] && pass "$label $result" || fail "$label result '$result', expected '$expect'"
            if awk -v w="$wall" -v i="$ideal" 'BEGIN { exit !(w != "" && w >= 0.98 * i - 0.01 && w <= 1.3 * i + 0.15) }'; then
                pass "$label wall ${wall}s vs ideal ${ideal}s"
            else
                fail "$label wall ${wall}s vs ideal ${ideal}s (allowed: 0.98x .. 1.3x + 0.15 s)"
            fi
        else
            if [[ $status == refused* ]]; then
                pass "$label reported: $status"
            else
                fail "$label more CPUs than the node's $ncpu, but status '$status'"
            fi
            awk -v s="$step" 'BEGIN { exit !(s != "" && s < 15) }' &&
                pass "$label refused in ${step}s, no hang" || fail "$label took ${step}s to be refused"
        fi
    done < <(tail -n +2 "$csv")
    [[ $n -eq $want_rows ]] && pass "$n rows" || fail "$n rows, expected $want_rows"
}

# check_ranks_csv FILE NODE_CPUS EXPECTED_MODE EXPECTED_ROWS: a --ranks sweep of dask_loop_mpi
check_ranks_csv() {
    local csv=$1 ncpu=$2 mode=$3 want_rows=$4 n=0 line label
    if [[ ! -s $csv ]]; then
        fail "no CSV written (ranks)"
        return
    fi
    [[ $(head -n1 "$csv") == date,cluster,mode,workload,ranks,cpus_asked,workers,cpu_list,result,wall_s,ideal_s,step_s,status ]] &&
        pass "CSV header with ranks" || fail "CSV header: $(head -n1 "$csv")"
    [[ -s ${csv%.csv}.md ]] && grep -q '^| workload | ranks | CPUs per rank | workers |' "${csv%.csv}.md" &&
        pass "markdown table with ranks beside it" || fail "no ranks markdown table beside $csv"
    while IFS= read -r line; do
        csv_split "$line"
        n=$((n + 1))
        local rmode=${F[2]} wl=${F[3]} r=${F[4]} c=${F[5]} workers=${F[6]} result=${F[8]}
        local wall=${F[9]} ideal=${F[10]} step=${F[11]} status=${F[12]}
        label="$rmode $wl ranks=$r cpus=$c:"
        [[ $rmode == "$mode" ]] || fail "$label mode '$rmode', expected '$mode'"
        local want_ideal
        want_ideal=$(awk -v r="$r" -v c="$c" -v u="$UNIT_MS" 'BEGIN { printf "%.3f", int((8 + r * c - 1) / (r * c)) * u / 1000 }')
        [[ $ideal == "$want_ideal" ]] && pass "$label ideal ${ideal}s = ceil(8/(R*C)) units" ||
            fail "$label ideal '$ideal', expected $want_ideal"
        if ((r * c <= ncpu)); then
            if [[ $status != ok ]]; then
                fail "$label status '$status'"
                continue
            fi
            [[ $workers == "$c" ]] && pass "$label workers=$workers" || fail "$label workers=$workers, expected $c"
            [[ $result == total=44 ]] && pass "$label $result" || fail "$label result '$result', expected 'total=44'"
            if awk -v w="$wall" -v i="$ideal" 'BEGIN { exit !(w != "" && w >= 0.98 * i - 0.01 && w <= 1.3 * i + 0.15) }'; then
                pass "$label wall ${wall}s vs ideal ${ideal}s"
            else
                fail "$label wall ${wall}s vs ideal ${ideal}s (allowed: 0.98x .. 1.3x + 0.15 s)"
            fi
        else
            [[ $status == refused* ]] && pass "$label reported: $status" ||
                fail "$label ranks x CPUs beyond the node's $ncpu, but status '$status'"
            awk -v s="$step" 'BEGIN { exit !(s != "" && s < 15) }' &&
                pass "$label refused in ${step}s, no hang" || fail "$label took ${step}s to be refused"
        fi
    done < <(tail -n +2 "$csv")
    [[ $n -eq $want_rows ]] && pass "$n rows" || fail "$n rows, expected $want_rows"
}

# --- the programs ----------------------------------------------------------

section "examples"
HAVE_MPI=1
if ! command -v mpirun >/dev/null; then
    HAVE_MPI=0
    echo "  FAIL: mpirun not found: Open MPI is not installed (apt-get install openmpi-bin libopenmpi-dev libclang-dev);" >&2
    echo "        the MPI checks (dask_loop_mpi, --ranks, srun --mpi=pmix) cannot run and FAIL" >&2
    fail "mpirun not found: no MPI checks possible"
fi
FEATURES=()
[[ $HAVE_MPI -eq 1 ]] && FEATURES=(--features mpi)
if [[ -n ${DELAYED_EXAMPLES_DIR:-} ]]; then
    echo "  using DELAYED_EXAMPLES_DIR=$DELAYED_EXAMPLES_DIR"
else
    target_dir=${CARGO_TARGET_DIR:-$REPO/target}
    [[ $target_dir == /* ]] || target_dir=$REPO/$target_dir # cargo runs from $REPO here
    export DELAYED_EXAMPLES_DIR=$target_dir/release/examples
    if ! cargo build --release -q -p delayed-bench --examples; then
        echo "FAIL: cargo build --release -p delayed-bench --examples failed" >&2
        exit 1
    fi
    if [[ $HAVE_MPI -eq 1 ]] && ! cargo build --release -q -p delayed "${FEATURES[@]}" --examples; then
        echo "FAIL: cargo build --release -p delayed ${FEATURES[*]} --examples failed" >&2
        exit 1
    fi
fi
for wl in $WORKLOADS; do
    [[ -x $DELAYED_EXAMPLES_DIR/dask_$wl ]] || { echo "FAIL: $DELAYED_EXAMPLES_DIR/dask_$wl missing" >&2; exit 1; }
done
pass "dask_loop, dask_loop_flow, dask_delay present"
MPI_PROG=$DELAYED_EXAMPLES_DIR/dask_loop_mpi
if [[ $HAVE_MPI -eq 1 ]]; then
    if [[ -x $MPI_PROG ]]; then
        pass "dask_loop_mpi present (--features mpi)"
    else
        fail "$MPI_PROG missing (cargo build --release -p delayed --features mpi --example dask_loop_mpi)"
        HAVE_MPI=0
    fi
fi
export OMPI_MCA_mpi_yield_when_idle=1

# --- without srun ----------------------------------------------------------

section "no srun on PATH"
mkdir -p "$WORK/nopath"
ln -s "$(command -v dirname)" "$WORK/nopath/dirname"
msg=$(PATH=$WORK/nopath "$BASH" "$SCRIPTS/slurm-sweep.sh" --cpus 1 2>&1)
rc=$?
[[ $rc -ne 0 && $msg == *"srun not found"* && $msg == *--local* ]] &&
    pass "says srun is missing and offers --local (exit $rc)" || fail "without srun: exit $rc, said: $msg"

# --- --local ---------------------------------------------------------------

if [[ $DO_LOCAL -eq 1 ]]; then
    section "--local (taskset emulation)"
    mask_n=$(count_cpus "$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)")
    cpus="1 2 $((mask_n + 1))"
    ((mask_n < 2)) && cpus="1 $((mask_n + 1))"
    out=$WORK/local-out
    bounded 300 "$SCRIPTS/slurm-sweep.sh" --local --cpus "$cpus" --workload "$WORKLOADS" --unit-ms "$UNIT_MS" --out "$out"
    rc=$?
    [[ $rc -eq 0 ]] && pass "sweep exit 0" || fail "sweep exit $rc"
    check_csv "$(ls "$out"/*.csv 2>/dev/null | head -n1)" "$mask_n" emulated $(($(wc -w <<<"$cpus") * 3))

    section "--local --ranks (mpirun)"
    if [[ $HAVE_MPI -eq 1 ]]; then
        out=$WORK/local-ranks-out
        bounded 300 "$SCRIPTS/slurm-sweep.sh" --local --ranks "1 2" --cpus "1 2" --unit-ms "$UNIT_MS" --out "$out"
        rc=$?
        [[ $rc -eq 0 ]] && pass "ranks sweep exit 0" || fail "ranks sweep exit $rc"
        check_ranks_csv "$(ls "$out"/*.csv 2>/dev/null | head -n1)" "$mask_n" emulated 4
    else
        fail "--local --ranks: no mpirun / dask_loop_mpi (see above)"
    fi
fi

# --- real Slurm ------------------------------------------------------------

if [[ $DO_SLURM -eq 1 ]]; then
    section "local Slurm: start"
    export LOCAL_SLURM_DIR=$SLURM_DIR
    STARTED=1
    if ! "$SCRIPTS/local-slurm.sh" start >"$WORK/start.out"; then
        fail "local-slurm.sh start"
        exit 1
    fi
    eval "$(grep '^export SLURM_CONF=' "$WORK/start.out")"
    [[ $SLURM_CONF == "$SLURM_DIR"/* ]] && pass "private Slurm up, SLURM_CONF=$SLURM_CONF" || fail "SLURM_CONF=$SLURM_CONF"
    unset SLURM_JOB_ID SLURM_JOBID # not inside an allocation, even when run from one
    ncpu=$(sinfo -h -N -o '%c' | head -n1)
    [[ $ncpu =~ ^[0-9]+$ ]] && pass "node has $ncpu CPUs" || { fail "sinfo: '$ncpu'"; exit 1; }
    cpus="1 2 $((ncpu + 1))"
    ((ncpu < 2)) && cpus="1 $((ncpu + 1))"

    section "local Slurm: sweep (sbatch --wait, steps)"
    out=$WORK/slurm-out
    bounded 300 "$SCRIPTS/slurm-sweep.sh" --cpus "$cpus" --workload "$WORKLOADS" --unit-ms "$UNIT_MS" --wait-s 20 --out "$out"
    rc=$?
    [[ $rc -eq 0 ]] && pass "sweep exit 0" || fail "sweep exit $rc"
    check_csv "$(ls "$out"/*.csv 2>/dev/null | head -n1)" "$ncpu" step $(($(wc -w <<<"$cpus") * 3))

    section "local Slurm: --srun (one allocation per row)"
    out=$WORK/srun-out
    bounded 120 "$SCRIPTS/slurm-sweep.sh" --srun --cpus "1 $((ncpu + 1))" --workload loop --unit-ms "$UNIT_MS" --wait-s 10 --out "$out"
    rc=$?
    [[ $rc -eq 0 ]] && pass "sweep exit 0" || fail "sweep exit $rc"
    check_csv "$(ls "$out"/*.csv 2>/dev/null | head -n1)" "$ncpu" srun 2

    section "local Slurm: lesson.sbatch"
    c=$((ncpu < 2 ? 1 : 2))
    bounded 60 sbatch --wait --quiet --cpus-per-task="$c" --output="$WORK/lesson.out" \
        "$SCRIPTS/lesson.sbatch" "$DELAYED_EXAMPLES_DIR/dask_loop" --unit-ms "$UNIT_MS"
    rc=$?
    first=$(head -n1 "$WORK/lesson.out" 2>/dev/null)
    if [[ $rc -eq 0 && $first == "workers=$c cpus="* ]] && grep -q '^total=44$' "$WORK/lesson.out"; then
        pass "sbatch --cpus-per-task=$c lesson.sbatch: $first, total=44"
    else
        fail "lesson.sbatch: exit $rc, output: $(cat "$WORK/lesson.out" 2>/dev/null)"
    fi

    section "local Slurm: lesson-array.sbatch (2 array tasks)"
    SWEEP_CPUS="1 $((ncpu + 1))" SWEEP_UNIT_MS=$UNIT_MS SWEEP_OUT=$WORK/array \
        bounded 90 sbatch --wait --quiet --array=0-1 --cpus-per-task=1 --output="$WORK/array-%a.out" \
        "$SCRIPTS/lesson-array.sbatch"
    rc=$?
    [[ $rc -eq 0 ]] && pass "array job exit 0" || fail "array job exit $rc: $(cat "$WORK"/array-*.out 2>/dev/null)"
    n=$(cat "$WORK"/array/*.csv 2>/dev/null | grep -c ',ok$')
    r=$(cat "$WORK"/array/*.csv 2>/dev/null | grep -c ',"\{0,1\}refused')
    [[ $n -eq 2 && $r -eq 2 ]] && pass "2 sweeps (loop, loop_flow): 2 ok rows, 2 refused rows" ||
        fail "array sweeps: $n ok rows, $r refused rows, expected 2 and 2"

    section "local Slurm: MPI (srun --mpi=pmix)"
    if [[ $HAVE_MPI -eq 1 ]]; then
        mpis=$(srun --mpi=list 2>&1)
        [[ $mpis == *pmix* ]] && pass "srun --mpi=list offers pmix" || fail "srun --mpi=list lacks pmix: $mpis"

        bounded 60 srun --immediate=20 --mpi=pmix -n 2 --cpus-per-task=1 "$MPI_PROG" --unit-ms "$UNIT_MS" \
            >"$WORK/mpi-srun.out" 2>"$WORK/mpi-srun.err" </dev/null
        rc=$?
        first=$(head -n1 "$WORK/mpi-srun.out" 2>/dev/null)
        if [[ $rc -eq 0 && $first == "ranks=2 workers=1" ]] && grep -q '^total=44$' "$WORK/mpi-srun.out"; then
            pass "srun --mpi=pmix -n 2 dask_loop_mpi: $first, total=44, $(grep '^wall' "$WORK/mpi-srun.out")"
        else
            fail "srun --mpi=pmix -n 2 dask_loop_mpi: exit $rc, output: $(cat "$WORK/mpi-srun.out" "$WORK/mpi-srun.err" 2>/dev/null | tail -n 5)"
        fi

        out=$WORK/slurm-ranks-out
        bounded 300 "$SCRIPTS/slurm-sweep.sh" --ranks "1 2" --cpus "1 2" --unit-ms "$UNIT_MS" --wait-s 20 --out "$out"
        rc=$?
        [[ $rc -eq 0 ]] && pass "ranks sweep exit 0" || fail "ranks sweep exit $rc"
        check_ranks_csv "$(ls "$out"/*.csv 2>/dev/null | head -n1)" "$ncpu" step 4

        r=$((ncpu < 2 ? 1 : 2))
        bounded 60 sbatch --wait --quiet --ntasks="$r" --cpus-per-task=1 --output="$WORK/lesson-mpi.out" \
            "$SCRIPTS/lesson-mpi.sbatch" "$MPI_PROG" --unit-ms "$UNIT_MS"
        rc=$?
        first=$(head -n1 "$WORK/lesson-mpi.out" 2>/dev/null)
        if [[ $rc -eq 0 && $first == "ranks=$r workers=1" ]] && grep -q '^total=44$' "$WORK/lesson-mpi.out"; then
            pass "sbatch --ntasks=$r lesson-mpi.sbatch: $first, total=44"
        else
            fail "lesson-mpi.sbatch: exit $rc, output: $(cat "$WORK/lesson-mpi.out" 2>/dev/null)"
        fi
    else
        fail "MPI under Slurm: no mpirun / dask_loop_mpi (see above)"
    fi

    section "local Slurm: stop"
    pids=$(cat "$SLURM_DIR"/run/*.pid 2>/dev/null | tr '\n' ' ')
    "$SCRIPTS/local-slurm.sh" stop
    STARTED=0
    alive=""
    for p in $pids; do [[ -d /proc/$p ]] && alive+=" $p"; done
    [[ -z $alive ]] && pass "daemons ($pids) gone" || fail "still alive after stop:$alive"
fi

section "done"
if [[ $FAILS -eq 0 ]]; then
    echo "test-slurm: all checks passed"
else
    echo "test-slurm: $FAILS check(s) FAILED"
    exit 1
fi
