"""What every benchmark script shares: the machine line, percentiles, and rewriting its section of BENCHMARKS.md.

Each script owns one section between `<!-- name:start -->` and `<!-- name:end -->`, so rerunning
one script replaces its own figures and leaves the others' alone.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
_NEW_FILE = "# Benchmarks\n\nMeasured by the scripts in `bench/`; rerun them to update.\n"


def machine() -> str:
    """Cores, CPU and its widest vector instructions: "AMD EPYC" has named CPUs 2x apart in speed here."""
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8") if Path("/proc/cpuinfo").exists() else ""
    fields = dict(line.split(":", 1) for line in cpuinfo.split("\n\n", 1)[0].splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    vectors = (
        "AVX-512 with bf16" if "avx512_bf16" in flags else "AVX-512" if "avx512f" in flags else "AVX2 only" if "avx2" in flags else "no AVX2"
    )
    family = f", family {fields['cpu family']} model {fields['model']}" if "cpu family" in fields and "model" in fields else ""
    return f"{os.cpu_count()} cores, {fields.get('model name', 'unknown CPU')}{family}, {vectors}"


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95."""
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def write_section(name: str, lines: list[str]) -> Path:
    """Replace (or append) the section `name` of BENCHMARKS.md with these lines."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    section = "\n".join([start, *lines, end])
    old = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else _NEW_FILE
    if start in old and end in old:
        new = old[: old.index(start)] + section + old[old.index(end) + len(end) :]
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    BENCHMARKS.write_text(new, encoding="utf-8")
    return BENCHMARKS


def provenance(*, minutes: float | None = None, machine_extra: str = "") -> list[str]:
    """The lines every section ends with: the exact command, when, and on what."""
    python = Path(sys.executable)
    shown = os.path.relpath(python, ROOT) if python.is_relative_to(ROOT) else "python"
    script = os.path.relpath(Path(sys.argv[0]).resolve(), ROOT)
    took = f"; {minutes:.1f} min" if minutes is not None else ""
    return [
        f"- Command: `{' '.join([shown, script, *sys.argv[1:]])}` (from the repository root{took})",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}{'; ' + machine_extra if machine_extra else ''}",
    ]
