#!/usr/bin/env bash
# Sweep Slurm's --cpus-per-task over the lesson workloads and tabulate the result.
#
# usage: scripts/slurm-sweep.sh [options]
#
#   --cpus LIST        CPU counts to ask for, space or comma separated (default "1 2 4")
#   --ranks LIST       MPI ranks too: one row per ranks x CPUs, each an MPI job of R ranks with
#                      C CPUs per rank running dask_loop_mpi (the loop workload; build it with
#                      cargo build --release -p delayed --features mpi --example dask_loop_mpi);
#                      srun -n R --cpus-per-task=C --mpi=pmix, or mpirun -np R under --local.
#                      Rows of R x C beyond the node are refused, never overcommitted
#   --workload LIST    lesson workloads: delay, loop, loop_flow (default loop); each runs
#                      ${CARGO_TARGET_DIR:-target}/release/examples/dask_<name>
#                      (DELAYED_EXAMPLES_DIR overrides the dir)
#   --program PATH     run this program instead (same output contract); its workload name,
#                      for the ideal time and expected result, comes from --workload or its
#                      file name (dask_loop -> loop), else "custom" (no ideal)
#   --unit-ms N        each task sleeps N ms (default 1000, the lesson's 1 s)
#   --partition P      Slurm partition (default: the cluster's default)
#   --time T           Slurm time limit per job/step (default 00:10:00)
#   --wait-s N         longest wait for resources before a row is reported (default 30)
#   --out DIR          where the .csv and .md go (default results/slurm-sweep)
#   --local            no Slurm: emulate --cpus-per-task with taskset; rows labelled emulated
#   --jobs             outside an allocation: one `sbatch --wait` job per row, running
#                      scripts/lesson.sbatch (slower: sbatch --wait polls every 2-10 s)
#   --srun             outside an allocation: one `srun --immediate` allocation per row
#   --dry-run          print the commands, run nothing
#   -h, --help         this text
#
# Modes: inside an allocation (SLURM_JOB_ID set) each row is an `srun --exact` step of it.
# Outside one, the sweep submits itself with `sbatch --wait --exclusive --nodes=1` (a whole
# node) and runs the rows as steps there, so a row asking for more CPUs than a node has is
# refused by the cluster. --jobs and --srun give each row its own allocation instead;
# --local uses taskset.
#
# Each program prints, on stdout:  workers=<n> cpus=<list> / <result line> / wall clock time:<s>s
# (with --ranks, rank 0 prints ranks=<R> workers=<n> instead of the first line; a rank row is ok
# when ranks = R, workers = C and the result is total=44).
# A row's status is "ok" when the program ran with workers = CPUs asked, a CPU list of that
# many CPUs and the expected result; "refused: ..." when the cluster refused the request
# (e.g. more CPUs than a node has); "timeout", "failed" or "mismatch" otherwise.
# Exit status: 0 when every row is ok or refused, 1 otherwise, 2 on bad usage.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPTS=$REPO/scripts

CPUS="1 2 4"
RANKS=""
WORKLOADS="loop"
WL_SET=0
PROGRAM=""
UNIT_MS=1000
PARTITION=""
TIME="00:10:00"
WAIT_S=30
OUT=$REPO/results/slurm-sweep
MODE=auto
DRY=0
ARGV=("$@")

