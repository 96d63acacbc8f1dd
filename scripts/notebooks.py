#!/usr/bin/env python3
"""The workshop's notebook harness: run the Rust notebooks, check them, export the handouts.

Subcommands (run with the project venv: `.venv/bin/python scripts/notebooks.py ...`):

  install-kernel  register the evcxr kernel in .jupyter/ and write its init.evcxr
  prewarm         install-kernel, then compile each distinct `:dep` line of the notebooks once
                  into target/evcxr
  prebuild        compile the `:dep` lines' dependencies into target/evcxr as evcxr would, with
                  cargo alone (no kernel needed: the set-up runs it while evcxr is being built)
  execute [NB..]  run notebooks top to bottom, each in a fresh kernel, and print their timings
  check [NB..]    reject committed outputs/execution counts/foreign kernels and malformed
                  exercises, then execute and fail on any cell that does not compile, errors,
                  panics or writes to stderr; each exercise runs unanswered first (its checks must
                  say "not yet:"), then answered (its checks, run again, and every later cell
                  must not): both of the learner's views in one kernel per notebook
  check --learner [NB..]
                  the same checks, the notebooks run only as a learner gets them (exercises
                  unanswered): every exercise's check cell must say "not yet:", nothing may panic
  handouts        execute every notebook and write build/handouts/*.html plus index.html
  lab             open JupyterLab on notebooks/ with the project-local kernel

Why the harness looks at stderr: evcxr reports a cell that panicked (or printed a `?` error) as a
successful execution, with the panic message on stderr (see shared notebook-toolchain notes).
Notebooks run strictly one after another: kernels sharing one target dir race when building.

Exercises (README, "Adding a lesson"): a code cell whose first line is `// exercise: NAME` is the
learner's unanswered version, `// check: NAME` cells judge it (printing "not yet: ..." until it is
answered), and `// answer: NAME` in the instructor appendix holds the solution. `execute` and
`handouts` run the answer in the exercise's place; `check --learner` runs the learner's version;
`check` runs both, one after the other, at the exercise's last check cell.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
JUPYTER_DIR = ROOT / ".jupyter"
EVCXR_CONFIG_DIR = JUPYTER_DIR / "evcxr"
EVCXR_BIN = ROOT / ".tools" / "bin" / "evcxr_jupyter"
EVCXR_TARGET_DIR = ROOT / "target" / "evcxr"
HANDOUTS_DIR = ROOT / "build" / "handouts"
KERNEL_NAME = "rust"
CELL_TIMEOUT_S = 900
# How long a cell's output stream must stay quiet after its reply before the next cell runs.
LATE_OUTPUT_QUIET_S = 0.15

# Everything Jupyter writes or looks up stays in the project: the kernel spec (JUPYTER_PATH), the
# connection files (runtime), JupyterLab's settings and workspaces (config, data).
os.environ["JUPYTER_PATH"] = str(JUPYTER_DIR)
os.environ.setdefault("JUPYTER_CONFIG_DIR", str(JUPYTER_DIR / "config"))
os.environ.setdefault("JUPYTER_DATA_DIR", str(JUPYTER_DIR / "data"))
os.environ.setdefault("JUPYTER_RUNTIME_DIR", str(JUPYTER_DIR / "runtime"))
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
os.environ.setdefault("IPYTHONDIR", str(JUPYTER_DIR / "ipython"))

import nbformat  # noqa: E402  (the environment above must be set before Jupyter is imported)

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def strip_ansi(text: str) -> str:
    """Error text without terminal colours, for logs and CI output."""
    return ANSI_ESCAPE.sub("", text)


# --------------------------------------------------------------------------------------------
# Finding notebooks
# --------------------------------------------------------------------------------------------


def lesson_order(path: Path, base: Path = NOTEBOOKS_DIR) -> tuple:
    """Sort key: notebooks at the top of notebooks/ (00-start-here) first, then day1/, day2/...,
    each in file-name order (lessons are named NN-topic.ipynb)."""
    try:
        parts = path.resolve().relative_to(base.resolve()).parts
    except ValueError:
        parts = path.resolve().parts
    return (len(parts) > 1, parts)


def find_notebooks(targets: list[str] | None = None) -> list[Path]:
    """Notebooks named on the command line (files or folders), or all under notebooks/."""
    roots = [Path(t) for t in targets] if targets else [NOTEBOOKS_DIR]
    found: list[Path] = []
    for root in roots:
        if root.is_dir():
            found += [
                p
                for p in root.rglob("*.ipynb")
                if ".ipynb_checkpoints" not in p.parts
            ]
        elif root.suffix == ".ipynb" and root.is_file():
            found.append(root)
        else:
            raise SystemExit(f"not a notebook or a folder of notebooks: {root}")
    unique = {p.resolve(): p for p in found}
    return sorted(unique.values(), key=lesson_order)


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def lesson_title(nb) -> str:
    """The first level-1 heading of the notebook's markdown, else its file name."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return ""


