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


# ---- exercises ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def as_learner() -> dict[str, notebooks.NotebookRun]:
    """The exercise fixtures that run, checked as the learner gets them (exercises unanswered)."""
    paths = [fixture("exercise"), fixture("exercise_vacuous_check")]
    runs = notebooks.run_all(paths, lint=True, mode="learner")
    return {run.path.stem: run for run in runs}


def outputs_of(run: notebooks.NotebookRun, index: int) -> str:
    return "".join(o.get("text", "") for o in run.nb.cells[index].outputs)


def test_exercises_run_with_their_answers_and_the_answer_cells_are_not_run_again(checked):
    # The check and the handouts prove every exercise can be solved: each exercise cell runs its
    # answer, each check cell then says it is right, and the appendix is not executed twice.
    run = checked["exercise"]
    assert run.ok, run.problems
    assert [cell.index for cell in run.cells] == [1, 2, 3, 4]
    assert outputs_of(run, 2) == "right: 2 of 5 may fail\n"
    assert outputs_of(run, 4) == "right: 2 of 3, 3 of 4, 3 of 5\n"
    assert "replicas / 2 + 1" in run.nb.cells[3].source
    assert run.nb.cells[3].source.startswith("// exercise: majority (answered")
    assert not run.nb.cells[6].get("outputs") and not run.nb.cells[7].get("outputs")


def test_the_learner_gets_every_exercise_unanswered_and_each_check_says_not_yet(as_learner):
    # Run as a learner would: the value is NaN and the function is todo!(); the checks print a
    # hint instead of panicking, and nothing reaches stderr.
    run = as_learner["exercise"]
    assert run.ok, run.problems
    assert outputs_of(run, 2).startswith("not yet: how many of 5 replicas may fail")
    assert outputs_of(run, 4).startswith("not yet: `majority` still panics")
    assert "todo!()" in run.nb.cells[3].source


def test_a_check_that_passes_an_unanswered_exercise_fails_the_learner_run(as_learner):
    # A check that cannot fail checks nothing.
    run = as_learner["exercise_vacuous_check"]
    assert len(run.problems) == 1, run.problems
    assert run.problems[0].startswith("cell 2 (check: tolerated) did not say 'not yet:'")


@pytest.fixture(scope="module")
def both_ways() -> dict[str, notebooks.NotebookRun]:
    """The exercise fixtures as `check` runs them: each exercise unanswered, then answered."""
    paths = [fixture(name) for name in ("exercise", "exercise_vacuous_check", "exercise_wrong_answer")]
    runs = notebooks.run_all(paths, lint=True, mode="both")
    return {run.path.stem: run for run in runs}


def test_check_runs_each_exercise_unanswered_then_answered_in_one_kernel(both_ways):
    # The learner's view and the handout's in one pass: the checks say "not yet:" to the
    # unanswered cell, the answer runs at the exercise's last check, the checks run again and pass.
    run = both_ways["exercise"]
    assert run.ok, run.problems
    # cells 1 and 3 are exercises, 2 and 4 their checks; each answer runs after its one check.
    assert [cell.index for cell in run.cells] == [1, 2, 1, 2, 3, 4, 3, 4]
    assert run.cells[2].first_line.startswith("// exercise: tolerated (answered")
    assert outputs_of(run, 2) == "right: 2 of 5 may fail\n"
    assert outputs_of(run, 4) == "right: 2 of 3, 3 of 4, 3 of 5\n"


def test_check_fails_a_check_that_passes_the_unanswered_exercise(both_ways):
    run = both_ways["exercise_vacuous_check"]
    assert len(run.problems) == 1, run.problems
    assert run.problems[0].startswith("cell 2 (check: tolerated) did not say 'not yet:'")


def test_check_fails_an_answer_that_fails_its_check_after_the_learners_view_passed(both_ways):
    run = both_ways["exercise_wrong_answer"]
    assert [cell.index for cell in run.cells] == [1, 2, 1, 2]
    assert run.problems == [
        "cell 2 says 'not yet: 3 is not it: a majority of 5 is 3' with the answers filled in: "
        "an answer in the instructor appendix does not pass its check"
    ]


def test_an_answer_that_fails_its_own_check_fails_the_check(checked):
    # With the answers filled in, no cell may say "not yet:": the answer must pass.
    run = checked["exercise_wrong_answer"]
    assert run.problems == [
        "cell 2 says 'not yet: 3 is not it: a majority of 5 is 3' with the answers filled in: "
        "an answer in the instructor appendix does not pass its check"
    ]


def test_an_exercise_without_an_answer_fails_before_anything_runs(checked):
    run = checked["exercise_without_answer"]
    assert not run.cells
    assert run.problems == [
        "exercise 'tolerated' (cell 1) has no answer cells (`// answer: tolerated`); expected one, "
        "in the instructor appendix"
    ]


def test_an_exercise_must_start_unanswered(checked):
    # The learner's version holds a placeholder (NaN or todo!()), and is not the answer with other
    # comments or spacing.
    assert len(checked["exercise_without_placeholder"].problems) == 1
    assert "does not look unanswered" in checked["exercise_without_placeholder"].problems[0]
    answered = checked["exercise_already_answered"]
    assert not answered.cells
    assert any("does not look unanswered" in p for p in answered.problems)
    assert any("the learner's version (cell 1) is the answer (cell 4)" in p for p in answered.problems)


def test_exercise_cells_out_of_place_are_named(checked):
    # A misspelt role line, an answer before its check, a check of no exercise.
    problems = checked["exercise_misfiled"].problems
    assert problems[0].startswith("cell 1 opens with '// Exercise: Tolerated'")
    assert "exercise 'majority': its answer (cell 3) comes before its exercise or checks" in problems[1]
    assert problems[2] == "cell(s) 5 name exercise 'quorum', but no cell opens with `// exercise: quorum`"
    assert len(problems) == 3


def code(source: str):
    import nbformat

    return nbformat.v4.new_code_cell(source)


def test_the_learners_version_and_the_answer_are_compared_as_code():
    # Comments, spacing and the role line do not make an answer different from the learner's cell.
    a = "// exercise: x\nlet x = f64::NAN; // choose\n"
    b = "// answer: x\n\n  let x =\n f64::NAN;"
    assert notebooks.without_role_and_comments(a) == notebooks.without_role_and_comments(b)
    assert notebooks.without_role_and_comments("// answer: x\nlet x = 2.0;") == "letx=2.0;"
    assert notebooks.cell_role(code("\n// check: majority-5 \nprintln!();")) == ("check", "majority-5")
    assert notebooks.cell_role(code("let x = 1; // check: x")) is None


def test_two_exercises_of_one_name_and_two_answers_are_refused():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [code("// exercise: x\nlet x = f64::NAN;"), code("// check: x\nprintln!(\"not yet: x\");"),
                code("// exercise: x\nlet x = f64::NAN;"), code("// answer: x\nlet x = 1.0;"),
                code("// answer: x\nlet x = 2.0;")]
    assert notebooks.exercise_problems(nb) == [
        "exercise 'x': cells 0, 2 all open with `// exercise: x`; expected one"
    ]
    del nb.cells[2]
    assert notebooks.exercise_problems(nb) == [
        "exercise 'x' (cell 0) has 2 answer cells (`// answer: x`); expected one, in the instructor appendix"
    ]


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