short_host() { local h; h=$(hostname -s 2>/dev/null || uname -n); echo "${h%%.*}"; }
usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }
die() { echo "slurm-sweep: error: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
    case $1 in
        --cpus) CPUS=${2:?--cpus needs a list}; shift 2 ;;
        --cpus=*) CPUS=${1#*=}; shift ;;
        --ranks) RANKS=${2:?--ranks needs a list}; shift 2 ;;
        --ranks=*) RANKS=${1#*=}; shift ;;
        --workload) WORKLOADS=${2:?--workload needs a name}; WL_SET=1; shift 2 ;;
        --workload=*) WORKLOADS=${1#*=}; WL_SET=1; shift ;;
        --program) PROGRAM=${2:?--program needs a path}; shift 2 ;;
        --program=*) PROGRAM=${1#*=}; shift ;;
        --unit-ms) UNIT_MS=${2:?--unit-ms needs a number}; shift 2 ;;
        --unit-ms=*) UNIT_MS=${1#*=}; shift ;;
        --partition) PARTITION=${2:?--partition needs a name}; shift 2 ;;
        --partition=*) PARTITION=${1#*=}; shift ;;
        --time) TIME=${2:?--time needs a value}; shift 2 ;;
        --time=*) TIME=${1#*=}; shift ;;
        --wait-s) WAIT_S=${2:?--wait-s needs seconds}; shift 2 ;;
        --wait-s=*) WAIT_S=${1#*=}; shift ;;
        --out) OUT=${2:?--out needs a dir}; shift 2 ;;
        --out=*) OUT=${1#*=}; shift ;;
        --local) MODE=local; shift ;;
        --srun) MODE=srun; shift ;;
        --jobs) MODE="jobs"; shift ;;
        --dry-run) DRY=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "slurm-sweep: unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

