#!/usr/bin/env bash
# Installs everything the workshop needs, inside the project: a Python venv with the Jupyter pieces
# of environment.yml, evcxr_jupyter (pinned), the rust-src component, a Rust kernel registered in
# .jupyter/ (not in $HOME), and a pre-warmed shared target dir so every notebook's `:dep` takes
# seconds. Idempotent: each step is skipped when its stamp says nothing changed, so a second run
# takes seconds. Timings of the choices here: README.md, "Timings".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

EVCXR_VERSION="0.22.0"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
TOOLS="$ROOT/.tools"

step_started=0
step() {
    step_started=$SECONDS
    printf '==> %s\n' "$1"
}
done_step() {
    printf '    %s (%ss)\n' "$1" "$((SECONDS - step_started))"
}

# --- Python: a venv holding exactly the `pip:` list of environment.yml ------------------------
step "Python environment (.venv) from environment.yml"
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
    done_step "installed: $(echo $requirements)"
fi

# --- Rust: rust-src lets evcxr's rust-analyzer infer the types of values kept between cells ----
step "rust-src component"
if command -v rustup >/dev/null; then
    rustup component add rust-src 2>&1 | sed 's/^/    /'
    done_step "ok"
else
    done_step "rustup not found: make sure the toolchain has rust-src (evcxr needs it to keep variables between cells)"
fi

# --- evcxr_jupyter, pinned, built into .tools/ -------------------------------------------------
step "evcxr_jupyter $EVCXR_VERSION (.tools)"
# evcxr_jupyter has no --version flag: cargo's own install record says which version is there.
if [[ -x "$TOOLS/bin/evcxr_jupyter" ]] && grep -qF "\"evcxr_jupyter $EVCXR_VERSION " "$TOOLS/.crates2.json" 2>/dev/null; then
    done_step "up to date"
else
    cargo install evcxr_jupyter --version "=$EVCXR_VERSION" --locked --root "$TOOLS"
    done_step "built"
fi

# --- The kernel, registered in .jupyter/, and the shared target dir pre-warmed -----------------
step "Rust kernel (.jupyter/kernels/rust), evcxr init, pre-warm of the shared target dir (target/evcxr)"
"$VENV/bin/python" scripts/notebooks.py prewarm
done_step "ok"
