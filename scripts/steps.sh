#!/usr/bin/env bash
# Runs make targets one after another and ends with a table of each one's result, wall time and
# CPU time (user+sys), so a CI log shows where its minutes went. `make test` calls it with the
# steps CI checks:
#
#   scripts/steps.sh [--keep-going] STEP...
#
# Without --keep-going the first failing step stops the run (the rest are listed as "not run");
# with it (what `make -k test`, and so .ci/run, passes) every step runs. Exits non-zero when any
# step failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/timing.sh
source "$ROOT/scripts/timing.sh"

keep_going=0
if [[ "${1:-}" == "--keep-going" ]]; then
    keep_going=1
    shift
fi
if (($# == 0)); then
    echo "usage: scripts/steps.sh [--keep-going] STEP..." >&2
    exit 2
fi

MAKE="${MAKE:-make}"
failed=()
stopped=0
for target in "$@"; do
    if ((stopped)); then
        timing_rows+=("$target"$'\t'"not run"$'\t'0$'\t'0)
        continue
    fi
    printf '\n==> make %s\n' "$target"
    timing_begin "$target"
    if "$MAKE" --no-print-directory "$target"; then
        timing_end "ok"
    else
        timing_end "FAILED (exit $?)"
        failed+=("$target")
        ((keep_going)) || stopped=1
    fi
done

timing_table "Steps"
if ((${#failed[@]})); then
    printf '\nfailed: %s\n' "${failed[*]}"
    exit 1
fi
printf '\nall %d steps passed\n' "$#"