# --------------------------------------------------------------------------------------------
# Static check: what a committed notebook must look like
# --------------------------------------------------------------------------------------------


def committed_form_problems(path: Path) -> list[str]:
    """Why `path` is not in its committed form: valid nbformat 4, the `rust` kernel, no outputs
    and no execution counts (outputs belong to the handouts, not to git)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:  # unreadable JSON, wrong nbformat version...
        return [f"cannot be read as a notebook: {error}"]
    problems = []
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        problems.append(f"is not valid nbformat 4: {error.message}")
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != KERNEL_NAME:
        problems.append(
            f"names kernel {kernel!r} in metadata.kernelspec; expected {KERNEL_NAME!r}"
        )
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(
                f"cell {index} carries {len(cell.outputs)} committed output(s); clear outputs before committing"
            )
        if cell.get("execution_count") is not None:
            problems.append(
                f"cell {index} carries execution_count {cell.execution_count}; expected null"
            )
    return problems


# --------------------------------------------------------------------------------------------
# Exercises: the learner's cell, its checks, and the answer in the instructor appendix
# --------------------------------------------------------------------------------------------

# The first line of a code cell that has a part in an exercise: `// exercise: quorum-rules`.
ROLE_LINE = re.compile(r"^//\s*(exercise|check|answer)\s*:\s*([a-z0-9][a-z0-9_-]*)\s*$")
ROLE_LIKE = re.compile(r"^//\s*(exercise|check|answer)\b", re.IGNORECASE)
# What an unanswered exercise holds: a value not yet chosen, or code not yet written. The learner's
# cell must still compile and run, so a value is `f64::NAN`, never `todo!()`; a function's body may
# be `todo!()`, and its check cell calls it through `patterns::exercise::attempt`.
PLACEHOLDERS = ("todo!(", "unimplemented!(", "f64::NAN", "f32::NAN")
# What a check cell prints while the exercise is unanswered or wrong, at the start of a line.
NOT_YET = "not yet:"
LINE_COMMENT = re.compile(r"//[^\n]*")


def cell_role(cell) -> tuple[str, str] | None:
    """(role, exercise name) of a code cell that opens with a role line, else None."""
    if cell.cell_type != "code":
        return None
    lines = cell.source.lstrip().splitlines()
    match = ROLE_LINE.match(lines[0].strip()) if lines else None
    return (match.group(1), match.group(2)) if match else None


@dataclass
class Exercise:
    """Where one exercise's cells are (cell indexes, markdown cells counted)."""

    name: str
    cells: list[int] = field(default_factory=list)
    checks: list[int] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)


def find_exercises(nb) -> dict[str, Exercise]:
    """Every exercise named by a role line, in the order of first mention."""
    found: dict[str, Exercise] = {}
    for index, cell in enumerate(nb.cells):
        role = cell_role(cell)
        if role is None:
            continue
        kind, name = role
        exercise = found.setdefault(name, Exercise(name))
        {"exercise": exercise.cells, "check": exercise.checks, "answer": exercise.answers}[kind].append(index)
    return found


def without_role_and_comments(source: str) -> str:
    """A cell's code as the compiler sees it, for comparing a learner's version with its answer:
    no role line, no line comments, whitespace ignored."""
    lines = source.lstrip().splitlines()
    if lines and ROLE_LINE.match(lines[0].strip()):
        lines = lines[1:]
    return "".join(LINE_COMMENT.sub("", "\n".join(lines)).split())


