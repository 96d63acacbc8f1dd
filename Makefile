# The workshop's commands. `make handouts` and `make test` are the two that matter; both run the
# set-up first (idempotent: seconds when nothing changed). See README.md.
# Steps run one after another even under -j: evcxr kernels and cargo share target dirs.
.NOTPARALLEL:
.PHONY: setup handouts test lab measure-setup fmt clippy test-rust doc bench-quick explore-quick explore tla test-notebooks

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

## Everything CI checks, one step after another, ending with a table of each step's result, wall
## time and CPU time. `make -k test` (what .ci/run runs) runs every step and reports all that fail;
## plain `make test` stops at the first failure.
TEST_STEPS := setup fmt clippy test-rust doc bench-quick explore-quick tla test-notebooks
test:
	@MAKE="$(MAKE)" scripts/steps.sh $(if $(findstring k,$(firstword -$(MAKEFLAGS))),--keep-going) $(TEST_STEPS)

fmt:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets --all-features -- -D warnings

test-rust:
	cargo test --workspace --all-features

doc:
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps

## Every benchmark once, at smoke-test sizes (benches honour BENCH_QUICK=1). Default features: no
## benchmark needs polars, whose release build alone would cost CI about ten minutes. The network
## benchmark (benches/net.rs) runs here too: the crate's dev-dependency on itself turns on `net`
## (and `lsm`) for every bench, so none is skipped.
bench-quick:
	BENCH_QUICK=1 cargo bench --workspace

## Every protocol under the nemesis (a release build: about ten times faster than a debug one):
## each correct form over 1,000 seeds, each broken variant caught from its recorded failing seed
## within 200 seeds. Counterexamples are drawn into target/explore/.
explore-quick:
	cargo run --release -q -p patterns-cli -- explore --all-variants --seeds 1000 --broken-seeds 200

## The full search: 10,000 seeds per correct form, and each broken variant searched from seed 0
## (it must be caught within 1,000 seeds).
explore:
	cargo run --release -q -p patterns-cli -- explore --all-variants --seeds 10000 --broken-seeds 1000 --from-seed-zero --stats

## Model-check the specs in tla/ (`make tla SPECS="Paxos BrokenPaxosIgnoreAccepted"` for some):
## per spec its verdict, distinct states, depth and time. Needs Java 11+ and `make setup`'s TLC.
tla:
	scripts/tlc.sh $(SPECS)

## The harness's own tests (fixtures), then every lesson executed and checked, each exercise
## first as the learner gets it (its checks say "not yet:") and then answered (they pass), in one
## kernel per lesson.
test-notebooks:
	$(PYTHON) -m pytest -q scripts/tests
	$(NOTEBOOKS) check

## A cold set-up measured as a new learner meets it (fresh clone, fresh HOME, empty cargo home),
## then `make handouts`; prints each step's wall and CPU time. `ARGS=--postbuild` measures Binder's
## path instead (scripts/measure-setup.sh --help).
measure-setup:
	scripts/measure-setup.sh $(ARGS)
