# shellcheck shell=bash
# Helpers for ci/bench: JDK discovery, starting servers, /proc readings, cleanup by PID.
# Sourced, never run. Every function reports errors on stderr; nothing here loops without a bound.

# PIDs this script started (wrappers and the JVMs under them); ended by bench_cleanup on EXIT.
BENCH_PIDS=()

bench_say() { printf '%s\n' "bench: $*" >&2; }
bench_die() { bench_say "error: $*"; exit 1; }

# The major version of a java binary (8 for 1.8.0_x, 21 for 21.0.2), or nothing.
bench_java_major() {
    "$1" -version 2>&1 | sed -n 's/.* version "\([0-9][0-9]*\)\(\.[0-9]*\)*.*".*/\1/p' | head -n 1
}

# True if $1 is a JDK (java and javac: the build needs javac) of version 21 or newer.
bench_good_jdk() {
    [[ -n "$1" && -x "$1/bin/java" && -x "$1/bin/javac" ]] || return 1
    local v
    v=$(bench_java_major "$1/bin/java")
    [[ -n "$v" && "$v" -ge 21 ]]
}

# Sets and exports JAVA_HOME the way the root ./twine script finds its JDK, so both servers run on
# the same one: JAVA_HOME if it is a JDK >= 21, else the JDK of `java` on PATH if >= 21, else the
# newest JDK >= 21 under /usr/lib/jvm.
bench_find_java() {
    local j home d v best="" best_v=0
    if [[ -n "${JAVA_HOME:-}" ]] && bench_good_jdk "$JAVA_HOME"; then
        export JAVA_HOME
        return 0
    fi
    if j=$(command -v java 2>/dev/null); then
        j=$(readlink -f "$j" 2>/dev/null || echo "$j")
        home=$(dirname -- "$(dirname -- "$j")")
        if bench_good_jdk "$home"; then
            export JAVA_HOME=$home
            return 0
        fi
    fi
    for d in /usr/lib/jvm/*; do
        if [[ ! -d "$d" ]] || ! bench_good_jdk "$d"; then continue; fi
        v=$(bench_java_major "$d/bin/java")
        if ((v > best_v)); then
            best=$d
            best_v=$v
        fi
    done
    [[ -n "$best" ]] || bench_die "no JDK >= 21: set JAVA_HOME, put a JDK 21+ on PATH, or install one under /usr/lib/jvm"
    export JAVA_HOME=$best
}

# Records a PID for bench_cleanup.
bench_track() { BENCH_PIDS+=("$1"); }

# Ends every tracked process by PID: SIGTERM, up to 5 s grace, then SIGKILL. Installed on EXIT.
bench_cleanup() {
    local pid i alive
    ((${#BENCH_PIDS[@]})) || return 0
    for pid in "${BENCH_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < 50; i++)); do
        alive=0
        for pid in "${BENCH_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        ((alive)) || break
        sleep 0.1
    done
    for pid in "${BENCH_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    for pid in "${BENCH_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    BENCH_PIDS=()
}

# Forgets a tracked PID that has ended.
bench_forget() {
    local kept=() p
    for p in "${BENCH_PIDS[@]}"; do
        [[ "$p" == "$1" ]] || kept+=("$p")
    done
    BENCH_PIDS=("${kept[@]}")
}

# Ends one process started by this script (and forgets it).
bench_stop() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    bench_forget "$pid"
}

# The JVM process at or under PID: PID itself if its executable is java, else the first java
# descendant (a launcher script such as ./twine may run java without exec). Prints nothing if none.
bench_java_pid() { bench_pid_named "$1" java; }

# The first process at or under PID, breadth first (at most 64 looked at), whose executable is
# named NAME (java, beam.smp). Prints nothing if none.
bench_pid_named() {
    local queue=("$1") pid exe children
    local seen=0
    while ((${#queue[@]})) && ((seen < 64)); do
        pid=${queue[0]}
        queue=("${queue[@]:1}")
        seen=$((seen + 1))
        exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
        if [[ "$exe" == */"$2" ]]; then
            printf '%s\n' "$pid"
            return 0
        fi
        children=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
        for pid in $children; do
            queue+=("$pid")
        done
    done
}