def exercise_problems(nb) -> list[str]:
    """What is wrong with a notebook's exercises, without running it: every exercise has one
    learner's cell, at least one check after it, and one answer after its checks; the learner's
    version looks unanswered (holds a placeholder), the answer does not, and they differ."""
    problems = []
    for index, cell in enumerate(nb.cells):
        first = cell.source.lstrip().splitlines()[:1] if cell.cell_type == "code" else []
        if first and ROLE_LIKE.match(first[0].strip()) and cell_role(cell) is None:
            problems.append(
                f"cell {index} opens with {first[0].strip()!r}: a role line reads "
                "`// exercise: NAME`, `// check: NAME` or `// answer: NAME` "
                "(NAME in lower case, digits, - and _)"
            )
    for name, exercise in find_exercises(nb).items():
        where = f"exercise {name!r}"
        if not exercise.cells:
            named = sorted(exercise.checks + exercise.answers)
            problems.append(
                f"cell(s) {', '.join(map(str, named))} name exercise {name!r}, but no cell opens "
                f"with `// exercise: {name}`"
            )
            continue
        if len(exercise.cells) > 1:
            problems.append(
                f"{where}: cells {', '.join(map(str, exercise.cells))} all open with "
                f"`// exercise: {name}`; expected one"
            )
            continue
        cell_index = exercise.cells[0]
        if not exercise.checks:
            problems.append(f"{where} (cell {cell_index}) has no `// check: {name}` cell")
        elif min(exercise.checks) < cell_index:
            problems.append(f"{where}: check cell {min(exercise.checks)} comes before the exercise (cell {cell_index})")
        if len(exercise.answers) != 1:
            problems.append(
                f"{where} (cell {cell_index}) has {len(exercise.answers) or 'no'} answer cells "
                f"(`// answer: {name}`); expected one, in the instructor appendix"
            )
            continue
        answer_index = exercise.answers[0]
        if answer_index < max([cell_index, *exercise.checks]):
            problems.append(
                f"{where}: its answer (cell {answer_index}) comes before its exercise or checks; "
                "answers go in the instructor appendix at the end"
            )
        learner = nb.cells[cell_index].source
        answer = nb.cells[answer_index].source
        if not any(p in learner for p in PLACEHOLDERS):
            problems.append(
                f"{where} (cell {cell_index}) does not look unanswered: it holds none of "
                f"{', '.join(PLACEHOLDERS)} (a value to choose is `f64::NAN`, code to write is "
                "`todo!()`)"
            )
        if any(p in answer for p in PLACEHOLDERS):
            problems.append(f"{where}: its answer (cell {answer_index}) still holds a placeholder")
        if without_role_and_comments(learner) == without_role_and_comments(answer):
            problems.append(
                f"{where}: the learner's version (cell {cell_index}) is the answer (cell "
                f"{answer_index}); leave it unanswered"
            )
    return problems


def has_exercises(path: Path) -> bool:
    try:
        return bool(find_exercises(nbformat.read(path, as_version=4)))
    except Exception:  # unreadable: the check says why
        return True


def said_not_yet(cell) -> str | None:
    """The first line a cell printed that starts with "not yet:", if any."""
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.get("name") == "stdout":
            for line in output.get("text", "").splitlines():
                if line.strip().startswith(NOT_YET):
                    return line.strip()
    return None


# --------------------------------------------------------------------------------------------
# Executing a notebook
# --------------------------------------------------------------------------------------------


@dataclass
class CellTiming:
    index: int
    first_line: str
    seconds: float


@dataclass
class NotebookRun:
    """What happened when a notebook ran: its timings and, if it failed, why."""

    path: Path
    nb: object = None
    kernel_start_s: float = 0.0
    cells: list[CellTiming] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_s(self) -> float:
        return self.kernel_start_s + sum(c.seconds for c in self.cells)

    @property
    def first_dep(self) -> CellTiming | None:
        return next((c for c in self.cells if c.first_line.startswith(":dep")), None)

    @property
    def slowest(self) -> CellTiming | None:
        return max(self.cells, key=lambda c: c.seconds, default=None)


def output_text(output) -> str:
    if output.output_type == "stream":
        return output.get("text", "")
    if output.output_type == "error":
        traceback = "\n".join(output.get("traceback", []))
        return traceback or f"{output.get('ename', '')}: {output.get('evalue', '')}"
    return ""


# A value of a support-crate display type (they derive Debug) shown through evcxr's `{:?}` fallback.
DEBUG_OF_DISPLAYABLE = re.compile(r"^(Figure|Table|Chart|Diagram|Timeline) \{")