CPUS=${CPUS//,/ }
[[ $OUT == /* ]] || OUT=$PWD/$OUT
WORKLOADS=${WORKLOADS//,/ }
[[ $UNIT_MS =~ ^[0-9]+$ ]] || die "--unit-ms must be a whole number of ms"
[[ $WAIT_S =~ ^[0-9]+$ && $WAIT_S -ge 1 ]] || die "--wait-s must be a positive whole number"
for c in $CPUS; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "--cpus: '$c' is not a positive number"; done
RANKS=${RANKS//,/ }
RANKS=$(echo $RANKS)
for r in $RANKS; do [[ $r =~ ^[1-9][0-9]*$ ]] || die "--ranks: '$r' is not a positive number"; done

if [[ $MODE == auto ]]; then
    if [[ -n ${SLURM_JOB_ID:-} ]]; then
        MODE=step
    else
        MODE=alloc
    fi
fi
if [[ $MODE != local ]] && ! command -v srun >/dev/null; then
    echo "slurm-sweep: srun not found: this machine has no Slurm client." >&2
    echo "  Use --local to emulate --cpus-per-task with taskset (rows are labelled emulated)," >&2
    echo "  or start a private single-node Slurm: scripts/local-slurm.sh start" >&2
    exit 2
fi
if [[ $MODE == local ]] && ! command -v taskset >/dev/null; then
    die "--local needs taskset (util-linux)"
fi
if [[ $MODE == alloc || $MODE == jobs ]] && ! command -v sbatch >/dev/null; then
    die "sbatch not found (use --srun)"
fi
if [[ -n $RANKS && $MODE == local ]] && ! command -v mpirun >/dev/null; then
    die "--ranks with --local needs mpirun (Open MPI: apt-get install openmpi-bin libopenmpi-dev)"
fi
if [[ -n $RANKS ]]; then
    # the ranks of a row wait for each other without burning the CPUs they share
    export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
fi

# --- workloads -------------------------------------------------------------

# sleeping tasks in the parallel phase, sleeping units after it (delay's add; the
# loops' sum does not sleep), and the expected result line, per workload
wl_tasks() { case $1 in delay) echo 2 ;; loop) echo 8 ;; loop_flow) echo 10 ;; *) echo "" ;; esac; }
wl_tail() { case $1 in delay) echo 1 ;; *) echo 0 ;; esac; }
wl_result() { case $1 in delay) echo "result=5" ;; loop) echo "total=44" ;; loop_flow) echo "total=90" ;; *) echo "" ;; esac; }
wl_of_program() {
    local b
    b=$(basename "$1")
    case $b in dask_delay) echo delay ;; dask_loop) echo loop ;; dask_loop_flow) echo loop_flow ;; *) echo custom ;; esac
}

TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR=$PWD/$TARGET_DIR # cargo takes it from the working directory
EXAMPLES=${DELAYED_EXAMPLES_DIR:-$TARGET_DIR/release/examples}
declare -a ROW_WL ROW_PROG
BUILD_HINT="cargo build --release -p delayed-bench --examples"
if [[ -n $RANKS ]]; then
    # MPI rows: the lesson's loop across the ranks of one MPI job
    wl=loop
    if [[ $WL_SET -eq 1 ]]; then
        [[ $WORKLOADS != *" "* ]] || die "--ranks takes one --workload"
        wl=${WORKLOADS#dask_}
        wl=${wl%_mpi}
    fi
    if [[ -n $PROGRAM ]]; then
        [[ $PROGRAM == /* ]] || PROGRAM=$PWD/$PROGRAM
        [[ $WL_SET -eq 1 ]] || wl=$(wl_of_program "${PROGRAM%_mpi}")
        [[ -n $(wl_tasks "$wl") ]] || wl=custom
    else
        [[ $wl == loop ]] || die "--ranks runs dask_loop_mpi, the loop workload (not '$wl'); --program PATH for others"
        PROGRAM=$EXAMPLES/dask_loop_mpi
        BUILD_HINT="cargo build --release -p delayed --features mpi --example dask_loop_mpi"
    fi
    ROW_WL=("$wl")
    ROW_PROG=("$PROGRAM")
elif [[ -n $PROGRAM ]]; then
    [[ $PROGRAM == /* ]] || PROGRAM=$PWD/$PROGRAM
    wl=$(wl_of_program "$PROGRAM")
    if [[ $WL_SET -eq 1 ]]; then
        [[ $WORKLOADS != *" "* ]] || die "--program takes one --workload"
        wl=${WORKLOADS#dask_}
    fi
    [[ -n $(wl_tasks "$wl") ]] || wl=custom
    ROW_WL=("$wl")
    ROW_PROG=("$PROGRAM")
else
    for wl in $WORKLOADS; do
        wl=${wl#dask_}
        [[ -n $(wl_tasks "$wl") ]] || die "unknown workload '$wl' (delay, loop, loop_flow; or --program PATH)"
        ROW_WL+=("$wl")
        ROW_PROG+=("$EXAMPLES/dask_$wl")
    done
fi
if [[ $DRY -eq 0 ]]; then
    for p in "${ROW_PROG[@]}"; do
        [[ -x $p ]] || {
            echo "slurm-sweep: $p not found or not executable." >&2
            echo "  Build the examples: $BUILD_HINT" >&2
            exit 2
        }
    done
fi

# ideal seconds: ceil(tasks/cpus) waves of one unit, plus the tail (delay's add)
ideal_s() {
    local n t
    n=$(wl_tasks "$1")
    t=$(wl_tail "$1")
    [[ -n $n ]] || { echo ""; return; }
    awk -v n="$n" -v t="$t" -v c="$2" -v u="$UNIT_MS" 'BEGIN { printf "%.3f", (int((n + c - 1) / c) + t) * u / 1000 }'
}

# --- helpers ---------------------------------------------------------------

# expand "0-2,5" -> "0 1 2 5"
expand_list() {
    local part a b out=()
    local IFS=,
    for part in $1; do
        if [[ $part == *-* ]]; then
            a=${part%-*}; b=${part#*-}
            for ((; a <= b; a++)); do out+=("$a"); done
        elif [[ -n $part ]]; then
            out+=("$part")
        fi
    done
    IFS=' '
    echo "${out[*]}"
}

now() { date +%s.%N; }
csvq() { local s=${1//\"/\"\"}; [[ $s == *[,\"]* ]] && s="\"$s\""; printf '%s' "$s"; }
one_line() { tr '\n' ' ' | sed -e 's/  */ /g' -e 's/^ //' -e 's/ $//' | cut -c1-200; }

# shell-quote for display and for --wrap: plain words as they are, others in '...'
quote_cmd() {
    local a q=""
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then
            q+=" $a"
        else
            q+=" '${a//\'/\'\\\'\'}'"
        fi
    done
    echo "${q# }"
}

# --- cluster and output files ----------------------------------------------

if [[ $MODE == local ]]; then
    CLUSTER="emulated-$(short_host)"
    MASK=$(expand_list "$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)")
    read -r -a MASK_ARR <<<"$MASK"
else
    CLUSTER=$(scontrol show config 2>/dev/null | awk -F'= *' '/^ClusterName/ {gsub(/ /, "", $2); print $2}')
    if [[ -z $CLUSTER ]]; then
        [[ $DRY -eq 1 ]] || { echo "slurm-sweep: cannot reach slurmctld (scontrol show config failed); is SLURM_CONF set?" >&2; exit 2; }
        CLUSTER=unknown
    fi
fi
STAMP=$(date +%Y-%m-%dT%H%M%S)
BASE="$OUT/$STAMP-$CLUSTER"
CSV=$BASE.csv
MD=$BASE.md
RAW=$OUT/.raw-$STAMP-$$

if [[ $DRY -eq 0 ]]; then
    mkdir -p "$OUT" "$RAW" || exit 2
    trap 'rm -rf "$RAW"' EXIT
    if [[ $MODE == alloc ]]; then
        :
    elif [[ -n $RANKS ]]; then
        echo "date,cluster,mode,workload,ranks,cpus_asked,workers,cpu_list,result,wall_s,ideal_s,step_s,status" >"$CSV"
    else
        echo "date,cluster,mode,workload,cpus_asked,workers,cpu_list,result,wall_s,ideal_s,step_s,status" >"$CSV"
    fi
fi

JOBPREFIX="sweep-$$"
CURRENT_JOB=""
cleanup_job() { [[ -n $CURRENT_JOB && $MODE != local ]] && scancel --name="$CURRENT_JOB" 2>/dev/null; return 0; }
# run a bounded command in the background and wait, so a signal is handled at once
CHILD=""
bounded() {
    timeout --kill-after=5 "$@" &
    CHILD=$!
    wait "$CHILD"
    local rc=$?
    CHILD=""
    return $rc
}
on_signal() {
    [[ -n $CHILD ]] && kill -TERM "$CHILD" 2>/dev/null
    cleanup_job
    exit 130
}
trap on_signal INT TERM HUP

# --- one row ---------------------------------------------------------------

ROWS_MD=()
BAD=0

# run_row WORKLOAD PROGRAM CPUS [RANKS]: RANKS given -> one MPI job of RANKS ranks x CPUS each
run_row() {
    local wl=$1 prog=$2 c=$3 r=${4:-}
    local ideal name out err rc t0 t1 step_s cmd=() total_c=$3
    [[ -n $r ]] && total_c=$((r * c))
    ideal=$(ideal_s "$wl" "$total_c")
    name="$JOBPREFIX-$wl-$c"
    [[ -n $r ]] && name="$JOBPREFIX-$wl-${r}x$c"
    out=$RAW/$name.out
    err=$RAW/$name.err
    local pargs=(--unit-ms "$UNIT_MS")
    local sl=()
    [[ -n $PARTITION ]] && sl+=(--partition="$PARTITION")
    [[ -n $TIME ]] && sl+=(--time="$TIME")
    # the run itself may take a few ideal times on a loaded machine; the wait for
    # resources is bounded by --wait-s (srun --immediate, or the timeout below)
    local run_s=600
    [[ -n $ideal ]] && run_s=$(awk -v i="$ideal" 'BEGIN { printf "%d", 4 * i + 30 }')
    local bound=$((WAIT_S + run_s))

    # an MPI row: R tasks of C CPUs each, started by srun through PMIx
    local ntasks=1 mpi=() batch=$SCRIPTS/lesson.sbatch
    if [[ -n $r ]]; then
        ntasks=$r
        mpi=(--mpi=pmix)
        batch=$SCRIPTS/lesson-mpi.sbatch
    fi

    case $MODE in
        step)
            cmd=(srun --ntasks="$ntasks" --nodes=1 --cpus-per-task="$c" --exact "${mpi[@]}" --job-name="$name" "${sl[@]}" "$prog" "${pargs[@]}")
            ;;
        srun)
            cmd=(srun --immediate="$WAIT_S" --ntasks="$ntasks" --nodes=1 --cpus-per-task="$c" "${mpi[@]}" --job-name="$name" "${sl[@]}" "$prog" "${pargs[@]}")
            ;;
        jobs)
            cmd=(sbatch --wait --quiet --ntasks="$ntasks" --nodes=1 --cpus-per-task="$c" --job-name="$name" "${sl[@]}"
                --output="$out" --error="$err.job" "$batch" "$prog" "${pargs[@]}")
            ;;
        local)
            if ((total_c > ${#MASK_ARR[@]})); then
                cmd=()
            else
                local sel
                sel=$(IFS=,; echo "${MASK_ARR[*]:0:total_c}")
                if [[ -n $r ]]; then
                    # R ranks share the first R x C CPUs of the mask, C workers each
                    cmd=(env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 DELAYED_NUM_WORKERS="$c"
                        taskset -c "$sel" mpirun -np "$r" --oversubscribe --bind-to none
                        -x DELAYED_NUM_WORKERS -x OMPI_MCA_mpi_yield_when_idle "$prog" "${pargs[@]}")
                else
                    cmd=(env SLURM_CPUS_PER_TASK="$c" taskset -c "$sel" "$prog" "${pargs[@]}")
                fi
            fi
            ;;
    esac

    if [[ $DRY -eq 1 ]]; then
        if [[ ${#cmd[@]} -eq 0 ]]; then
            echo "# $wl ${r:+ranks=$r }cpus=$c: refused (emulated): only ${#MASK_ARR[@]} CPUs in this process's mask"
        else
            echo "timeout $bound $(quote_cmd "${cmd[@]}")"
        fi
        return
    fi

    CURRENT_JOB=$name
    t0=$(now)
    if [[ ${#cmd[@]} -eq 0 ]]; then
        echo "refused (emulated): ${r:+$r ranks x }$c CPUs asked, this process's affinity mask has only ${#MASK_ARR[@]} (${MASK// /,})" >"$err"
        : >"$out"
        rc=1
    elif [[ $MODE == jobs ]]; then
        bounded "$bound" "${cmd[@]}" >"$err.submit" 2>&1 </dev/null
        rc=$?
        cat "$err.submit" "$err.job" >"$err" 2>/dev/null
        [[ -f $out ]] || : >"$out"
    else
        bounded "$bound" "${cmd[@]}" >"$out" 2>"$err" </dev/null
        rc=$?
    fi
    t1=$(now)
    [[ $rc -eq 124 || $rc -eq 137 ]] && cleanup_job
    CURRENT_JOB=""
    step_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')

    # parse the contract
    local workers="" cpu_list="" result="" wall="" line ranks_seen=""
    if [[ -n $r ]]; then
        # rank 0: ranks=<R> workers=<n> (no CPU list)
        line=$(grep -m1 -E '^ranks=[0-9]+ workers=[0-9]+' "$out")
        if [[ -n $line ]]; then
            ranks_seen=$(sed -E 's/^ranks=([0-9]+) .*/\1/' <<<"$line")
            workers=$(sed -E 's/^ranks=[0-9]+ workers=([0-9]+).*/\1/' <<<"$line")
        fi
    else
        line=$(grep -m1 -E '^workers=[0-9]+ cpus=' "$out")
        if [[ -n $line ]]; then
            workers=$(sed -E 's/^workers=([0-9]+) .*/\1/' <<<"$line")
            cpu_list=$(sed -E 's/^workers=[0-9]+ cpus=([^ ]*).*/\1/' <<<"$line")
        fi
    fi
    wall=$(sed -nE 's/^wall clock time: *([0-9.]+) *s.*/\1/p' "$out" | head -n1)
    result=$(grep -vE '^(workers=|ranks=|wall clock time:)' "$out" | grep -m1 -E '\S' | one_line)

    local status n_list expect
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        status="timeout: no result within ${bound}s (waited for resources or hung); job cancelled"
    elif [[ $rc -ne 0 ]]; then
        local msg
        msg=$(grep -m1 -iE 'More processors requested|Requested node configuration is not available|Unable to allocate|Unable to create step|submission failed|refused|exceed|not available|Invalid' "$err" | sed -E 's/^(srun|sbatch): (error: )?//' | one_line)
        if [[ $msg == refused* ]]; then
            status=$msg
        elif [[ -n $msg && -z $line ]]; then
            status="refused: $msg"
        else
            status="failed (exit $rc): $( (tail -n 2 "$err"; [[ -s $err ]] || tail -n 2 "$out") | one_line)"
        fi
    elif [[ -n $r && ( -z $line || -z $wall ) ]]; then
        status="mismatch: output lacks the ranks= workers=/wall clock time: lines"
    elif [[ -n $r ]]; then
        expect=$(wl_result "$wl")
        status=ok
        if [[ $ranks_seen != "$r" ]]; then
            status="mismatch: $ranks_seen ranks for $r asked"
        elif [[ $workers != "$c" ]]; then
            status="mismatch: $workers workers for $c CPUs per rank"
        elif [[ -n $expect && $result != "$expect" ]]; then
            status="mismatch: result '$result', expected '$expect'"
        fi
    elif [[ -z $line || -z $wall ]]; then
        status="mismatch: output lacks the workers=/wall clock time: lines"
    else
        n_list=$(wc -w <<<"$(expand_list "$cpu_list")")
        expect=$(wl_result "$wl")
        status=ok
        if [[ $workers != "$c" ]]; then
            status="mismatch: $workers workers for $c CPUs"
        elif [[ $n_list -ne $c ]]; then
            status="mismatch: CPU list has $n_list CPUs for $c asked"
        elif [[ -n $expect && $result != "$expect" ]]; then
            status="mismatch: result '$result', expected '$expect'"
        fi
    fi
    case $status in ok | refused*) ;; *) BAD=1 ;; esac

    local mode_label=$MODE
    [[ $MODE == local ]] && mode_label=emulated
    {
        printf '%s,%s,%s,%s,' "$STAMP" "$(csvq "$CLUSTER")" "$mode_label" "$wl"
        [[ -n $r ]] && printf '%s,' "$r"
        printf '%s,%s,' "$c" "$workers"
        printf '%s,%s,%s,%s,%s,%s\n' "$(csvq "$cpu_list")" "$(csvq "$result")" "$wall" "$ideal" "$step_s" "$(csvq "$status")"
    } >>"$CSV"
    local md_status=${status//|/\\|}
    if [[ -n $r ]]; then
        ROWS_MD+=("| $wl | $r | $c | ${workers:--} | ${result:--} | ${wall:--} | ${ideal:--} | $step_s | $md_status |")
        printf '%-9s ranks=%-3s cpus=%-3s workers=%-3s %-10s wall=%-7s ideal=%-7s %s\n' \
            "$wl" "$r" "$c" "${workers:--}" "${result:--}" "${wall:--}" "${ideal:--}" "$status"
        return
    fi
    ROWS_MD+=("| $wl | $c | ${workers:--} | ${cpu_list:--} | ${result:--} | ${wall:--} | ${ideal:--} | $step_s | $md_status |")
    printf '%-9s cpus=%-3s workers=%-3s cpu_list=%-8s %-10s wall=%-7s ideal=%-7s %s\n' \
        "$wl" "$c" "${workers:--}" "${cpu_list:--}" "${result:--}" "${wall:--}" "${ideal:--}" "$status"
}

# --- outside an allocation: submit the sweep itself as one whole-node job ----

if [[ $MODE == alloc ]]; then
    SWEEP_COMMAND="scripts/slurm-sweep.sh $(quote_cmd "${ARGV[@]}")"
    export SWEEP_COMMAND
    inner=("$SCRIPTS/slurm-sweep.sh" --cpus "$CPUS" --unit-ms "$UNIT_MS" --wait-s "$WAIT_S" --out "$OUT")
    [[ -n $TIME ]] && inner+=(--time "$TIME")
    [[ -n $RANKS ]] && inner+=(--ranks "$RANKS")
    if [[ -n $PROGRAM ]]; then
        inner+=(--program "$PROGRAM" --workload "${ROW_WL[0]}")
    else
        inner+=(--workload "${ROW_WL[*]}")
    fi
    # bound: the wait for the node, plus every row's own bound
    total=$WAIT_S
    for wl in "${ROW_WL[@]}"; do
        for rc_pair in $(for r in ${RANKS:-1}; do for c in $CPUS; do echo $((r * c)); done; done); do
            i=$(ideal_s "$wl" "$rc_pair")
            if [[ -n $i ]]; then
                total=$((total + $(awk -v i="$i" 'BEGIN { printf "%d", 4 * i + 30 }') + WAIT_S))
            else
                total=$((total + 600 + WAIT_S))
            fi
        done
    done
    sl=()
    [[ -n $PARTITION ]] && sl+=(--partition="$PARTITION")
    [[ -n $TIME ]] && sl+=(--time="$TIME")
    sub=(sbatch --wait --quiet --exclusive --nodes=1 --ntasks=1 --job-name="$JOBPREFIX" "${sl[@]}"
        --export=ALL,SWEEP_VIA_SBATCH=1,SWEEP_COMMAND --chdir="$REPO" --output="$RAW/job.out"
        --wrap="exec $(quote_cmd "${inner[@]}")")
    if [[ $DRY -eq 1 ]]; then
        echo "timeout $total $(quote_cmd "${sub[@]}")"
        echo "# inside that allocation:"
        SLURM_JOB_ID=DRYRUN SWEEP_VIA_SBATCH=1 "${inner[@]}" --dry-run | sed 's/^/#   /'
        exit 0
    fi
    echo "slurm-sweep: not inside an allocation; submitting the sweep as one whole-node job (sbatch --wait --exclusive)" >&2
    CURRENT_JOB=$JOBPREFIX
    bounded "$total" "${sub[@]}" </dev/null
    rc=$?
    [[ -f $RAW/job.out ]] && cat "$RAW/job.out"
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        cleanup_job
        echo "slurm-sweep: the job did not finish within ${total}s (no node free within --wait-s ${WAIT_S}s, or a row hung); cancelled" >&2
    fi
    exit $rc
fi

# --- the sweep -------------------------------------------------------------

if [[ $DRY -eq 0 ]]; then
    echo "slurm-sweep: mode $MODE, cluster $CLUSTER,${RANKS:+ ranks: $RANKS,} cpus: $CPUS, unit ${UNIT_MS} ms -> $CSV" >&2
fi
if [[ -n $RANKS ]]; then
    for r in $RANKS; do
        for c in $CPUS; do
            run_row "${ROW_WL[0]}" "${ROW_PROG[0]}" "$c" "$r"
        done
    done
else
    for i in "${!ROW_WL[@]}"; do
        for c in $CPUS; do
            run_row "${ROW_WL[$i]}" "${ROW_PROG[$i]}" "$c"
        done
    done
fi
[[ $DRY -eq 1 ]] && exit 0

# --- markdown --------------------------------------------------------------

commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]] && commit+=" (with uncommitted changes)"
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
case $MODE in
    step) how="each row an \`srun --ntasks=1 --cpus-per-task=N --exact\` step of allocation $SLURM_JOB_ID" ;;&
    step) [[ -n $RANKS ]] && how="each row an \`srun --ntasks=R --cpus-per-task=N --exact --mpi=pmix\` step of allocation $SLURM_JOB_ID" ;;&
    step) [[ -n ${SWEEP_VIA_SBATCH:-} ]] && how+=", a whole node submitted by the sweep with \`sbatch --wait --exclusive --nodes=1\`" ;;
    srun) how="each row its own \`srun --immediate=$WAIT_S --cpus-per-task=N\` allocation" ;;
    jobs) how="each row a job, \`sbatch --wait --cpus-per-task=N scripts/lesson.sbatch\`" ;;
    local) how="EMULATED: no Slurm; \`taskset -c <first N CPUs>\` with SLURM_CPUS_PER_TASK=N" ;;