# Starts a server in the background with its output in LOG, waits (bounded by TIMEOUT seconds)
# for its `listening SERVICE tcp ADDR:PORT` line, and sets BENCH_SERVER_PID (what was started),
# BENCH_SERVER_JVM (the java process doing the work) and BENCH_SERVER_PORT.
#   bench_start_server SERVICE LOG TIMEOUT JVM_OPTS -- COMMAND...
bench_start_server() {
    local service=$1 log=$2 timeout=$3 jvm_opts=$4
    shift 5
    : >"$log"
    # JDK_JAVA_OPTIONS is read by the java launcher itself, so both servers get the same flags
    # however their start command builds its java command line
    JDK_JAVA_OPTIONS="$jvm_opts" "$@" >"$log" 2>&1 </dev/null &
    BENCH_SERVER_PID=$!
    bench_track "$BENCH_SERVER_PID"
    BENCH_SERVER_PORT=""
    local i line
    for ((i = 0; i < timeout * 10; i++)); do
        line=$(grep -m1 -E "^listening $service tcp [0-9.]+:[0-9]+\$" "$log" || true)
        if [[ -n "$line" ]]; then
            BENCH_SERVER_PORT=${line##*:}
            break
        fi
        kill -0 "$BENCH_SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z "$BENCH_SERVER_PORT" ]]; then
        bench_say "$service did not print 'listening $service tcp ADDR:PORT' within ${timeout}s; its output:"
        sed 's/^/    /' "$log" >&2
        return 1
    fi
    BENCH_SERVER_JVM=$(bench_java_pid "$BENCH_SERVER_PID")
    if [[ -z "$BENCH_SERVER_JVM" ]]; then
        bench_say "$service: no java process found under PID $BENCH_SERVER_PID"
        return 1
    fi
    [[ "$BENCH_SERVER_JVM" == "$BENCH_SERVER_PID" ]] || bench_track "$BENCH_SERVER_JVM"
}

# VmRSS of PID in KiB.
bench_rss_kib() {
    awk '/^VmRSS:/ { print $2; exit }' "/proc/$1/status"
}

# Heap in use of JVM PID in KiB (after the last GC when called right after bench_gc), or nothing.
bench_heap_used_kib() {
    "$JAVA_HOME/bin/jcmd" "$1" GC.heap_info 2>/dev/null |
        sed -nE 's/.*[Hh]eap.* used ([0-9]+)K.*/\1/p' | head -n1
}

# A full GC in JVM PID through jcmd (what `jcmd PID GC.run` does: System.gc()).
bench_gc() {
    "$JAVA_HOME/bin/jcmd" "$1" GC.run >/dev/null 2>&1 || bench_say "jcmd $1 GC.run failed"
}

# A JVM flag's value as the running JVM PID sees it (to check both servers got the same flags).
bench_vm_flag() {
    "$JAVA_HOME/bin/jcmd" "$1" VM.flags -all 2>/dev/null |
        awk -v f="$2" '$2 == f { print $4; exit }'
}

# Waits (bounded by TIMEOUT seconds) until FILE has a line matching REGEX, or PID ends.
bench_wait_line() {
    local file=$1 regex=$2 timeout=$3 pid=$4 i
    for ((i = 0; i < timeout * 10; i++)); do
        grep -qE "$regex" "$file" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { grep -qE "$regex" "$file" 2>/dev/null; return; }
        sleep 0.1
    done
    return 1
}

# The value of KEY in a `key=value ...` line.
bench_field() {
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n1
}

# A / B to two decimals, or "-" when either is missing or B is zero.
bench_ratio() {
    awk -v a="${1:-}" -v b="${2:-}" 'BEGIN {
        if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) { print "-"; exit }
        printf "%.2f\n", a / b }'
}

# Busy CPUs of the whole machine (cores, e.g. 0.35) over SECONDS, from /proc/stat: what other
# processes use before a benchmark starts.
bench_machine_busy() {
    local a b
    a=$(head -n1 /proc/stat)
    sleep "$1"
    b=$(head -n1 /proc/stat)
    awk -v a="$a" -v b="$b" -v s="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        n = split(a, x, " "); split(b, y, " "); busy = 0
        for (i = 2; i <= 9 && i <= n; i++) if (i != 5 && i != 6) busy += y[i] - x[i]
        printf "%.2f\n", busy / hz / s }'
}

# JVM flags that start a Flight Recording named bench into FILE with every jdk.VirtualThreadPinned
# event (threshold 0: a pinned park of any length counts), for BENCH_JFR=1.
bench_jfr_opts() {
    printf '%s' "-XX:StartFlightRecording=name=bench,filename=$1,jdk.VirtualThreadPinned#threshold=0ms"
}