def cell_problems(index: int, cell) -> list[str]:
    """A cell fails when it has an error output (compile error), writes to stderr (a panic or a
    printed error: evcxr reports those as successful executions), or shows a display type as
    Debug text (the handout would lose its figure)."""
    outputs = cell.get("outputs", [])
    errors = [strip_ansi(output_text(o)).rstrip() for o in outputs if o.output_type == "error"]
    stderr = "".join(
        output_text(o) for o in outputs if o.output_type == "stream" and o.get("name") == "stderr"
    )
    stderr = strip_ansi(stderr).strip("\n")
    problems = []
    for output in outputs:
        if output.output_type == "execute_result" and set(output.get("data", {})) == {"text/plain"}:
            shown = output.data["text/plain"]
            if DEBUG_OF_DISPLAYABLE.match(shown):
                problems.append(
                    f"cell {index} shows {shown.split()[0]} as Debug text, not as HTML:\n"
                    f"{indent(shown[:200])}\n"
                    "    evcxr falls back to `{:?}` when its first compile of `(last expression)"
                    ".evcxr_display()` fails, which happens when that expression moves a variable "
                    "made in the same cell, or ends with `?` in a cell that also has a `use`; end the cell "
                    "with a variable instead: "
                    "`let figure = ...; figure`"
                )
    if errors:
        problems.append(f"cell {index} failed:\n" + "\n".join(indent(e) for e in errors))
    if stderr:
        kind = "panicked" if "panicked at" in stderr else "wrote to stderr"
        problems.append(f"cell {index} {kind}:\n{indent(stderr)}")
    return problems


def collect_late_output(client, cell, quiet_s: float = LATE_OUTPUT_QUIET_S) -> None:
    """Adds to `cell` the output evcxr sends after reporting the cell done. evcxr forwards the
    child's stdout and stderr from a separate thread, so under load a panic message can arrive
    after the execute reply, where nbclient no longer listens (and would drop it)."""
    from nbclient.util import run_sync

    get_message = run_sync(client.kc.get_iopub_msg)
    while True:
        try:
            message = get_message(timeout=quiet_s)
        except queue.Empty:
            return
        if message["msg_type"] in ("stream", "display_data", "error"):
            cell.outputs.append(nbformat.v4.output_from_msg(message))


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


# How a run treats exercises: "answers" runs each exercise with its answer in its place (the
# handouts); "learner" runs them unanswered; "both" (what `check` runs) runs each exercise
# unanswered, its checks (each must say "not yet:"), then its answer and its checks again (none may).
MODES = ("answers", "learner", "both")


@dataclass
class Step:
    """One execution of a code cell: its index, the source run, and what its output must show."""

    index: int
    source: str
    # "not yet": a check must say "not yet:"; "right": no line may start with it; None: no rule
    # about it (a cell run while an exercise is unanswered).
    expect: str | None


def execution_plan(nb, mode: str) -> list[Step]:
    """The code cells a run executes, in order (answer cells never: they are the appendix)."""
    exercises = find_exercises(nb)
    answered = {
        e.cells[0]: nb.cells[e.answers[0]].source
        for e in exercises.values()
        if len(e.cells) == 1 and len(e.answers) == 1
    }
    answered = {
        index: "\n".join(
            [f"// exercise: {cell_role(nb.cells[index])[1]} (answered: the answer from the "
             "instructor appendix)", *source.lstrip().splitlines()[1:]]
        )
        for index, source in answered.items()
    }
    last_check = {e.checks[-1]: e for e in exercises.values() if e.checks and e.cells}
    open_exercises: set[str] = set()
    plan: list[Step] = []
    for index, cell in enumerate(nb.cells):
        role = cell_role(cell)
        if cell.cell_type != "code" or (role and role[0] == "answer"):
            continue
        kind = role[0] if role else None
        if mode == "answers":
            plan.append(Step(index, answered.get(index, cell.source), "right"))
        elif mode == "learner":
            plan.append(Step(index, cell.source, "not yet" if kind == "check" else None))
        elif kind == "exercise":
            plan.append(Step(index, cell.source, None))
            open_exercises.add(role[1])
        elif kind == "check":
            plan.append(Step(index, cell.source, "not yet"))
            exercise = last_check.get(index)
            if exercise is not None and exercise.cells[0] in answered:
                plan.append(Step(exercise.cells[0], answered[exercise.cells[0]], "right"))
                plan += [Step(c, nb.cells[c].source, "right") for c in exercise.checks]
                open_exercises.discard(exercise.name)
        else:
            plan.append(Step(index, cell.source, None if open_exercises else "right"))
    return plan


