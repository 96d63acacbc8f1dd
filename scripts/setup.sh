#!/usr/bin/env bash
# Installs everything the workshop needs, inside the project: a Python venv with the Jupyter pieces
# of environment.yml, evcxr_jupyter (pinned), the rust-src component, a Rust kernel registered in
# .jupyter/ (not in $HOME), and a pre-warmed shared target dir so every notebook's `:dep` takes
# seconds. Idempotent: each step is skipped when its stamp says nothing changed, so a second run
# takes seconds. Ends with a table of each step's wall and CPU time. Timings of the choices here:
# README.md, "Timings".
#
# Settings (environment):
#   PYTHON=python3.11           the Python that creates .venv
#   CARGO_PROFILE_RELEASE_*     override the light profile evcxr_jupyter is built with
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

EVCXR_VERSION="0.22.0"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
TOOLS="$ROOT/.tools"

# shellcheck source=scripts/timing.sh
source "$ROOT/scripts/timing.sh"
step() {
    printf '==> %s\n' "$1"
    timing_begin "$1"
}
done_step() {
    timing_end "$1"
}

# --- Python: a venv holding exactly the `pip:` list of environment.yml ------------------------
step "Python environment (.venv)"
env_hash="$(sha256sum environment.yml | cut -d' ' -f1)"
stamp="$VENV/.environment.yml.sha256"
if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$env_hash" ]]; then
    done_step "up to date"
else
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed (environment.yml pins 3.11); set PYTHON=/path/to/python3.11")'
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
    # The `pip:` list of environment.yml, one requirement a line. The file's shape is fixed
    # (conda's), so a few lines of Python read it without a YAML library.
    requirements="$("$PYTHON" - environment.yml <<'PY'
import sys
in_pip, indent = False, 0
for line in open(sys.argv[1], encoding="utf-8"):
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        continue
    depth = len(line) - len(line.lstrip())
    if stripped == "- pip:":
        in_pip, indent = True, depth
    elif in_pip and depth > indent and stripped.startswith("- "):
        print(stripped[2:].split("#")[0].strip())
    elif in_pip:
        in_pip = False
PY
)"
    if [[ -z "$requirements" ]]; then
        echo "environment.yml has no 'pip:' list under dependencies; expected '  - pip:' followed by '      - name==version' lines" >&2
        exit 1
    fi
    # shellcheck disable=SC2086
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $requirements
    echo "$env_hash" >"$stamp"
    echo "    $(echo $requirements)"
    done_step "installed"
fi

# --- Rust: rust-src lets evcxr's rust-analyzer infer the types of values kept between cells ----
step "rust-src component"
if command -v rustup >/dev/null; then
    rustup component add rust-src 2>&1 | sed 's/^/    /'
    done_step "ok"
else
    echo "    rustup not found: make sure the toolchain has rust-src (evcxr needs it to keep variables between cells)"
    done_step "no rustup"
fi

# --- evcxr_jupyter, pinned, built into .tools/ -------------------------------------------------
# The largest part of a cold set-up. No registry has a prebuilt evcxr_jupyter for us, so it is
# built, with a lighter release profile than cargo's (README, "Timings": build time against the
# kernel's own speed). Beside it, `notebooks.py prebuild` compiles the notebooks' dependencies the
# way the kernel will (at a lower priority: evcxr's build is the longer one), filling the core
# the evcxr build leaves idle while a large crate is in its single-threaded front end.
step "evcxr_jupyter $EVCXR_VERSION (.tools), notebooks' dependencies beside it"
# evcxr_jupyter has no --version flag: cargo's own install record says which version is there.
if [[ -x "$TOOLS/bin/evcxr_jupyter" ]] && grep -qF "\"evcxr_jupyter $EVCXR_VERSION " "$TOOLS/.crates2.json" 2>/dev/null; then
    done_step "up to date"
else
    prebuild_log="$ROOT/target/evcxr-prebuild.log"
    mkdir -p "$ROOT/target"
    (
        TIMEFORMAT='    prebuild: %R s wall, %U s user, %S s sys'
        time nice -n 5 "$VENV/bin/python" scripts/notebooks.py prebuild
    ) >"$prebuild_log" 2>&1 &
    prebuild=$!
    CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-1}" \
        CARGO_PROFILE_RELEASE_CODEGEN_UNITS="${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-16}" \
        CARGO_PROFILE_RELEASE_DEBUG="${CARGO_PROFILE_RELEASE_DEBUG:-0}" \
        CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-false}" \
        cargo install evcxr_jupyter --version "=$EVCXR_VERSION" --locked --root "$TOOLS" ||
        {
            status=$?
            kill "$prebuild" 2>/dev/null || true
            exit "$status"
        }
    # The prebuild is a head start only: a failure there is reported, and the pre-warm below
    # compiles in a kernel whatever it missed.
    if wait "$prebuild"; then
        sed 's/^/    /' "$prebuild_log"
    else
        echo "    the notebooks' dependencies did not all build beside evcxr (the pre-warm will retry them); $prebuild_log:"
        tail -n 20 "$prebuild_log" | sed 's/^/    /'
    fi
    done_step "built"
fi

# --- The kernel, registered in .jupyter/, and the shared target dir pre-warmed -----------------
step "kernel (.jupyter), pre-warm of target/evcxr"
"$VENV/bin/python" scripts/notebooks.py prewarm
done_step "ok"

timing_table "Set-up"
