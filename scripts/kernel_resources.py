#!/usr/bin/env python3
"""What one learner's Rust kernel costs: runs notebooks one after another, each in a fresh kernel
(as `notebooks.py execute` does), and prints per notebook the kernel's memory (proportional set
size, so pages shared between processes count once) at its peak, which is while cargo and rustc
compile a cell, and at the end, when the kernel sits warm with the crate loaded; the CPU time of
evcxr itself (its rust-analyzer infers the types of kept variables) and of the compilers it ran;
and what the notebooks added to the shared build dir on disk. Linux only (/proc).

    .venv/bin/python scripts/kernel_resources.py [NOTEBOOK_OR_FOLDER...]

The README's "Teaching a class" section quotes its output.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import notebooks  # noqa: E402

SAMPLE_S = 0.2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def children_of() -> dict[int, list[int]]:
    """Every process's children, from /proc (one pass)."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def descendants(pid: int) -> list[int]:
    tree = children_of()
    found, stack = [], list(tree.get(pid, []))
    while stack:
        child = stack.pop()
        found.append(child)
        stack += tree.get(child, [])
    return found


def pss_bytes(pid: int) -> int:
    """Proportional set size; resident size where smaps_rollup is missing."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE
    except OSError:
        return 0


def command_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as comm:
            return comm.read().strip()
    except OSError:
        return ""


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(own user+sys, waited-for children's user+sys) of a process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return (0.0, 0.0)
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    children = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    return (own, children)


@dataclass
class Sample:
    kernel_pss: int = 0  # the evcxr_jupyter process alone
    tree_pss: int = 0  # the kernel and everything it runs (cargo, rustc, the cell's code)
    evcxr_cpu_s: float = 0.0
    compilers_cpu_s: float = 0.0


class Sampler(threading.Thread):
    """Samples the evcxr kernel under this process every SAMPLE_S seconds."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, Sample]] = []  # (time.monotonic(), sample)
        self.peak_tree_pss = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.stopping.is_set():
            kernels = [pid for pid in descendants(me) if command_name(pid) == "evcxr_jupyter"]
            if kernels:
                kernel = kernels[0]
                under = [kernel] + descendants(kernel)
                own, children = cpu_seconds(kernel)
                # Compilers still running are not in the kernel's children's times yet.
                running = sum(sum(cpu_seconds(pid)) for pid in under[1:])
                sample = Sample(
                    kernel_pss=pss_bytes(kernel),
                    tree_pss=sum(pss_bytes(pid) for pid in under),
                    evcxr_cpu_s=own,
                    compilers_cpu_s=children + running,
                )
                self.samples.append((time.monotonic(), sample))
                self.peak_tree_pss = max(self.peak_tree_pss, sample.tree_pss)
            self.stopping.wait(SAMPLE_S)

    def at(self, moment: float) -> Sample:
        """The last sample taken at or before `moment`."""
        before = [sample for taken, sample in self.samples if taken <= moment]
        return before[-1] if before else Sample()


def disk_bytes(folder: Path) -> int:
    total = 0
    for path, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(path, name)).st_blocks * 512
            except OSError:
                pass
    return total


def mib(size: int) -> str:
    return f"{size / 2**20:.0f}"


def main(argv: list[str]) -> int:
    paths = notebooks.find_notebooks(argv or None)
    target = notebooks.EVCXR_TARGET_DIR
    disk_before = disk_bytes(target)
    rows = [
        "| notebook | result | total s | kernel PSS at end MiB | peak PSS, kernel + compilers MiB "
        "| evcxr CPU s | compilers CPU s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    failed = 0
    for path in paths:
        print(f"--> {notebooks.display_path(path)}", flush=True)
        sampler = Sampler()
        sampler.start()
        started = time.monotonic()
        run = notebooks.execute_notebook(path)
        sampler.stopping.set()
        sampler.join()
        # Warm, with the crate loaded: after the last cell, before the kernel was shut down.
        warm = sampler.at(started + run.total_s)
        failed += not run.ok
        rows.append(
            f"| {notebooks.display_path(path)} | {'ok' if run.ok else 'FAILED'} | {run.total_s:.1f} "
            f"| {mib(warm.kernel_pss)} | {mib(sampler.peak_tree_pss)} "
            f"| {warm.evcxr_cpu_s:.1f} | {warm.compilers_cpu_s:.1f} |"
        )
    disk_after = disk_bytes(target)
    print()
    print("\n".join(rows))
    print(
        f"\nshared build dir {notebooks.display_path(target)}: {mib(disk_before)} MiB before, "
        f"{mib(disk_after)} MiB after ({mib(disk_after - disk_before)} MiB added by these notebooks); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