def execute_notebook(
    path: Path, cell_timeout_s: int = CELL_TIMEOUT_S, verbose: bool = False, mode: str = "answers"
) -> NotebookRun:
    """Runs `path` top to bottom in a fresh kernel started in the notebook's folder (so relative
    `:dep` paths resolve), stopping at the first failing cell, its exercises as `mode` says
    (`MODES`). With answers filled in no cell may say "not yet:"; unanswered, every check cell
    must. The run's notebook holds each cell's last outputs, in the form last run."""
    from nbclient import NotebookClient

    run = NotebookRun(path=path)
    nb = nbformat.read(path, as_version=4)
    plan = execution_plan(nb, mode)
    run.nb = nb
    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=cell_timeout_s,
        startup_timeout=120,
        allow_errors=False,
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    started = time.monotonic()
    try:
        with client.setup_kernel():
            run.kernel_start_s = time.monotonic() - started
            for step in plan:
                cell = nb.cells[step.index]
                cell.source = step.source
                cell.outputs = []
                role = cell_role(cell)
                cell_started = time.monotonic()
                error = None
                try:
                    client.execute_cell(cell, step.index)
                except Exception as raised:  # CellExecutionError, timeouts, a dead kernel
                    error = raised
                seconds = time.monotonic() - cell_started
                collect_late_output(client, cell)
                first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                run.cells.append(CellTiming(step.index, first_line, seconds))
                if verbose:
                    print(f"    cell {step.index:>3}  {seconds:6.1f} s  {first_line[:60]}", flush=True)
                problems = cell_problems(step.index, cell)
                if error is not None and not problems:
                    problems = [
                        f"cell {step.index} failed: {type(error).__name__}: "
                        f"{strip_ansi(str(error)).strip()}"
                    ]
                not_yet = said_not_yet(cell)
                if step.expect == "right" and not_yet and not problems:
                    problems = [
                        f"cell {step.index} says {not_yet!r} with the answers filled in: an answer "
                        "in the instructor appendix does not pass its check"
                    ]
                if step.expect == "not yet" and not not_yet and not problems:
                    problems = [
                        f"cell {step.index} (check: {role[1]}) did not say {NOT_YET!r} with the "
                        "exercise unanswered: a check must print a line starting with \"not yet:\" "
                        "and a hint until the learner has answered"
                    ]
                if problems:
                    run.problems += problems
                    break
    except Exception as error:  # the kernel did not start
        run.problems.append(
            f"the {KERNEL_NAME!r} kernel could not run: {type(error).__name__}: {error} "
            "(run `make setup` to install and register it)"
        )
    return run


