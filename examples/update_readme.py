"""Copy what each example prints into examples/README.md (never by hand).

Runs every example script (or the ones named) in a subprocess, one at a time, with one native
thread (``OMP_NUM_THREADS=1``, as ``tests/test_examples.py`` runs them), and replaces the text
between ``<!-- example-output:NAME:start -->`` and ``<!-- example-output:NAME:end -->`` in
``examples/README.md`` with the script's standard output, and the script's cell in the
README's time column with the wall time of that run. ``tests/test_examples.py`` (slow) checks
that every block still equals what its script prints; lines that report a duration ("12.3 s")
are ignored by that comparison. This is a maintenance script, not an example, and not part of
the installed package.

    python examples/update_readme.py [NAME ...]     # e.g. 05 or 05_continual_loop
    python examples/update_readme.py --check        # exit 1 if a block is out of date
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
ROOT = EXAMPLES.parent
README = EXAMPLES / "README.md"
#: Seconds one script may take: well above the measured 10-60 s, for a loaded machine.
TIMEOUT = 300
#: A line reporting a duration; such lines are left out when a block is compared.
DURATION = re.compile(r"\b\d+(\.\d+)? ?s\b")


def scripts() -> list[str]:
    """The example scripts' names without ``.py``, in order."""
    return sorted(p.stem for p in EXAMPLES.glob("[0-9][0-9]_*.py"))


def markers(name: str) -> tuple[str, str]:
    return f"<!-- example-output:{name}:start -->", f"<!-- example-output:{name}:end -->"


def run_example(name: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``examples/NAME.py`` as a user would (from the repository root, this checkout's
    ``src`` first on the path); return the finished process and its wall time in seconds."""
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return done, time.perf_counter() - start


def block(text: str, name: str) -> str:
    """The text between the markers of ``name`` in ``text`` (the fenced output, fences
    removed); a missing marker is an error naming it."""
    start, end = markers(name)
    if text.count(start) != 1 or text.count(end) != 1:
        raise ValueError(f"examples/README.md needs exactly one {start} and one {end}")
    inner = text.split(start, 1)[1].split(end, 1)[0].strip("\n")
    lines = inner.splitlines()
    if len(lines) < 2 or lines[0] != "```text" or lines[-1] != "```":
        raise ValueError(f"the block of {name} is not one ```text fence")
    return "\n".join(lines[1:-1]) + "\n"


def normalised(output: str) -> list[str]:
    """The lines a README block must match: trailing spaces and blank ends removed, lines
    that report a duration left out."""
    lines = [line.rstrip() for line in output.splitlines() if not DURATION.search(line)]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def replace_block(text: str, name: str, output: str) -> str:
    start, end = markers(name)
    block(text, name)  # the markers are there, once each
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    body = "\n".join(line.rstrip() for line in output.rstrip("\n").splitlines())
    return f"{head}{start}\n```text\n{body}\n```\n{end}{tail}"


def replace_time(text: str, name: str, seconds: float) -> str:
    """Set the time column of the script's row in the README's table."""
    row = re.compile(rf"^(\| `{re.escape(name)}\.py` \|.*\| )[^|]*( \|)$", re.MULTILINE)
    if not row.search(text):
        raise ValueError(f"examples/README.md has no table row for {name}.py")
    return row.sub(lambda m: f"{m.group(1)}{seconds:.0f} s{m.group(2)}", text, count=1)


def resolve(names: list[str]) -> list[str]:
    known = scripts()
    chosen = []
    for n in names:
        match = [s for s in known if s == n.removesuffix(".py") or s.startswith(f"{n}_")]
        if len(match) != 1:
            raise SystemExit(f"update_readme.py: error: no single example named {n!r}")
        chosen.append(match[0])
    return chosen or known


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="examples to run (default: all)")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if stale")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    stale = []
    for name in resolve(args.names):
        print(f"running {name}.py ...", file=sys.stderr, flush=True)
        done, seconds = run_example(name)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"update_readme.py: error: {name}.py exited {done.returncode}")
        if normalised(block(text, name)) != normalised(done.stdout):
            stale.append(name)
        if not args.check:
            text = replace_time(replace_block(text, name, done.stdout), name, seconds)
        print(f"  {seconds:.0f} s", file=sys.stderr)
    if args.check:
        for name in stale:
            print(f"examples/README.md: the output of {name}.py is out of date", file=sys.stderr)
        return 1 if stale else 0
    tmp = README.with_name(README.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, README)
    print(f"updated {len(stale)} block(s): {', '.join(stale) or 'none changed'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
