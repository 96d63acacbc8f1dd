#!/usr/bin/env bash
# Measures a cold set-up end to end, as a new learner would meet it: a fresh clone of this
# repository's HEAD, a fresh home directory (no pip cache, no evcxr, no Jupyter settings) and, by
# default, an empty cargo home (every crate downloaded), then `make handouts`. Prints the set-up's
# steps (wall and CPU), what cargo and pip downloaded, the pre-warm of each `:dep` line, the
# notebooks' table and the load average, then removes the clone. `make measure-setup` runs it.
#
#   scripts/measure-setup.sh [--shared-cargo-home] [--nice N] [--keep] [--postbuild]
#
#   --shared-cargo-home  reuse this machine's cargo registry (measures compiling without downloads)
#   --nice N             run at niceness N (default 0; use 10 on a machine others share)
#   --keep               keep the clone and its logs (the path is printed)
#   --postbuild          set up with ./postBuild (what Binder runs) and then execute one notebook
#                        with the kernel it registered in the home directory, as JupyterLab would
#
# The toolchain itself is not reinstalled: RUSTUP_HOME stays where it is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared_cargo_home=0
niceness=0
keep=0
postbuild=0
while (($#)); do
    case "$1" in
        --shared-cargo-home) shared_cargo_home=1 ;;
        --nice) niceness="$2"; shift ;;
        --keep) keep=1 ;;
        --postbuild) postbuild=1 ;;
        *) echo "usage: scripts/measure-setup.sh [--shared-cargo-home] [--nice N] [--keep] [--postbuild]" >&2; exit 2 ;;
    esac
    shift
done

scratch="$(mktemp -d "${TMPDIR:-/tmp}/measure-setup.XXXXXX")"
clone="$scratch/workshop"
log="$scratch/setup.log"
loads="$scratch/load"
cleanup() {
    [[ -n "${sampler:-}" ]] && kill "$sampler" 2>/dev/null
    if ((keep)); then echo "kept: $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

git clone --quiet "$ROOT" "$clone"
commit="$(git -C "$clone" rev-parse --short HEAD)"

export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
((shared_cargo_home)) || export CARGO_HOME="$scratch/home/.cargo"
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export HOME="$scratch/home" PIP_CACHE_DIR="$scratch/home/.cache/pip"
mkdir -p "$HOME"

(while sleep 15; do cut -d' ' -f1 /proc/loadavg; done >"$loads") &
sampler=$!

echo "measuring a cold set-up of $commit in $clone (cargo home: $CARGO_HOME; niceness $niceness)"
started=$SECONDS
status=0
if ((postbuild)); then
    (cd "$clone" && nice -n "$niceness" ./postBuild) 2>&1 | tee "$log" || status=$?
    setup_s=$((SECONDS - started))
    # What JupyterLab would do: find the kernel in the home directory (not the project's
    # .jupyter/) and run a lesson with it.
    notebook="$clone/notebooks/day1/01-littles-law.ipynb"
    (
        cd "$clone" && nice -n "$niceness" .venv/bin/jupyter kernelspec list &&
            TIMEFORMAT="one lesson executed with the home directory's kernel: %R s wall, %U s user, %S s sys" &&
            time nice -n "$niceness" .venv/bin/jupyter nbconvert --to notebook --execute \
                --ExecutePreprocessor.kernel_name=rust --output-dir "$scratch" "$notebook"
    ) 2>&1 | tee -a "$log" || status=$?
else
    (cd "$clone" && nice -n "$niceness" make handouts) 2>&1 | tee "$log" || status=$?
    setup_s=$((SECONDS - started))
fi
total_s=$((SECONDS - started))

echo
echo "=============================================================================================="
echo "cold set-up of $commit (niceness $niceness, cargo home $( ((shared_cargo_home)) && echo shared || echo empty))"
sed -n '/^Set-up (load/,/^| total/p' "$log"
echo
echo "downloads:"
grep -E '^ *Downloaded [0-9]+ crates' "$log" | sed 's/^ */    cargo: /' || echo "    cargo: none reported"
echo
echo "notebooks' dependencies beside the evcxr build, then the pre-warm in a kernel per :dep line:"
grep -E '^ *(built|FAILED) in|prebuild:|compiling: |compiled in|up to date: :dep' "$log" | sed 's/^ */    /'
if ! ((postbuild)); then
    echo
    sed -n '/^| notebook |/,/^$/p' "$log"
fi
echo "load average (1 min), sampled every 15 s: $(sort -n "$loads" | awk '{a[NR]=$1} END {if (NR) printf "min %s, median %s, max %s", a[1], a[int((NR+1)/2)], a[NR]; else print "-"}')"
echo "wall: whole run ${total_s} s, of which the set-up and what ran before the first notebook ${setup_s} s (see the table)"
exit "$status"
