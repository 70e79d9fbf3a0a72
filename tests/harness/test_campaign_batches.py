"""Campaign parallelism (compat/executors/campaign.py, shipping.py): fixtures are read and
validated once, by the parent, and travel to the workers as pickles; cases go out in
batches whose reports stream back; a worker that dies in the middle of a batch costs that
case's run only, with any number of workers. Real worker processes, real engines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_support import compat

from compat.check import CheckOptions, Job, _settings, collect
from compat.engines import load_engine, run_engine_here
from compat.executors import tasks
from compat.executors.campaign import MAX_BATCH, CheckCampaign, _Schedule
from compat.executors.serve import Notes
from compat.executors.shipping import pack, unpack
from compat.report import CaseReport

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
FIXTURE = """\
workflow:
  id: modes
  nodes:
    - {id: start, type: start}
    - id: finish
      type: end
      params: {outputs: {mode: "{{ inputs.mode }}", twice: "{{ inputs.mode ~ inputs.mode }}"}}
  edges:
    - {source: start, target: finish}
cases:
"""


def fixture(folder: Path, *modes: str, name: str = "modes.yaml") -> Path:
    cases = "".join(f"  - name: {mode}\n    inputs: {{mode: {mode}}}\n" for mode in modes)
    path = folder / name
    path.write_text(FIXTURE + cases)
    return path


def spans(total: int, workers: int) -> list[tuple[int, int]]:
    schedule = _Schedule(total, workers)
    out = []
    while (span := schedule.take()) is not None:
        out.append(span)
    return out


@pytest.mark.parametrize(("total", "workers"), [(0, 1), (1, 2), (7, 1), (233, 2), (1000, 2)])
def test_batches_cover_the_work_in_order_and_shrink_towards_the_end(
    total: int, workers: int
) -> None:
    found = spans(total, workers)
    assert [i for start, stop in found for i in range(start, stop)] == list(range(total))
    assert all(0 < stop - start <= MAX_BATCH for start, stop in found)
    if workers > 1 and total > 4 * workers:
        assert found[-1][1] - found[-1][0] == 1  # the last batches are single cases


def test_every_bundled_fixture_travels_as_a_pickle_and_runs_the_same() -> None:
    options = CheckOptions()
    config = _settings(options)
    tools = config.tool_registry()
    engine = load_engine("graph", tools=tools, env=config.environment())
    for job in collect([ROOT / "fixtures"], config, options):
        data = pack(job)
        assert data is not None, job.path
        again = unpack(data)
        assert again.path == job.path and again.tolerances == job.tolerances
        assert again.cases == job.cases
        case = job.cases[0]
        runs = [
            run_engine_here(engine, j.fixture.registry, case.inputs, case.conversation,
                            tools=tools, cancel=case.cancel)
            for j in (job, again)
        ]  # fmt: skip
        first, second = (run.result.model_dump(exclude={"metrics"}) for run in runs)  # type: ignore[union-attr]
        assert first == second, job.path


class Parts(Notes):
    """The notes of a task run here: the reports it streams, kept."""

    def __init__(self) -> None:
        super().__init__(None)
        self.reports: list[Any] = []
        self.labels: list[str] = []

    def __call__(self, label: str) -> None:
        self.labels.append(label)

    def part(self, value: Any) -> None:
        self.reports.append(value)


def test_a_job_that_does_not_pickle_is_read_by_the_worker(tmp_path: Path) -> None:
    """`pack` gives None for a job that does not pickle; the worker then reads its path."""
    path = fixture(tmp_path, "a", "b")
    options = CheckOptions()
    (job,) = collect([path], _settings(options), options)
    assert pack(Job(job.path, job.fixture, job.tolerances, (lambda: 0,))) is None  # type: ignore[arg-type]
    state = tasks.setup_check(options.model_dump())
    notes = Parts()
    sent = tasks.check_cases(state, notes, {7: (str(path), None)}, [(7, 1), (7, 0)])
    assert sent == 2
    assert [(r.case, r.passed) for r in notes.reports] == [("b", True), ("a", True)]
    assert notes.labels[0] == "load" and notes.labels.count("load") == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_never_read_a_fixture_the_parent_has_read(tmp_path: Path, workers: int) -> None:
    """The fixture file is broken after the parent read it: the workers, which get it from
    the parent, run every case as read."""
    path = fixture(tmp_path, *(f"m{i}" for i in range(40)))
    options = CheckOptions(workers=workers)
    config = _settings(options)
    seen: list[tuple[int, int]] = []
    with CheckCampaign(options) as campaign:
        jobs = campaign.prepare(lambda: collect([path], config, options), early=True)
        path.write_text("workflow: [this is no longer a fixture\n")
        work = [(job, case) for job in jobs for case in job.cases]
        reports = campaign.run(work, lambda done, total, report: seen.append((done, total)))
    assert [r.case for r in reports] == [f"m{i}" for i in range(40)]
    assert all(isinstance(r, CaseReport) and r.passed for r in reports)
    assert reports[3].primary.outputs == {"mode": "m3", "twice": "m3m3"}
    assert seen == [(n, 40) for n in range(1, 41)]


CRASHES = {
    "exit-zero": "exited with code 0 before answering",
    "segfault": "SIGSEGV",
    "killed": "SIGKILL",
    "interrupt": "KeyboardInterrupt",
}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_worker_dying_mid_batch_costs_that_run_only(tmp_path: Path, workers: str) -> None:
    """Healthy cases around dying ones, in one batch (or two workers' batches): each dying
    run is `crashed` with its cause, its case's other run and every other case are as in a
    healthy check, in fixture order."""
    shutil.copy(HERE / "misbehaving.py", tmp_path / "misbehaving.py")
    modes = [f"ok{i}" for i in range(6)]
    for n, mode in enumerate(CRASHES):
        modes.insert(1 + 2 * n, mode)
    fixture(tmp_path, *modes)
    out = tmp_path / "report.json"
    run = compat(
        "check", "modes.yaml", "--shadow", "misbehaving:Engine", "--workers", workers,
        "--json", out, cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 1, run
    cases = json.loads(out.read_text())["cases"]
    assert [c["case"] for c in cases] == modes
    for case in cases:
        mode = case["case"]
        assert case["primary"]["status"] == "completed", mode
        if mode in CRASHES:
            assert case["shadow"]["status"] == "crashed", mode
            assert CRASHES[mode] in case["shadow"]["problem"], mode
        else:
            assert case["passed"] is True, mode
            assert case["shadow"]["outputs"] == {"mode": mode, "twice": mode * 2}


def test_a_users_engines_or_compat_folder_is_not_imported_by_the_workers(tmp_path: Path) -> None:
    """The fork server is a `python -c`, which puts the working directory first on its path:
    a user's `engines` or `compat` package there must not stand in for ours."""
    for name in ("engines", "compat"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(
            f"open({str(tmp_path / f'{name}-imported')!r}, 'w').close()\n"
        )
    fixture(tmp_path, "a", "b")
    run = compat("check", "modes.yaml", "--workers", "2", cwd=tmp_path)
    assert run.code == 0, run
    assert sorted(p.name for p in tmp_path.glob("*-imported")) == []