def timing_table(runs: list[NotebookRun]) -> str:
    """A markdown table of each notebook's time, first-`:dep` time and slowest cell."""
    rows = [
        "| notebook | result | code cells | kernel start s | first :dep s | slowest cell (s) | total s |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for run in runs:
        dep = run.first_dep
        slow = run.slowest
        slow_text = f"#{slow.index} `{slow.first_line[:40]}` ({slow.seconds:.1f})" if slow else "-"
        rows.append(
            f"| {display_path(run.path)} | {'ok' if run.ok else 'FAILED'} | {len(run.cells)} "
            f"| {run.kernel_start_s:.1f} | {f'{dep.seconds:.1f}' if dep else '-'} "
            f"| {slow_text} | {run.total_s:.1f} |"
        )
    return "\n".join(rows)


def report(runs: list[NotebookRun]) -> int:
    print()
    print(timing_table(runs))
    failed = [run for run in runs if not run.ok]
    for run in failed:
        print(f"\nFAILED {display_path(run.path)}:")
        for problem in run.problems:
            print(indent(problem))
    print(f"\n{len(runs) - len(failed)} of {len(runs)} notebook(s) passed.")
    # The plain closing line CI reads as a test runner's summary.
    print(f"notebooks: {len(runs) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def static_problems(path: Path, lint: bool) -> list[str]:
    """What is wrong before running: the committed form (with `lint`) and the exercises."""
    problems = committed_form_problems(path) if lint else []
    if not problems or not problems[0].startswith("cannot be read"):
        try:
            problems += exercise_problems(nbformat.read(path, as_version=4))
        except Exception:  # unreadable: committed_form_problems says so when linting
            pass
    return problems


def run_all(
    paths: list[Path], lint: bool, verbose: bool = True, mode: str = "answers"
) -> list[NotebookRun]:
    runs = []
    for path in paths:
        problems = static_problems(path, lint)
        if problems:
            run = NotebookRun(path=path, problems=problems)
        else:
            how = {"learner": " (as the learner gets it)", "both": " (exercises unanswered, then answered)"}
            print(f"--> {display_path(path)}{how.get(mode, '') if has_exercises(path) else ''}", flush=True)
            run = execute_notebook(path, verbose=verbose, mode=mode)
        status = "ok" if run.ok else "FAILED"
        print(f"    {status} in {run.total_s:.1f} s", flush=True)
        runs.append(run)
    return runs


# --------------------------------------------------------------------------------------------
# Kernel registration and pre-warm
# --------------------------------------------------------------------------------------------


def init_evcxr() -> str:
    """evcxr's start-up commands: no optimisation (a cell compiles in about a second instead of
    several); one project-local target dir shared by every kernel, so dependencies compiled once
    (by the pre-warm) are reused by every notebook; and offline resolution, which saves cargo's
    index update on every `:dep` (2-4 s measured). The pre-warm runs online, so every crate the
    notebooks name is downloaded; a learner adding a new crate runs `:offline 0` first."""
    target = EVCXR_TARGET_DIR
    return (
        ":opt 0\n"
        f":build_env CARGO_TARGET_DIR={target}\n"
        f":build_env CARGO_BUILD_BUILD_DIR={target}\n"
        ":offline 1\n"
    )


def install_kernel() -> int:
    if not EVCXR_BIN.exists():
        print(f"{EVCXR_BIN} is missing: run scripts/setup.sh", file=sys.stderr)
        return 1
    kernel_dir = JUPYTER_DIR / "kernels" / KERNEL_NAME
    if not (kernel_dir / "kernel.js").exists():
        # evcxr's own installer adds the logos and JupyterLab's lint support; it honours
        # JUPYTER_PATH (set above), so it writes into the project.
        subprocess.run([str(EVCXR_BIN), "--install"], check=True, stdout=subprocess.DEVNULL)
    EVCXR_CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [str(EVCXR_BIN), "--control_file", "{connection_file}"],
        "display_name": "Rust",
        "language": "rust",
        "interrupt_mode": "message",
        "env": {"EVCXR_CONFIG_DIR": str(EVCXR_CONFIG_DIR)},
    }
    write_if_changed(kernel_dir / "kernel.json", json.dumps(spec, indent=2) + "\n")
    write_if_changed(EVCXR_CONFIG_DIR / "init.evcxr", init_evcxr())
    print(f"    kernel {KERNEL_NAME!r}: {kernel_dir / 'kernel.json'}")
    return 0


def write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


DEP_PATH = re.compile(r'path\s*=\s*"([^"]+)"')


def dep_lines(paths: list[Path]) -> list[str]:
    """Each distinct `:dep` line of the notebooks, with relative crate paths made absolute (so
    `../crates/patterns` in notebooks/ and `../../crates/patterns` in day1/ are one line)."""
    lines = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for line in cell.source.splitlines():
                if not line.startswith(":dep "):
                    continue
                absolute = DEP_PATH.sub(
                    lambda m: f'path = "{(path.parent / m.group(1)).resolve()}"', line.strip()
                )
                if absolute not in lines:
                    lines.append(absolute)
    return lines


def sources_digest() -> str:
    """What a pre-warm depends on: the crates' library sources and manifests (not their tests or
    benchmarks, which a `:dep` does not build), evcxr's configuration and version."""
    digest = hashlib.sha256()
    files = [ROOT / "Cargo.toml", ROOT / "Cargo.lock", EVCXR_CONFIG_DIR / "init.evcxr"]
    for crate in sorted(p for p in (ROOT / "crates").iterdir() if p.is_dir()):
        files += [crate / "Cargo.toml", crate / "build.rs"]
        files += sorted(p for p in (crate / "src").rglob("*") if p.is_file())
    for file in files:
        if file.exists():
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    digest.update(str(EVCXR_BIN.stat().st_mtime_ns if EVCXR_BIN.exists() else 0).encode())
    return digest.hexdigest()


# The crate evcxr 0.22 generates for a kernel's cells (evcxr/src/module.rs), at `:opt 0`. Its
# profile, with the flags and target below, decides the names of the dependencies' artifacts.
EVCXR_CRATE_MANIFEST = """[package]
name = "ctx"
version = "1.0.0"
edition = "2024"

[lib]
crate-type = ["cdylib"]
path = "src/lib.rs"

[profile.dev]
opt-level = 0
debug = false
strip = "debuginfo"
rpath = true
lto = false
debug-assertions = true
codegen-units = 16
panic = 'unwind'
incremental = true
overflow-checks = true

[dependencies]
"""


def prebuild(paths: list[Path]) -> int:
    """Compiles the dependencies of each `:dep` line into the shared target dir as evcxr's kernel
    would (the same generated crate, profile, flags and target), with cargo alone: it needs no
    kernel, so the set-up runs it while evcxr itself is being built. A head start only: `prewarm`
    still runs every line in a real kernel and compiles whatever this did not."""
    host = next(
        line.split(":", 1)[1].strip()
        for line in subprocess.run(
            ["rustc", "-vV"], check=True, capture_output=True, text=True
        ).stdout.splitlines()
        if line.startswith("host:")
    )
    env = dict(
        os.environ,
        CARGO_TARGET_DIR=str(EVCXR_TARGET_DIR),
        CARGO_BUILD_BUILD_DIR=str(EVCXR_TARGET_DIR),
        RUSTFLAGS="-Cprefer-dynamic",
    )
    failed = 0
    for line in dep_lines(paths):
        name, config = line[len(":dep ") :].split("=", 1)
        with tempfile.TemporaryDirectory(prefix="prebuild-") as folder:
            crate = Path(folder)
            (crate / "src").mkdir()
            (crate / "src" / "lib.rs").write_text("")
            (crate / "Cargo.toml").write_text(
                EVCXR_CRATE_MANIFEST + f"{name.strip()} = {config.strip()}\n"
            )
            started = time.monotonic()
            build = subprocess.run(
                ["cargo", "build", "--quiet", "--target", host], cwd=crate, env=env
            )
        status = "built" if build.returncode == 0 else f"FAILED (exit {build.returncode})"
        print(f"    {status} in {time.monotonic() - started:.1f} s: {line}", flush=True)
        failed += build.returncode != 0
    return 1 if failed else 0


def prewarm(paths: list[Path]) -> int:
    """Compiles each `:dep` line once, in a kernel configured like the notebooks' kernels: evcxr
    builds with its own flags and profile, so a `cargo build` would not help it."""
    stamps = EVCXR_TARGET_DIR / "prewarm-stamps"
    stamps.mkdir(parents=True, exist_ok=True)
    sources = sources_digest()
    for line in dep_lines(paths):
        key = hashlib.sha256(f"{sources}\n{line}".encode()).hexdigest()
        stamp = stamps / hashlib.sha256(line.encode()).hexdigest()[:16]
        if stamp.exists() and stamp.read_text() == key:
            print(f"    up to date: {line}")
            continue
        with tempfile.TemporaryDirectory(prefix="prewarm-") as folder:
            notebook = Path(folder) / "prewarm.ipynb"
            nb = nbformat.v4.new_notebook()
            nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Rust", "language": "rust"}
            nb.cells.append(nbformat.v4.new_code_cell(":offline 0"))
            nb.cells.append(nbformat.v4.new_code_cell(line))
            nbformat.write(nb, notebook)
            print(f"    compiling: {line}", flush=True)
            run = execute_notebook(notebook)
        if not run.ok:
            print("\n".join(run.problems), file=sys.stderr)
            return 1
        print(f"    compiled in {run.total_s:.1f} s")
        stamp.write_text(key)
    return 0


# --------------------------------------------------------------------------------------------
# Handouts
# --------------------------------------------------------------------------------------------

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
IPYNB_LINK = re.compile(r'href="([^":#?]+)\.ipynb(#[^"]*)?"')


def export_html(run: NotebookRun, out: Path, handout_names: set[str]) -> Path:
    """Writes the executed notebook as one self-contained HTML file: CSS inline, figures as inline
    `<svg>` (they arrive as text/html), images embedded, links to other lessons pointing at their
    handouts."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="handout",
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        embed_images=True,
    )
    nb = run.nb
    nb.metadata["title"] = lesson_title(nb) or run.path.stem
    nb.metadata["handout_uses_math"] = any(
        cell.cell_type == "markdown" and "$" in cell.source for cell in nb.cells
    )
    body, _ = exporter.from_notebook_node(nb)

    relative = run.path.resolve().relative_to(NOTEBOOKS_DIR.resolve())
    target = (out / relative).with_suffix(".html")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(link_handouts(body, relative.parent, handout_names), encoding="utf-8")
    return target


def link_handouts(body: str, folder: Path, handout_names: set[str]) -> str:
    """Points relative links to lessons (`day1/01-x.ipynb`) at their handouts (`day1/01-x.html`)
    when the lesson is among the handouts; `folder` is the linking notebook's folder, relative to
    notebooks/, and `handout_names` the lessons' paths relative to notebooks/, without suffix."""

    def to_handout(match: re.Match) -> str:
        linked = Path(os.path.normpath(folder / match.group(1))).as_posix()
        if linked in handout_names:
            return f'href="{match.group(1)}.html{match.group(2) or ""}"'
        return match.group(0)

    return IPYNB_LINK.sub(to_handout, body)


def index_html(runs: list[NotebookRun], pages: list[Path], out: Path) -> str:
    """The handouts' front page: every lesson in order, grouped by day."""
    groups: dict[str, list[str]] = {}
    for run, page in zip(runs, pages):
        relative = page.relative_to(out)
        group = "Start here" if len(relative.parts) == 1 else relative.parts[0].replace("day", "Day ")
        title = html.escape(lesson_title(run.nb) or run.path.stem)
        note = "" if run.ok else ' <strong class="failed">(did not run to the end)</strong>'
        groups.setdefault(group, []).append(
            f'<li><a href="{html.escape(relative.as_posix())}">{title}</a>'
            f' <span class="file">{html.escape(relative.with_suffix(".ipynb").as_posix())}</span>{note}</li>'
        )
    sections = "\n".join(
        f"<h2>{html.escape(group)}</h2>\n<ol>\n" + "\n".join(items) + "\n</ol>"
        for group, items in groups.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Patterns of Distributed Systems in Rust: handouts</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #222; }}
h1 {{ font-size: 1.6rem; }} h2 {{ font-size: 1.2rem; margin-top: 1.6rem; }}
.file {{ color: #777; font-family: monospace; font-size: 0.85em; }}
.failed {{ color: #b00; }}
</style>
</head>
<body>
<h1>Patterns of Distributed Systems in Rust</h1>
<p>Handouts: every lesson executed top to bottom, with its figures and tables.</p>
{sections}
</body>
</html>
"""


def handouts(out: Path) -> int:
    paths = find_notebooks()
    runs = run_all(paths, lint=False)
    names = {p.resolve().relative_to(NOTEBOOKS_DIR.resolve()).with_suffix("").as_posix() for p in paths}
    out.mkdir(parents=True, exist_ok=True)
    pages = [export_html(run, out, names) for run in runs]
    (out / "index.html").write_text(index_html(runs, pages, out), encoding="utf-8")
    print(f"\nhandouts: {display_path(out / 'index.html')} and {len(pages)} lesson(s)")
    return report(runs)


# --------------------------------------------------------------------------------------------
# JupyterLab
# --------------------------------------------------------------------------------------------


def lab(extra: list[str]) -> int:
    jupyter = Path(sys.executable).parent / "jupyter"
    argv = [
        str(jupyter),
        "lab",
        f"--ServerApp.root_dir={NOTEBOOKS_DIR}",
        "--ServerApp.ip=127.0.0.1",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    os.execv(argv[0], argv + extra)


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install-kernel", help="register the Rust kernel in .jupyter/")
    commands.add_parser("prewarm", help="install-kernel, then compile each :dep line once")
    commands.add_parser(
        "prebuild", help="compile the :dep lines' dependencies as evcxr would, without a kernel"
    )
    for name in ("execute", "check"):
        sub = commands.add_parser(name)
        sub.add_argument("notebooks", nargs="*", help="notebooks or folders (default: notebooks/)")
    commands.choices["check"].add_argument(
        "--learner",
        action="store_true",
        help="run the exercises unanswered: every check cell must say 'not yet:'",
    )
    out = commands.add_parser("handouts", help="execute all notebooks and write HTML")
    out.add_argument("--out", type=Path, default=HANDOUTS_DIR)
    commands.add_parser("lab", help="open JupyterLab on notebooks/")
    args, extra = parser.parse_known_args(argv)

    if args.command == "lab":
        return lab(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "install-kernel":
        return install_kernel()
    if args.command == "prewarm":
        return install_kernel() or prewarm(find_notebooks())
    if args.command == "prebuild":
        return prebuild(find_notebooks())
    if args.command in ("execute", "check"):
        paths = find_notebooks(args.notebooks)
        if not paths:
            print("no notebooks found")
            return 0
        mode = "answers"
        if args.command == "check":
            mode = "learner" if args.learner else "both"
        if mode == "learner":
            paths = [p for p in paths if has_exercises(p)]
            print(f"{len(paths)} notebook(s) with exercises")
        return report(run_all(paths, lint=args.command == "check", mode=mode))
    if args.command == "handouts":
        return handouts(args.out)
    return 2


if __name__ == "__main__":
    sys.exit(main())
