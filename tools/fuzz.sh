#!/usr/bin/env bash
# Runs every native fuzz target of every package in the module (or of the
# packages FUZZPKGS names, e.g. FUZZPKGS="./server ./wire") for FUZZTIME
# each: the first argument, a Go duration such as 30s or 10m, or a count
# such as 5000x; default 10s. go test -fuzz takes one package and one target
# at a time, so targets run one after another. At the end it prints one
# line per target: result, package, target, execs, wall time, and the
# failing input written, if any. It exits non-zero if a package does not
# build, or a target fails, times out, is interrupted or (for a duration)
# completes no input at all, or if no target is found.
#
# Bounded: each package's instrumented test binary is built within
# FUZZBUILDLIMIT seconds (default 900); each target, from start to exit, gets
# FUZZTIME plus FUZZSLACK seconds (default 180: linking, the baseline run of
# the cached corpus, and the minimisation of a failing input, up to 60 s by
# default), or FUZZLIMIT seconds if set (required with a count); then it is
# stopped (TERM, KILL 30 s later) and counted as TIMEOUT.
#
# Each target runs FUZZPARALLEL fuzzing workers, by default one fewer than
# the CPUs (at least one): the coordinator process and the rest of the
# machine keep a CPU. On a two-core box one worker tests about as many
# inputs as two that fight each other and the coordinator for both cores.
#
# Minimising an input that finds new coverage can take up to
# -fuzzminimizetime, 60 s by default, and a slow target's first one would
# eat a short run whole: it is a tenth of FUZZTIME here, 1 s to 60 s
# (FUZZMINIMIZETIME overrides; with a count, Go's default).
#
# execs is the count go test last reported: a lower bound, since the inputs
# a worker ran while being stopped, or while minimising, go uncounted.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzztime=${1:-10s}
die() { echo "fuzz.sh: $*" >&2; exit 2; }

# seconds prints the whole seconds (rounded up) of Go duration $1.
seconds() {
  local rest=$1 total=0 num unit
  while [[ $rest =~ ^([0-9]+(\.[0-9]+)?)(ns|us|µs|ms|s|m|h)(.*)$ ]]; do
    num=${BASH_REMATCH[1]} unit=${BASH_REMATCH[3]} rest=${BASH_REMATCH[4]}
    total=$(awk -v t="$total" -v n="$num" -v u="$unit" 'BEGIN {
      f = u == "h" ? 3600 : u == "m" ? 60 : u == "s" ? 1 : u == "ms" ? 1e-3 : u == "ns" ? 1e-9 : 1e-6
      printf "%.9f", t + n * f }')
  done
  [[ -z $rest ]] || return 1
  awk -v t="$total" 'BEGIN { s = int(t); if (s < t) s++; print s }'
}

slack=${FUZZSLACK:-180}
buildlimit=${FUZZBUILDLIMIT:-900}
for v in "$slack" "$buildlimit" "${FUZZLIMIT:-1}"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || die "FUZZSLACK, FUZZBUILDLIMIT and FUZZLIMIT are whole seconds, got '$v'"
done
if [[ $fuzztime =~ ^[1-9][0-9]*x$ ]]; then
  [[ -n ${FUZZLIMIT:-} ]] || die "FUZZTIME $fuzztime is a count: set FUZZLIMIT, the seconds a target may take"
  limit=$FUZZLIMIT mode=count
elif secs=$(seconds "$fuzztime") && [[ $secs -gt 0 ]]; then
  limit=${FUZZLIMIT:-$((secs + slack))} mode=time
else
  die "FUZZTIME '$fuzztime' is neither a positive Go duration (30s, 10m, 1h30m) nor a count (5000x)"
fi

if [[ -n ${FUZZMINIMIZETIME:-} ]]; then
  minimize=$FUZZMINIMIZETIME
elif [[ $mode == time ]]; then
  minimize="$(((secs + 9) / 10 > 60 ? 60 : (secs + 9) / 10))s"
else
  minimize=60s
fi

ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
parallel=${FUZZPARALLEL:-$((ncpu > 1 ? ncpu - 1 : 1))}
[[ $parallel =~ ^[1-9][0-9]*$ ]] || die "FUZZPARALLEL must be a positive integer, got '$parallel'"

work=$(mktemp -d)
results=()  # "result<TAB>package<TAB>target<TAB>execs<TAB>seconds<TAB>note"
running=""  # pid of the timeout wrapping what runs now
tailpid=""

summary() {
  echo
  echo "== fuzz summary: FUZZTIME $fuzztime, $parallel worker(s) per target, minimising up to $minimize, limit ${limit}s per target"
  local r
  for r in "${results[@]}"; do
    IFS=$'\t' read -r res pkg target execs secs note <<<"$r"
    printf '%-8s %-18s %-24s execs %10s %6s  %s\n' "$res" "$pkg" "$target" "$execs" "$secs" "$note"
  done
}

