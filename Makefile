# The workshop's commands. `make handouts` and `make test` are the two that matter; both run the
# set-up first (idempotent: seconds when nothing changed). See README.md.
# Steps run one after another even under -j: evcxr kernels and cargo share target dirs.
.NOTPARALLEL:
.PHONY: setup handouts test lab test-rust test-notebooks bench-quick tla

PYTHON := .venv/bin/python
NOTEBOOKS := $(PYTHON) scripts/notebooks.py

setup:
	scripts/setup.sh

## Execute every notebook and write build/handouts/ (index.html + one HTML page per lesson).
handouts: setup
	$(NOTEBOOKS) handouts

## JupyterLab on notebooks/ with the project's Rust kernel (localhost, token in the printed URL).
lab: setup
	$(NOTEBOOKS) lab

## Everything CI checks.
test: setup test-rust bench-quick tla test-notebooks

test-rust:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	cargo test --workspace --all-features
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps

## Every benchmark once, at smoke-test sizes (benches honour BENCH_QUICK=1).
bench-quick:
	BENCH_QUICK=1 cargo bench --workspace --all-features

tla:
	scripts/tlc.sh

## The harness's own tests (fixtures), then every lesson executed and checked.
test-notebooks:
	$(PYTHON) -m pytest -q scripts/tests
	$(NOTEBOOKS) check
