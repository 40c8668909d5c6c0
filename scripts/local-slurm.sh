#!/usr/bin/env bash
# A private single-node Slurm on loopback, for tests and for trying the sweep.
#
#   scripts/local-slurm.sh install   apt-get the Debian packages if missing
#   scripts/local-slurm.sh start     munged + slurmctld + slurmd, wait until the node is idle
#   scripts/local-slurm.sh status    daemons alive? node state (exit 0 only when all up)
#   scripts/local-slurm.sh stop      end exactly the daemons started here (by pid file)
#   scripts/local-slurm.sh env       print `export SLURM_CONF=...` for use with eval
#
# Everything (config, munge key and socket, state, spool, logs, pid files)
# lives under one directory: $LOCAL_SLURM_DIR, default <repo>/target/local-slurm.
# Ports: $LOCAL_SLURM_PORT (slurmctld; slurmd uses the next one); by default
# the first free pair from 6817 up. Needs root (SlurmUser=root).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${LOCAL_SLURM_DIR:-$REPO/target/local-slurm}
CONF=$DIR/etc/slurm.conf
MUNGE_SOCK=$DIR/munge/munge.socket
PKGS=(slurmd slurmctld slurm-client munge)

short_host() { local h; h=$(hostname -s 2>/dev/null || uname -n); echo "${h%%.*}"; }
log() { echo "local-slurm: $*" >&2; }
die() { log "error: $*"; exit 1; }

pidfile() { echo "$DIR/run/$1.pid"; }