interrupted() {
  [[ -n $running ]] && kill -TERM "$running" 2>/dev/null && wait "$running" 2>/dev/null
  [[ -n $tailpid ]] && kill "$tailpid" 2>/dev/null
  results+=("$(printf 'STOPPED\t%s\t%s\t-\t-\tinterrupted' "${cur_pkg:--}" "${cur_target:--}")")
  summary
  rm -rf "$work"
  exit 130
}
trap interrupted INT TERM
trap 'rm -rf "$work"' EXIT

# bounded runs "$@" under timeout $1 seconds with output to file $2, shown
# as it comes; it returns the command's status (124 when it timed out).
bounded() {
  local secs=$1 log=$2; shift 2
  : >"$log"
  timeout -k 30 "$secs" "$@" >"$log" 2>&1 &
  running=$!
  tail -n +1 -s 0.2 -f --pid="$running" "$log" &
  tailpid=$!
  wait "$running"
  local rc=$?
  wait "$tailpid" 2>/dev/null
  running="" tailpid=""
  return $rc
}

# Packages whose test files (for this platform) declare a fuzz target; the
# instrumented test binary then lists the targets exactly.
pkgs=$(timeout 300 go list -f '{{.ImportPath}}{{"\t"}}{{.Dir}}{{range .TestGoFiles}}{{"\t"}}{{.}}{{end}}{{range .XTestGoFiles}}{{"\t"}}{{.}}{{end}}' ${FUZZPKGS:-./...}) ||
  die "go list failed"
ntargets=0 failed=0
while IFS=$'\t' read -r pkg dir files; do
  [[ -n $files ]] || continue
  (cd "$dir" && IFS=$'\t' && grep -qE '^func Fuzz[A-Za-z0-9_]*\([A-Za-z_][A-Za-z0-9_]* \*testing\.F\)' $files) || continue
  cur_pkg=$pkg cur_target="(build)"
  bin="$work/$(echo "$pkg" | tr / _).test"
  echo "== $pkg: building the instrumented test binary"
  start=$SECONDS
  if ! bounded "$buildlimit" "$work/build.log" go test -c -fuzz=. -o "$bin" "$pkg"; then
    results+=("$(printf 'BUILD\t%s\t-\t-\t%ss\tbuild failed or took over %ss' "$pkg" $((SECONDS - start)) "$buildlimit")")
    failed=1
    continue
  fi
  if ! targets=$(cd "$dir" && timeout 60 "$bin" -test.list '^Fuzz') || [[ -z $targets ]]; then
    results+=("$(printf 'LIST\t%s\t-\t-\t-\tthe test binary listed no fuzz target' "$pkg")")
    failed=1
    continue
  fi
  for target in $targets; do
    cur_target=$target
    ntargets=$((ntargets + 1))
    log="$work/$ntargets.log"
    echo "== $pkg $target ($fuzztime, $parallel worker(s))"
    start=$SECONDS
    bounded "$limit" "$log" go test -run='^$' -fuzz="^$target\$" -fuzztime="$fuzztime" \
      -fuzzminimizetime="$minimize" -parallel="$parallel" "$pkg"
    rc=$?
    secs=$((SECONDS - start))
    execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
    note=""
    case $rc in
      0) res=PASS
        # A worker reports its count when it returns from a batch of inputs
        # (every 100 ms when all goes well): none in the whole run means it
        # never came back from the first, which go test lets pass.
        if [[ $mode == time && ${execs:-0} -eq 0 ]]; then
          res=STALLED note="no input completed: a hang?"
        fi ;;
      124 | 137) res=TIMEOUT note="stopped after ${limit}s" ;;
      *) res=FAIL
        if input=$(grep -oE 'Failing input written to testdata/fuzz/[^ ]+' "$log" | tail -n 1); then
          note="failing input ${dir#"$PWD"/}/${input#Failing input written to }"
        elif seed=$(grep -oE 'failure while testing seed corpus entry: [^ ]+' "$log" | head -n 1); then
          note="seed ${seed##* } fails"
        else
          note="exit status $rc"
        fi
        note+=": $(grep -m 1 -E '^ +[A-Za-z0-9_]+\.go:[0-9]+: ' "$log" | sed -E 's/^ +//' | cut -c 1-120)" ;;
    esac
    [[ $res == PASS ]] || failed=1
    results+=("$(printf '%s\t%s\t%s\t%s\t%ss\t%s' "$res" "$pkg" "$target" "${execs:--}" "$secs" "$note")")
  done
done <<<"$pkgs"
cur_pkg="" cur_target=""

if [[ $ntargets -eq 0 ]]; then
  results+=("$(printf 'NONE\t-\t-\t-\t-\tno fuzz target found')")
  failed=1
fi
summary
exit $failed