# Dumps JVM PID's bench recording to FILE and prints how many jdk.VirtualThreadPinned events it
# holds (nothing if the dump or the jfr tool failed).
bench_jfr_pinned() {
    "$JAVA_HOME/bin/jcmd" "$1" JFR.dump name=bench filename="$2" >/dev/null 2>&1 || return 0
    [[ -x "$JAVA_HOME/bin/jfr" ]] || return 0
    "$JAVA_HOME/bin/jfr" print --events jdk.VirtualThreadPinned "$2" 2>/dev/null | grep -c '^jdk.VirtualThreadPinned' || true
}

# --- Twine's TCP transport (BENCH_TWINE_TRANSPORT) and figures for ci/bench's joined tables ------

# The JVM flag that picks Twine's TCP transport, for Twine's server JVMs only (never a reference's
# or a load generator's): ` -Dtwine.transport=VALUE` (with its leading space) from
# BENCH_TWINE_TRANSPORT, `readiness` or `socket`; nothing when it is empty (the run time's default:
# readiness on JDK 24+, socket before, see net-core's README, "Transports"). Any other value exits
# with status 2. Use it in an assignment, so that `set -e` stops the script on that exit:
#   twine_opts="$jvm_opts$(bench_twine_transport_opts)"
bench_twine_transport_opts() {
    case ${BENCH_TWINE_TRANSPORT:-} in
        "") ;;
        readiness | socket) printf ' -Dtwine.transport=%s' "$BENCH_TWINE_TRANSPORT" ;;
        *)
            bench_say "error: BENCH_TWINE_TRANSPORT must be readiness, socket or empty, not '$BENCH_TWINE_TRANSPORT'"
            exit 2
            ;;
    esac
}

# Which transport carried TCP connections in Twine's server JVM PID, read back from its threads
# (`jcmd PID Thread.dump_to_file`, which lists virtual threads too; FILE is where the dump goes and
# must not exist): `readiness` when its selector loops (virtual threads `twine-poller-N`) run,
# `socket` when the socket transport's timeout watchdog (platform thread `twine-watchdog`) runs,
# both when both do, `none` when neither (no Twine TCP connection yet, or sockets that are not
# Twine's: MINA SSHD owns the SSH server's), `unknown` when the dump failed. Both start with the
# first connection, so ask after the load, while the server still runs.
bench_twine_transport_seen() {
    local pid=$1 file=$2 jcmd=${JAVA_HOME:+$JAVA_HOME/bin/}jcmd seen=""
    if ! "$jcmd" "$pid" Thread.dump_to_file "$file" >/dev/null 2>&1 || [[ ! -s "$file" ]]; then
        printf 'unknown\n'
        return 0
    fi
    grep -q '"twine-poller-[0-9]*"' "$file" && seen=readiness
    grep -q '"twine-watchdog"' "$file" && seen=${seen:+$seen+}socket
    printf '%s\n' "${seen:-none}"
}

# One summary line on Twine's transport in JVM PID (FILE as for bench_twine_transport_seen): what
# was asked (BENCH_TWINE_TRANSPORT, or "default") and what its threads show. Also recorded for
# ci/bench's joined table (a `transport` line in BENCH_FIGURES).
bench_twine_transport_line() {
    local asked=${BENCH_TWINE_TRANSPORT:-default} seen
    local note="read back from the server JVM's threads"
    seen=$(bench_twine_transport_seen "$1" "$2")
    case $seen in
        none) note="no Twine TCP connection in the server JVM's threads" ;;
        unknown) note="jcmd Thread.dump_to_file failed: not read back" ;;
    esac
    printf 'Twine transport: %s (asked: BENCH_TWINE_TRANSPORT=%s; %s)\n' "$seen" "$asked" "$note"
    if [[ -n "${BENCH_FIGURES:-}" ]]; then
        printf 'transport\t%s\t%s\n' "$asked" "$seen" >>"$BENCH_FIGURES"
    fi
}

# Records one figure of this run for ci/bench's BENCH_TRANSPORTS table, when it set BENCH_FIGURES
# (a file): ROW (a label with its unit), BETTER (higher or lower), Twine's figure, the reference's
# name and its figure ("-" when there is none). Nothing happens without BENCH_FIGURES.
#   bench_figure ROW BETTER TWINE REF_NAME REF
bench_figure() {
    [[ -n "${BENCH_FIGURES:-}" ]] || return 0
    printf 'figure\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${3:--}" "${4:--}" "${5:--}" >>"$BENCH_FIGURES"
}