# pid of a daemon we started, if its pid file names a live process of that name
live_pid() {
    local f pid comm
    f=$(pidfile "$1")
    [[ -s $f ]] || return 1
    pid=$(tr -dc '0-9' <"$f")
    [[ -n $pid ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [[ $comm == "$1" ]] || return 1
    echo "$pid"
}

have_packages() {
    command -v munged >/dev/null && command -v slurmctld >/dev/null &&
        command -v slurmd >/dev/null && command -v srun >/dev/null
}

cmd_install() {
    if have_packages; then
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "packages missing and not root: apt-get install ${PKGS[*]}"
    command -v apt-get >/dev/null || die "packages missing and no apt-get: install ${PKGS[*]}"
    log "installing ${PKGS[*]} (apt-get)"
    # update only when the package lists are missing or the install fails
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >"$DIR/apt.log" 2>&1; then
        apt-get update -qq >>"$DIR/apt.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >>"$DIR/apt.log" 2>&1 ||
            die "apt-get install failed, see $DIR/apt.log"
    fi
    have_packages || die "installed, but munged/slurmctld/slurmd/srun still missing"
}

port_free() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

pick_port() {
    if [[ -n ${LOCAL_SLURM_PORT:-} ]]; then
        echo "$LOCAL_SLURM_PORT"
        return
    fi
    local p
    for ((p = 6817; p < 6917; p += 2)); do
        if port_free "$p" && port_free $((p + 1)); then
            echo "$p"
            return
        fi
    done
    die "no free port pair in 6817..6916"
}

write_conf() {
    local host port node
    host=$(short_host)
    port=$1
    # the node's real shape (CPUs, sockets, cores, threads, memory), under our name
    node=$(slurmd -C | head -n1 | sed -e 's/^NodeName=[^ ]* *//')
    cat >"$CONF" <<EOF
# written by scripts/local-slurm.sh; private single-node cluster on loopback
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCK
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$(pidfile slurmctld)
SlurmdPidFile=$(pidfile slurmd)
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
EnforcePartLimits=ALL
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
# <= 5 keeps sbatch --wait polling every 2 s (it backs off to 32 s otherwise)
MinJobAge=5
NodeName=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

node_state() {
    SLURM_CONF=$CONF timeout 5 sinfo -h -N -o '%T' 2>/dev/null | head -n1
}

cmd_status() {
    local d pid ok=0
    for d in munged slurmctld slurmd; do
        if pid=$(live_pid "$d"); then
            echo "$d: running (pid $pid)"
        else
            echo "$d: not running"
            ok=1
        fi
    done
    if [[ $ok -eq 0 ]]; then
        echo "node: $(node_state || echo unknown)"
        echo "export SLURM_CONF=$CONF"
    fi
    echo "dir: $DIR"
    return $ok
}

# SIGTERM to the named daemons at once, wait up to 10 s, then SIGKILL
stop_daemons() {
    local d pid i left
    local -A pids=()
    for d in "$@"; do
        if pid=$(live_pid "$d"); then
            pids[$d]=$pid
            kill -TERM "$pid" 2>/dev/null || true
        fi
        rm -f "$(pidfile "$d")"
    done
    for ((i = 0; i < 100; i++)); do
        left=0
        for d in "${!pids[@]}"; do [[ -d /proc/${pids[$d]} ]] && left=1; done
        [[ $left -eq 0 ]] && break
        sleep 0.1
    done
    for d in "${!pids[@]}"; do
        pid=${pids[$d]}
        if [[ -d /proc/$pid ]]; then
            log "$d (pid $pid) ignored SIGTERM for 10 s; SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped $d (pid $pid)"
        STOPPED=1
    done
}

# cancel this cluster's jobs so their slurmstepd end before slurmd does (bounded)
cancel_jobs() {
    live_pid slurmctld >/dev/null || return 0
    local ids i
    ids=$(SLURM_CONF=$CONF timeout 5 squeue -h -o '%A' 2>/dev/null | tr '\n' ' ')
    [[ -n ${ids// /} ]] || return 0
    log "cancelling jobs: $ids"
    # shellcheck disable=SC2086
    SLURM_CONF=$CONF timeout 5 scancel $ids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        [[ -z $(SLURM_CONF=$CONF timeout 5 squeue -h -o '%A' 2>/dev/null) ]] && break
        sleep 0.2
    done
}

# slurmstepd processes of this cluster (their cwd or open files lie under $DIR)
# left behind by a job that outlived slurmd
stray_stepds() {
    local p
    for p in /proc/[0-9]*; do
        [[ $(cat "$p/comm" 2>/dev/null) == slurmstepd ]] || continue
        if readlink "$p/cwd" "$p"/fd/* 2>/dev/null | grep -q "^$DIR/"; then
            echo "${p#/proc/}"
        fi
    done
}

cmd_stop() {
    STOPPED=0
    cancel_jobs
    stop_daemons slurmd slurmctld
    local strays p i
    strays=$(stray_stepds)
    if [[ -n $strays ]]; then
        log "ending slurmstepd left by this cluster: $strays"
        # shellcheck disable=SC2086
        kill -TERM $strays 2>/dev/null || true
        sleep 1
        for p in $strays; do [[ -d /proc/$p ]] && kill -KILL "$p" 2>/dev/null; done
        for ((i = 0; i < 50; i++)); do
            [[ -z $(stray_stepds) ]] && break
            sleep 0.1
        done
    fi
    stop_daemons munged # last: the Slurm daemons talk to it while they shut down
    [[ $STOPPED -eq 1 ]] || log "nothing running under $DIR"
}

cmd_start() {
    if cmd_status >/dev/null 2>&1; then
        log "already running under $DIR"
        echo "export SLURM_CONF=$CONF"
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "must run as root (SlurmUser=root)"
    mkdir -p "$DIR"
    cmd_install
    cmd_stop 2>/dev/null # leftovers of a half-started run
    mkdir -p "$DIR"/{etc,munge,state,spool,log,run}
    chmod 700 "$DIR/munge"
    rm -rf "${DIR:?}/state"/* "${DIR:?}/spool"/*

    # munge: private key, socket, pid, seed and log
    if [[ ! -s $DIR/munge/munge.key ]]; then
        (umask 077 && head -c 1024 /dev/urandom >"$DIR/munge/munge.key")
    fi
    chmod 400 "$DIR/munge/munge.key"
    munged --force --socket="$MUNGE_SOCK" --key-file="$DIR/munge/munge.key" \
        --pid-file="$(pidfile munged)" --seed-file="$DIR/munge/munged.seed" \
        --log-file="$DIR/log/munged.log" ||
        die "munged failed; see $DIR/log/munged.log"
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -S $MUNGE_SOCK ]] && live_pid munged >/dev/null && break
        sleep 0.1
    done
    [[ -S $MUNGE_SOCK ]] || die "munged socket $MUNGE_SOCK did not appear; see $DIR/log/munged.log"

    local port
    port=$(pick_port)
    write_conf "$port"

    slurmctld -c -f "$CONF" || die "slurmctld failed; see $DIR/log/slurmctld.log"
    slurmd -N "$(short_host)" -f "$CONF" || die "slurmd failed; see $DIR/log/slurmd.log"

    local st=""
    for ((i = 0; i < 150; i++)); do
        st=$(node_state || true)
        [[ $st == idle* ]] && break
        sleep 0.2
    done
    if [[ $st != idle* ]]; then
        log "node not idle after 30 s (state: ${st:-none}); logs:"
        tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
        cmd_stop
        exit 1
    fi
    log "up: node $(short_host) idle, ports $port/$((port + 1)), dir $DIR"
    echo "export SLURM_CONF=$CONF"
}

case ${1:-} in
    install) mkdir -p "$DIR" && cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    -h | --help | help)
        sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        ;;
    *)
        echo "usage: $0 install|start|stop|status|env" >&2
        exit 2
        ;;
esac