esac
if [[ -n $RANKS ]]; then
    case $MODE in
        srun) how="each row its own \`srun --immediate=$WAIT_S --ntasks=R --cpus-per-task=N --mpi=pmix\` allocation" ;;
        jobs) how="each row a job, \`sbatch --wait --ntasks=R --cpus-per-task=N scripts/lesson-mpi.sbatch\`" ;;
        local) how="EMULATED: no Slurm; \`taskset -c <first R x N CPUs> mpirun -np R --oversubscribe --bind-to none\` with DELAYED_NUM_WORKERS=N" ;;
    esac
fi
progs=""
for p in "${ROW_PROG[@]}"; do progs+="${progs:+, }\`${p#"$REPO"/}\`"; done
slurm_version=""
[[ $MODE != local ]] && slurm_version=$(srun --version 2>/dev/null)
{
    echo "# Slurm ${RANKS:+MPI ranks x }--cpus-per-task sweep: $CLUSTER, $STAMP"
    echo
    echo "- machine: $(short_host), nproc $(nproc), ${cpu_model:-unknown CPU}"
    [[ -n $slurm_version ]] && echo "- slurm: $slurm_version, cluster \`$CLUSTER\`"
    echo "- mode: $how"
    echo "- commit: $commit"
    echo "- programs: $progs"
    echo "- command: \`${SWEEP_COMMAND:-scripts/slurm-sweep.sh $(quote_cmd "${ARGV[@]}")}\`"
    if [[ -n $RANKS ]]; then
        echo "- unit: ${UNIT_MS} ms per task; ideal = ceil(8 / (ranks x CPUs per rank)) x unit (the loop's 8 incs over all ranks' workers; its sum does not sleep); rows of ranks x CPUs beyond the node are refused, not overcommitted"
        echo "- wall: rank 0's own \`wall clock time\` (the graph only, not MPI start-up); step: the whole srun/sbatch/mpirun round trip, as seen by the sweep"
        echo "- workers: rank 0's workers, expected = CPUs per rank"
        echo
        echo "| workload | ranks | CPUs per rank | workers | result | wall (s) | ideal (s) | step (s) | status |"
        echo "|---|---:|---:|---:|---|---:|---:|---:|---|"
    else
        echo "- unit: ${UNIT_MS} ms per task; ideal = ceil(tasks / CPUs) x unit, + 1 unit for delay's add (tasks: loop 8, loop_flow 10, delay 2; the loops' sum does not sleep)"
        echo "- wall: the program's own \`wall clock time\`; step: the whole srun/sbatch round trip, as seen by the sweep"
        echo
        echo "| workload | CPUs asked | workers | CPU list | result | wall (s) | ideal (s) | step (s) | status |"
        echo "|---|---:|---:|---|---|---:|---:|---:|---|"
    fi
    printf '%s\n' "${ROWS_MD[@]}"
} >"$MD"
echo "slurm-sweep: wrote $CSV and $MD" >&2
exit $BAD
