"""Keystroke -> updated view of the live autocomplete demo (notebook 08's widget), measured in a browser.

Starts JupyterLab on 127.0.0.1, runs a small notebook that shows ``widgets.AutocompleteDemo`` with the
three shipped models (all length buckets compiled first), and types a text of 200 characters into
its box with real keystrokes in headless Chromium (Debian's ``chromium``, driven by Playwright). The
widget's script records, for every keystroke, the time until the first drawn answer that includes
it (browser -> kernel -> three models -> browser -> DOM); the kernel's own compute time per answer
is recorded too. Prints Markdown tables by text length.

    .venv/bin/python benchmarks/autocomplete_latency.py [--delay-ms 150] [--out benchmarks/results/autocomplete_latency.md]

``--delay-ms`` is the pause between keystrokes (150 ms: a fast typist). A keystroke that comes while
an answer is pending waits for it (coalescing), and that wait is part of its latency.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import nbformat

from memviz.testing import lab

ROOT = Path(__file__).resolve().parent.parent
TEXT = (
    "it is a truth universally acknowledged that a single man in possession of a good fortune must be in want "
    "of a wife however little known the feelings or views of such a man may be on his first entering a neighbourhood"
)[:199]

SETUP = """from memviz import autocomplete, pretrained, widgets
runs = pretrained.load_all()
vocab = runs["gru"].dataset().vocab
models = {run.name: run.model for run in runs.values()}
autocomplete.warm_up(models, vocab)  # every bucket compiled before typing
demo = widgets.AutocompleteDemo(models, vocab, text="")
demo"""


def summarise(rows: list[tuple[int, float]], what: str) -> str:
    lines = [f"| text length | keystrokes | {what}: median | p90 | max |", "|---|---:|---:|---:|---:|"]
    for lo, hi in [(1, 50), (51, 100), (101, 150), (151, 200)]:
        values = sorted(v for n, v in rows if lo <= n <= hi)
        if values:
            p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
            lines.append(
                f"| {lo}–{hi} | {len(values)} | {statistics.median(values):.0f} ms | {p90:.0f} ms | {max(values):.0f} ms |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=int, default=150)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--screenshot", type=Path, default=None, help="PNG of the widget after typing")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("needs Debian's chromium (apt-get install chromium)")
    work = Path(tempfile.mkdtemp(prefix="memviz-bench-"))
    nbformat.write(
        nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(SETUP)],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        ),
        work / "bench.ipynb",
    )
    load_before = os.getloadavg()
    with lab.running(work) as (base, token), sync_playwright() as playwright:
        url = f"{base}/lab/tree/bench.ipynb?token={token}"
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        page.wait_for_function(
            "window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel", timeout=120_000
        )
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_selector(".memviz-autocomplete-input", timeout=900_000)
        page.wait_for_function(
            "document.querySelector('.memviz-autocomplete')?.dataset.text !== undefined", timeout=60_000
        )
        box = page.locator(".memviz-autocomplete-input")
        box.click()
        box.press_sequentially(TEXT, delay=args.delay_ms, timeout=0)
        page.wait_for_function(
            f"document.querySelector('.memviz-autocomplete').dataset.text === ' ' + {TEXT!r}", timeout=60_000
        )
        latencies = page.evaluate(
            "JSON.parse(document.querySelector('.memviz-autocomplete').parentElement.dataset.latencies)"
        )
        kernel = page.evaluate(
            "JSON.parse(document.querySelector('.memviz-autocomplete').parentElement.dataset.kernel)"
        )
        if args.screenshot:
            box.fill("")
            box.press_sequentially("she was not in the habit of ackno", delay=args.delay_ms, timeout=0)
            page.wait_for_function(
                "document.querySelector('.memviz-autocomplete').dataset.text.endsWith('ackno')", timeout=60_000
            )
            page.locator(".memviz-autocomplete").screenshot(path=str(args.screenshot))
        browser.close()
    load_after = os.getloadavg()
    typed = [(n + 1, ms) for n, ms in enumerate(latencies)]  # keystroke n leaves n + 1 characters typed
    report = "\n".join(
        [
            f"Command: `.venv/bin/python benchmarks/autocomplete_latency.py --delay-ms {args.delay_ms}`",
            (
                f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, no GPU; {platform.python_version()}; headless Chromium; "
                f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (1 min)"
            ),
            f"Keystrokes: {len(latencies)} (one every {args.delay_ms} ms), browser console errors: {len(errors)}",
            "",
            "Keystroke -> updated view (browser -> kernel -> 3 models -> browser -> DOM):",
            "",
            summarise(typed, "latency"),
            "",
            "The kernel's part (3 models, one answer; text length with its leading space):",
            "",
            summarise([(int(n), float(ms)) for n, ms in kernel], "kernel"),
        ]
    )
    print(report)
    if args.out:
        args.out.write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
