"""Tests of the notebook harness (scripts/notebooks.py): the check must catch every way a lesson
can be broken, including the ones evcxr reports as success. Run by `make test` after the set-up
(the execution tests need the project's Rust kernel)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(SCRIPTS))

import notebooks  # noqa: E402


def fixture(name: str) -> Path:
    return FIXTURES / f"{name}.ipynb"


@pytest.fixture(scope="module")
def checked() -> dict[str, notebooks.NotebookRun]:
    """Every fixture checked once (one kernel each), keyed by fixture name."""
    runs = notebooks.run_all(notebooks.find_notebooks([str(FIXTURES)]), lint=True)
    return {run.path.stem: run for run in runs}


def test_a_good_notebook_passes_and_reports_its_timings(checked):
    # A notebook whose cells compile, keep values between cells and assert passes the check.
    run = checked["good"]
    assert run.ok, run.problems
    assert [cell.index for cell in run.cells] == [1, 2]
    assert run.slowest is not None and run.total_s >= run.slowest.seconds > 0
    assert run.nb.cells[2].outputs[0]["text"] == "a quorum of 3 out of 5\n"


def test_a_compile_error_fails_the_check_with_rustcs_message_and_stops_the_notebook(checked):
    # A cell that does not compile fails, the error says why (without ANSI colours), and later
    # cells are not executed.
    run = checked["compile_error"]
    assert not run.ok
    problem = "\n".join(run.problems)
    assert problem.startswith("cell 2 failed")
    assert "cannot add" in problem and "&str" in problem, problem
    assert "\x1b[" not in problem
    assert [cell.index for cell in run.cells] == [1, 2]


def test_a_panic_fails_the_check_although_evcxr_reports_success(checked):
    # evcxr answers a panicking cell with status "ok"; the panic text on stderr must fail it.
    run = checked["panic"]
    assert not run.ok
    problem = "\n".join(run.problems)
    assert len(run.problems) == 1 and problem.startswith("cell 2 panicked:"), problem
    assert "index out of bounds: the len is 3 but the index is 7" in problem


def test_writing_to_stderr_fails_the_check(checked):
    # A lesson cell must not print errors or warnings to stderr.
    run = checked["stderr"]
    assert run.problems == ["cell 1 wrote to stderr:\n    warning: replica 2 is unreachable"]


def test_a_figure_shown_as_debug_text_fails_the_check(checked):
    # evcxr silently shows `{:?}` instead of the HTML when its first compile of the display call
    # fails (here: the last expression moves a variable of its own cell); the handout would
    # carry no figure, so the check fails and says how to write the cell.
    run = checked["display_fallback"]
    assert [cell.index for cell in run.cells] == [1, 2, 3], "cell 2 ends with a variable and passes"
    assert len(run.problems) == 1
    assert run.problems[0].startswith("cell 3 shows Figure as Debug text, not as HTML")
    assert "let figure = ...; figure" in run.problems[0]


def test_committed_outputs_fail_the_check_before_anything_runs(checked):
    # Outputs and execution counts belong to the handouts, not to git.
    run = checked["committed_outputs"]
    assert not run.cells, "the notebook must not be executed"
    assert any("committed output" in p for p in run.problems)
    assert any("execution_count 1" in p for p in run.problems)


def test_a_foreign_kernel_fails_the_check(checked):
    # Every lesson runs on the project's Rust kernel.
    run = checked["foreign_kernel"]
    assert not run.cells
    assert run.problems == ["names kernel 'python3' in metadata.kernelspec; expected 'rust'"]


def test_the_check_command_exits_non_zero_on_failure_and_prints_the_timing_table():
    # CI relies on the exit status; the table shows which notebook failed.
    bad = subprocess.run(
        [sys.executable, str(SCRIPTS / "notebooks.py"), "check", str(fixture("committed_outputs"))],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "| notebook | result |" in bad.stdout and "FAILED" in bad.stdout


def test_lessons_run_start_here_first_then_each_day_in_name_order(tmp_path):
    # 00-start-here, then day1/01.., day2/01..: the order of the handouts and the check.
    names = ["day2/01-replication.ipynb", "day1/02-failures.ipynb", "00-start-here.ipynb",
             "day1/01-littles-law.ipynb"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    ordered = sorted((tmp_path / n for n in names), key=lambda p: notebooks.lesson_order(p, tmp_path))
    assert [p.relative_to(tmp_path).as_posix() for p in ordered] == [
        "00-start-here.ipynb", "day1/01-littles-law.ipynb", "day1/02-failures.ipynb",
        "day2/01-replication.ipynb",
    ]


def test_one_prewarm_per_crate_and_feature_set_whatever_folder_the_notebook_is_in(tmp_path):
    # ../crates/patterns from notebooks/ and ../../crates/patterns from day1/ are the same build;
    # a features list makes a different one.
    import nbformat

    def notebook(relative: str, dep: str) -> Path:
        path = tmp_path / "notebooks" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_code_cell(dep))
        nbformat.write(nb, path)
        return path

    paths = [
        notebook("00-start-here.ipynb", ':dep patterns = { path = "../crates/patterns" }'),
        notebook("day1/01-a.ipynb", ':dep patterns = { path = "../../crates/patterns" }'),
        notebook("day1/02-b.ipynb",
                 ':dep patterns = { path = "../../crates/patterns", features = ["tables"] }'),
    ]
    crate = (tmp_path / "crates" / "patterns").resolve()
    assert notebooks.dep_lines(paths) == [
        f':dep patterns = {{ path = "{crate}" }}',
        f':dep patterns = {{ path = "{crate}", features = ["tables"] }}',
    ]


@pytest.mark.parametrize(
    ("html_in", "html_out"),
    [
        ('<a href="day1/01-littles-law.ipynb">', '<a href="day1/01-littles-law.html">'),
        ('<a href="day1/01-littles-law.ipynb#the-law">', '<a href="day1/01-littles-law.html#the-law">'),
        # a lesson that is not in the handouts (not written yet) keeps its link
        ('<a href="day2/07-raft.ipynb">', '<a href="day2/07-raft.ipynb">'),
        # external links are left alone
        ('<a href="https://example.org/x.ipynb">', '<a href="https://example.org/x.ipynb">'),
    ],
)
def test_links_between_lessons_point_at_their_handouts(html_in, html_out):
    # A handout links to the other handouts, not to the .ipynb files.
    assert notebooks.link_handouts(html_in, Path("."), {"day1/01-littles-law"}) == html_out
