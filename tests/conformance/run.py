"""Runs ONNX's backend node tests (onnx.backend.test.BackendTest) against lwai.backend.

    python3 tests/conformance/run.py --report   # writes docs/conformance.md and passing.txt
    python3 tests/conformance/run.py --check    # fails if a test listed in passing.txt fails
    python3 tests/conformance/run.py -k 'test_(add|sub)' -v   # a subset, with error messages

Tests run in worker processes, so a crash or a hang (--timeout) in one case is recorded as
that case's failure and the run goes on. Excluded categories (see exclusions.py) are not run.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PASSING = os.path.join(HERE, "passing.txt")
REPORT = os.path.join(ROOT, "docs", "conformance.md")
sys.path.insert(0, HERE)


def node_cases():
    from onnx.backend.test.loader import load_model_tests

    return {case.name: case for case in load_model_tests(kind="node")}


def backend_test_methods():
    """test name -> (unittest.TestCase class, method name) from onnx's BackendTest."""
    import onnx.backend.test

    import lwai.backend

    backend_test = onnx.backend.test.BackendTest(lwai.backend, __name__)
    methods = {}
    for test_class in backend_test.test_cases.values():
        for attr in dir(test_class):
            if attr.startswith("test_") and attr.endswith("_cpu"):
                methods[attr[: -len("_cpu")]] = (test_class, attr)
    return methods


class _Result(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.outcome = "passed"
        self.message = ""

    def _fail(self, err):
        self.outcome = "failed"
        exc_type, exc, _ = err
        text = f"{exc_type.__name__}: {exc}".strip()
        self.message = text

    def addError(self, test, err):  # noqa: N802 - unittest API
        self._fail(err)

    def addFailure(self, test, err):  # noqa: N802
        self._fail(err)

    def addSkip(self, test, reason):  # noqa: N802
        self.outcome = "failed"
        self.message = f"skipped: {reason}"


def worker(names_file: str, out_file: str) -> None:
    import faulthandler

    faulthandler.enable()
    methods = backend_test_methods()
    with open(names_file) as f:
        names = f.read().split()
    with open(out_file, "a") as out:
        for name in names:
            out.write(json.dumps({"start": name}) + "\n")
            out.flush()
            if name not in methods:
                record = {"name": name, "outcome": "failed", "message": "not in BackendTest"}
            else:
                test_class, method = methods[name]
                result = _Result()
                test_class(method).run(result)
                record = {"name": name, "outcome": result.outcome, "message": result.message}
            out.write(json.dumps(record) + "\n")
            out.flush()


def run_tests(names: list[str], jobs: int, timeout: float, verbose: bool, quiet: bool) -> dict:
    """Runs `names` in `jobs` worker processes; returns name -> {outcome, message}."""
    results: dict[str, dict] = {}
    pending = [names[i::jobs] for i in range(jobs)]
    tmp = tempfile.mkdtemp(prefix="lwai-conformance-")
    workers = []

    def start(shard_index: int, shard: list[str]):
        names_file = os.path.join(tmp, f"names{shard_index}-{time.monotonic_ns()}")
        out_file = names_file + ".out"
        with open(names_file, "w") as f:
            f.write("\n".join(shard))
        open(out_file, "w").close()
        proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", names_file, out_file],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        return {
            "proc": proc,
            "shard": shard,
            "out": out_file,
            "pos": 0,
            "last": time.time(),
            "current": None,
            "index": shard_index,
            "progress": False,
        }

    workers = [start(i, shard) for i, shard in enumerate(pending) if shard]
    while workers:
        time.sleep(0.05)
        for w in list(workers):
            with open(w["out"]) as f:
                f.seek(w["pos"])
                chunk = f.read()
            complete = chunk[: chunk.rfind("\n") + 1]
            w["pos"] += len(complete)
            for line in complete.splitlines():
                record = json.loads(line)
                w["last"] = time.time()
                w["progress"] = True
                if "start" in record:
                    w["current"] = record["start"]
                else:
                    results[record["name"]] = record
                    w["current"] = None
                    if verbose or (record["outcome"] != "passed" and not quiet):
                        _print_result(record, verbose)
            code = w["proc"].poll()
            hung = w["current"] is not None and time.time() - w["last"] > timeout
            if code is None and not hung:
                continue
            if hung:
                w["proc"].kill()
                w["proc"].wait()
            stderr = w["proc"].stderr.read().decode(errors="replace") if w["proc"].stderr else ""
            workers.remove(w)
            if w["current"] is not None:
                why = f"timed out after {timeout:.0f} s" if hung else f"crashed (exit {code})"
                tail = stderr.strip().splitlines()[-3:]
                record = {
                    "name": w["current"],
                    "outcome": "failed",
                    "message": why + (": " + " | ".join(tail) if tail else ""),
                }
                results[w["current"]] = record
                _print_result(record, verbose)
            rest = [n for n in w["shard"] if n not in results]
            if rest and w["current"] is None and not w["progress"]:
                sys.stderr.write(stderr)
                raise SystemExit(f"conformance worker failed before running a test (exit {code})")
            if rest:
                workers.append(start(w["index"], rest))
    return results


def _print_result(record: dict, verbose: bool) -> None:
    message = record["message"].replace("\n", " ")
    if not verbose and len(message) > 200:
        message = message[:200] + "..."
    print(f"{record['outcome'].upper():7} {record['name']}  {message}", flush=True)


def operator_of(name: str, model, all_ops: list[str]) -> str:
    """The ONNX operator a test case is about: the longest operator name that the test name
    starts with (ignoring case and underscores), else the graph's last node."""
    key = name[len("test_") :].replace("_", "").lower()
    best = ""
    for op in all_ops:
        if key.startswith(op.lower()) and len(op) > len(best):
            best = op
    if best:
        return best
    return model.graph.node[-1].op_type if model.graph.node else "?"


def classify(cases: dict) -> tuple[dict, dict]:
    """name -> operator, name -> exclusion category (or None)."""
    import onnx
    from exclusions import exclusion_category

    all_ops = sorted({s.name for s in onnx.defs.get_all_schemas_with_history()})
    ops, excluded = {}, {}
    for name, case in cases.items():
        model = onnx.load(os.path.join(case.model_dir, "model.onnx"))
        ops[name] = operator_of(name, model, all_ops)
        excluded[name] = exclusion_category(model)
    return ops, excluded


def write_report(cases, ops, excluded, results) -> None:
    import onnx
    from exclusions import REASONS

    import lwai

    total = len(cases)
    excluded_names = [n for n in cases if excluded[n]]
    counted = [n for n in cases if not excluded[n]]
    passed = [n for n in counted if results.get(n, {}).get("outcome") == "passed"]
    failed = [n for n in counted if n not in passed]
    by_category = collections.Counter(excluded[n] for n in excluded_names)
    lines = [
        "# ONNX conformance",
        "",
        "Generated by `make conformance` (`python3 tests/conformance/run.py --report`); do not",
        "edit by hand. It runs every node test case of onnx "
        f"{onnx.__version__}'s backend test suite (`onnx.backend.test.BackendTest`) through",
        f"`lwai.backend` (lwai {lwai.__version__}, default backends), with the tolerances each",
        "test case defines.",
        "",
        f"Run on {datetime.date.today().isoformat()}.",
        "",
        "| | cases | share |",
        "|---|--:|--:|",
        f"| node test cases | {total} | 100% |",
        f"| excluded (see below) | {len(excluded_names)} | "
        f"{100 * len(excluded_names) / total:.1f}% |",
        f"| **passed** | **{len(passed)}** | **{100 * len(passed) / total:.1f}%** of all, "
        f"**{100 * len(passed) / max(len(counted), 1):.1f}%** of counted |",
        f"| failed | {len(failed)} | {100 * len(failed) / total:.1f}% |",
        "",
        "Excluded categories:",
        "",
    ]
    for category, count in sorted(by_category.items()):
        lines.append(f"- **{category}** ({count} cases): {REASONS[category]}.")
    lines += [
        "",
        "## Per operator",
        "",
        "Failing cases are listed with the first line of their error.",
        "",
        "| operator | cases | passed | failed | excluded |",
        "|---|--:|--:|--:|--:|",
    ]
    per_op = collections.defaultdict(lambda: collections.Counter())
    for name in cases:
        outcome = "excluded" if excluded[name] else results.get(name, {}).get("outcome", "failed")
        per_op[ops[name]][outcome] += 1
    for op in sorted(per_op):
        c = per_op[op]
        cells = [str(c[k]) if c[k] else "" for k in ("passed", "failed", "excluded")]
        lines.append(f"| {op} | {sum(c.values())} | " + " | ".join(cells) + " |")
    lines += ["", "## Failing cases", ""]
    if not failed:
        lines.append("None.")
    for name in sorted(failed, key=lambda n: (ops[n], n)):
        message = results.get(name, {}).get("message", "not run").strip().splitlines()
        first = message[0] if message else ""
        if len(first) > 160:
            first = first[:160] + "..."
        lines.append(f"- `{name}` ({ops[name]}): {first.replace('|', '/')}")
    lines += ["", "## Excluded cases", ""]
    for name in sorted(excluded_names):
        lines.append(f"- `{name}` ({ops[name]}): {excluded[name]}")
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    with open(REPORT, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(PASSING, "w") as f:
        f.write("\n".join(sorted(passed)) + "\n")
    print(
        f"{len(passed)}/{total} passed ({100 * len(passed) / total:.1f}% of all, "
        f"{100 * len(passed) / max(len(counted), 1):.1f}% of {len(counted)} counted), "
        f"{len(excluded_names)} excluded; wrote {os.path.relpath(REPORT, ROOT)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="write docs/conformance.md")
    parser.add_argument("--check", action="store_true", help="fail if a listed pass fails")
    parser.add_argument("-k", dest="pattern", help="only test names matching this regex")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every result")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per test case")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0

    start = time.time()
    cases = node_cases()
    ops, excluded = classify(cases)
    names = [n for n in sorted(cases) if not excluded[n]]
    if args.pattern:
        names = [n for n in names if re.search(args.pattern, n)]
    # --check reports only cases that stopped passing, not the known failures.
    results = run_tests(names, max(1, args.jobs), args.timeout, args.verbose, quiet=args.check)
    seconds = time.time() - start
    passed = {n for n, r in results.items() if r["outcome"] == "passed"}
    print(f"{len(passed)}/{len(names)} run cases passed in {seconds:.0f} s")
    if args.report:
        write_report(cases, ops, excluded, results)
    if args.check:
        with open(PASSING) as f:
            expected = set(f.read().split())
        expected &= set(names)
        lost = sorted(expected - passed)
        gained = sorted(passed - expected)
        if gained:
            print(
                f"{len(gained)} case(s) pass that passing.txt does not list yet; "
                "`make conformance` updates it: " + " ".join(gained[:20])
            )
        if lost:
            print(
                f"FAIL: {len(lost)} case(s) listed in tests/conformance/passing.txt no longer "
                "pass: " + " ".join(lost)
            )
            return 1
        print(f"conformance check: all {len(expected)} listed cases pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
