"""Command line: ``memviz train | evaluate | connectivity | attributions | accuracy``.

memviz train --cell gru --corpus austen --preset cpu --out runs/gru
memviz train --cell gru --preset cpu --out runs/gru --resume
memviz evaluate runs/gru
memviz connectivity runs/gru --text "the rules taught in schools" --out conn.json
memviz attributions gru --text "the rules taught in schools" --out attributions.png
memviz accuracy gru lstm nlstm --out accuracy.svg

A model is a run directory (a training run, or an exported one such as data/pretrained/gru) or a shipped
model by name: gru, lstm, nlstm ($MEMVIZ_RUNS_DIR/<name> instead, when set). --out takes its format from its
extension: .json or .csv (the data), .html, .png or .svg (a chart).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np

from memviz.data.corpora import CORPORA
from memviz.models.cells import CELLS
from memviz.training.presets import PRESETS, get_preset


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model (resumes with --resume)")
    p.add_argument("--cell", required=True, choices=sorted(CELLS), help="the recurrent unit")
    p.add_argument("--preset", default="cpu", choices=list(PRESETS), help="sizes and schedule (default: cpu)")
    p.add_argument("--corpus", choices=list(CORPORA), help="the text to train on (default: the preset's)")
    p.add_argument("--out", required=True, type=Path, help="run directory (config, checkpoints, history)")
    p.add_argument("--resume", action="store_true", help="continue the run already in --out")
    p.add_argument("--steps", type=int, help="override the preset's number of steps")
    p.add_argument("--batch-size", type=int, help="override the preset's batch size")
    p.add_argument("--seed", type=int, help="override the seed of initialisation and batch order")
    p.add_argument("--hidden", type=int, help="override the units per layer (and the embedding size)")
    p.add_argument("--layers", type=int, help="override the number of layers")
    p.add_argument("--compute-dtype", choices=["float32", "bfloat16"], help="matmul precision")
    p.add_argument("--unroll", type=int, help="lax.scan unroll factor")
    p.add_argument(
        "--wavefront", action="store_true", help="run stacked layers as one wavefront scan (faster on a GPU)"
    )
    p.add_argument("--no-evaluate", action="store_true", help="skip the test-split evaluation at the end")


def _config_from_args(args):
    config = get_preset(args.preset, args.cell)
    train_changes = {
        k: v
        for k, v in {"steps": args.steps, "batch_size": args.batch_size, "seed": args.seed}.items()
        if v is not None and v != getattr(config.train, k)  # the preset's own value is no change
    }
    if args.corpus is not None and args.corpus != config.train.corpus:
        train_changes["corpus"] = args.corpus
        if args.corpus != "text8":
            train_changes["article_vocab"] = False
    if "steps" in train_changes:  # a longer run than the preset's keeps about ten checkpoints, not one every few steps
        train_changes["checkpoint_every"] = max(config.train.checkpoint_every, train_changes["steps"] // 10)
    model_changes = {
        k: v
        for k, v in {
            "hidden_features": args.hidden,
            "embedding_features": args.hidden,
            "num_layers": args.layers,
            "compute_dtype": args.compute_dtype,
            "unroll": args.unroll,
            "wavefront": True if args.wavefront else None,
        }.items()
        if v is not None and v != getattr(config.model, k)
    }
    return dataclasses.replace(
        config,
        model=dataclasses.replace(config.model, **model_changes),
        train=dataclasses.replace(config.train, **train_changes),
        preset=config.preset if not (train_changes or model_changes) else f"{config.preset}+custom",
    )


def _resumed(config, saved, steps: int | None):
    """``config`` as asked on the command line, with the saved run's schedule where the command line is silent:
    its length (unless ``--steps``), checkpoint spacing and preset label. Anything else that differs is refused."""
    schedule = {"steps": steps if steps is not None else saved.train.steps,
                "checkpoint_every": saved.train.checkpoint_every, "keep_checkpoints": saved.train.keep_checkpoints}  # fmt: skip
    return dataclasses.replace(config, train=dataclasses.replace(config.train, **schedule), preset=saved.preset)


def cmd_train(args) -> int:
    """``memviz train``: train (or with ``--resume`` continue) the run in ``--out``, then print its test metrics
    unless ``--no-evaluate``. Returns 0, or 2 when ``--out`` already holds a run and ``--resume`` is not given."""
    from memviz.training import checkpoint, train

    config = _config_from_args(args)
    has_run = (args.out / checkpoint.CHECKPOINT_DIR).exists() and any((args.out / checkpoint.CHECKPOINT_DIR).iterdir())
    if has_run and not args.resume:
        _print_error(f"{args.out} already holds a run; pass --resume to continue it, or choose another --out")
        return 2
    if args.resume and (saved := checkpoint.read_config(args.out)) is not None:
        config = _resumed(config, saved, args.steps)
    run = train.train(config, args.out)  # refuses a saved run of another configuration, naming the fields
    print(f"trained {run.name} for {run.step} steps; run directory {args.out}")
    if not args.no_evaluate:
        _print_metrics(_evaluate(run, record=True))
    return 0


def _load(run: Path):
    """The run in directory ``run``, or the shipped model called ``run`` (``gru``, ``lstm``, ``nlstm``)."""
    from memviz.core.model_names import ARTICLE_CELLS
    from memviz.training import pretrained

    if run.is_dir():
        return pretrained.load_run(run)  # a training run or an exported one
    if str(run) in ARTICLE_CELLS:
        return pretrained.load(str(run), progress=False)
    raise ValueError(
        f"{run} is neither a run directory nor a shipped model: name a folder `memviz train --out` made, or one of "
        f"{', '.join(ARTICLE_CELLS)}"
    )


def _evaluate(run, *, record: bool = False) -> dict:
    """The run's test metrics; ``record``: also into its own ``metrics.json`` (training does, for the run it
    made; ``memviz evaluate`` never changes a run, shipped or not)."""
    from memviz.evaluation import metrics
    from memviz.training import checkpoint

    dataset = run.dataset()
    result = metrics.evaluate(run.model, dataset.test, train_split=dataset.train)
    if not all(math.isfinite(v) for v in result.values()):
        raise RuntimeError(f"{run.name} at step {run.step} gives non-finite test metrics {result}; nothing was written")
    result = {"model": run.name, "steps": run.step, **{k: float(v) for k, v in result.items()}}
    if record and run.directory is not None:  # keep what else the run's metrics.json records (wall time, machine)
        checkpoint.write_metrics(run.directory, {**(checkpoint.read_metrics(run.directory) or {}), **result})
    return result


def _print_metrics(result: dict) -> None:
    for key, value in result.items():
        print(f"{key:>28}: {value:.4f}" if isinstance(value, float) else f"{key:>28}: {value}")


def cmd_evaluate(args) -> int:
    """``memviz evaluate``: compute the test metrics of a run (or a shipped model, by name) and print them (as JSON
    with ``--json``), or write them to ``--out`` as JSON. The run itself is never changed. Returns 0."""
    result = _evaluate(_load(args.run))
    if args.out is not None:
        from memviz.core.files import write_text

        write_text(args.out, json.dumps(result, indent=2) + "\n")
        print(f"wrote the test metrics of {result['model']} (step {result['steps']}) to {args.out}")
    else:
        _print_metrics(result) if not args.json else print(json.dumps(result, indent=2))
    return 0


#: The formats of ``--out``, by extension: the data, or a chart of it.
DATA_SUFFIXES = (".json", ".csv")
CHART_SUFFIXES = (".html", ".png", ".svg")


def _out_suffix(path: Path) -> str:
    """The format of ``--out path`` (its lower-case extension), checked before any work, and its folders created:
    a ``ValueError`` listing the supported extensions, or a ``WriteError`` saying why the folder can't be made."""
    from memviz.core.files import make_parents

    suffix = path.suffix.lower()
    if suffix not in DATA_SUFFIXES + CHART_SUFFIXES:
        raise ValueError(
            f"--out {path}: unsupported file type {path.suffix or '(no extension)'!r}; use .json or .csv (the data), "
            ".html, .png or .svg (a chart)"
        )
    make_parents(path)
    return suffix


def _save_chart(chart, path: Path, suffix: str) -> None:
    """Write an Altair chart to ``path`` atomically: ``.html`` a standalone page (Vega's JavaScript inlined, works
    offline), ``.png``/``.svg`` drawn by vl-convert (offline, no browser)."""
    from memviz.core.files import atomic_file, write_bytes, write_text
    from memviz.frontend import export, page

    if suffix == ".png":
        write_bytes(path, export.chart_png(chart))
    elif suffix == ".svg":
        write_text(path, export.chart_svg(chart))
    else:
        with atomic_file(path) as tmp:
            chart.save(str(tmp), format="html", inline=True, json_kwds={"cls": page.HtmlSafeEncoder})


def _write_json(path: Path, payload) -> None:
    """Write ``payload`` to ``path`` as indented JSON, atomically."""
    from memviz.core.files import write_text

    write_text(path, json.dumps(payload, indent=1) + "\n")


def _write_csv(path: Path, frame) -> None:
    """Write a DataFrame to ``path`` as CSV (no index), atomically."""
    from memviz.core.files import write_text

    write_text(path, frame.to_csv(index=False))


def _heatmap_cell(length: int) -> int:
    """Pixels per cell of a T×T heatmap image: the article's 3 for long texts, larger for short ones."""
    from memviz.viz import style

    return max(style.MATRIX_CELL, min(16, 600 // max(length, 1)))


def _matrix_frame(matrices: dict, text: str, targets, value: str = "value"):
    """Tidy rows ``method, output_position, output_char, target, input_position, input_char, <value>`` of
    ``(T, T)`` matrices (the causal part only: input position ≤ output position)."""
    import pandas as pd

    t_out, t_in = np.tril_indices(len(text))
    chars = np.array(list(text))
    frames = [
        pd.DataFrame({"method": method, "output_position": t_out, "output_char": chars[t_out],
                      "target": np.asarray(targets, dtype=object)[t_out], "input_position": t_in,
                      "input_char": chars[t_in], value: np.asarray(matrix, dtype=np.float64)[t_out, t_in]})
        for method, matrix in matrices.items()
    ]  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def cmd_connectivity(args) -> int:
    """``memviz connectivity``: connectivity of ``--text`` under the run's model, written to ``--out``: ``.json``
    the article's layout, ``.csv`` one row per (output, input) position, ``.html`` a standalone explorer,
    ``.png``/``.svg`` the connectivity matrix. Returns 0."""
    suffix = _out_suffix(args.out)
    from memviz.analysis import connectivity

    run = _load(args.run)
    vocab = run.dataset().vocab
    result = connectivity.compute_connectivity(run.model, args.text, vocab, name=run.name, squared=args.squared)
    if suffix == ".html":
        from memviz.frontend import export

        export.explorer_html([result], args.out)
    elif suffix == ".json":
        result.save(args.out)
    elif suffix == ".csv":
        frame = _matrix_frame({"connectivity": result.raw}, result.text, result.targets, "connectivity")
        _write_csv(args.out, frame.drop(columns="method").assign(normalized=lambda f: _normalized(result, f)))
    else:
        from memviz import viz

        _save_chart(viz.connectivity_heatmap(result, cell=_heatmap_cell(result.length)), args.out, suffix)
    print(f"wrote connectivity of {result.length} characters under {run.name} to {args.out}")
    return 0


def _normalized(result, frame):
    """The row-normalised connectivity (row max = 1, as the article shows it) of ``frame``'s cells."""
    return result.normalized()[frame.output_position, frame.input_position]


def cmd_attributions(args) -> int:
    """``memviz attributions``: the five attributions of the true word's logit (connectivity, gradient × input,
    integrated gradients, two occlusions; :func:`memviz.analysis.attribution.attributions`) for ``--text``,
    written to ``--out``: ``.json`` (``{"methods": {method: T×T}}``), ``.csv`` (one row per method and (output,
    input) position) or a chart, one heatmap per method (``.html``, ``.png``, ``.svg``). Returns 0."""
    suffix = _out_suffix(args.out)
    if args.steps < 1:
        raise ValueError(f"--steps must be at least 1, not {args.steps}")
    from memviz import data
    from memviz.analysis import attribution, connectivity

    run = _load(args.run)
    vocab = run.dataset().vocab
    source, targets = connectivity.aligned_text(run.model, args.text, vocab)
    matrices = attribution.attributions(run.model, source, targets, steps=args.steps)
    text, words = data.decode_chars(source), list(vocab.decode(targets))
    if suffix == ".json":
        methods = {method: np.round(matrix.astype(float), 7).tolist() for method, matrix in matrices.items()}
        _write_json(args.out, {"model": run.name, "text": text, "targets": words, "steps": args.steps,
                               "methods": methods})  # fmt: skip
    elif suffix == ".csv":
        _write_csv(args.out, _matrix_frame(matrices, text, words, "attribution"))
    else:
        from memviz import viz

        _save_chart(viz.attribution_heatmaps(matrices, text, run.name, cell=_heatmap_cell(len(text))), args.out, suffix)
    print(f"wrote {len(matrices)} attributions of {len(text)} characters under {run.name} to {args.out}")
    return 0


def _display_names(runs: list, asked: list[Path]) -> list[str]:
    """The runs' model names, with the name or folder asked for added where two runs share a name."""
    names = [run.name for run in runs]
    return [name if names.count(name) == 1 else f"{name} ({path})" for name, path in zip(names, asked)]


def cmd_accuracy(args) -> int:
    """``memviz accuracy``: the autocomplete accuracy (top-1, 2 and 3) by characters of the word typed, on the
    ``--split`` (default: test) of each model's own dataset (:func:`memviz.evaluation.metrics.
    autocomplete_accuracy`), written to ``--out``: ``.json``, ``.csv`` or the article's chart (``.html``,
    ``.png``, ``.svg``). Returns 0."""
    suffix = _out_suffix(args.out)
    from memviz import viz
    from memviz.evaluation import metrics

    runs = [_load(run) for run in args.runs]
    curves = [
        metrics.autocomplete_accuracy(run.model, getattr(run.dataset(), args.split), name=name, k=3)
        for run, name in zip(runs, _display_names(runs, args.runs))
    ]
    if suffix == ".json":
        _write_json(args.out, {"split": args.split, "curves": [_curve_json(curve) for curve in curves]})
    elif suffix == ".csv":
        _write_csv(args.out, viz.accuracy_frame(curves).assign(split=args.split))
    else:
        _save_chart(viz.accuracy_curves(curves), args.out, suffix)
    print(f"wrote the autocomplete accuracy of {', '.join(c.model for c in curves)} ({args.split} split) to {args.out}")
    return 0


def _curve_json(curve) -> dict:
    """An AccuracyCurve as JSON: ``accuracy[j][n]`` the top-(j+1) accuracy after n characters of the word typed."""
    return {
        "model": curve.model,
        "top_k": list(range(1, len(curve.accuracy) + 1)),
        "accuracy": [[float(v) for v in row] for row in curve.accuracy],
        "counts": None if curve.counts is None else [int(c) for c in curve.counts],
    }


_MODEL_HELP = "a run directory, or a shipped model: gru, lstm, nlstm"
_OUT_HELP = "the output file: .json or .csv (the data), .html, .png or .svg (a chart)"


def _analysis_parsers(sub) -> None:
    """The subcommands that analyse a model: ``connectivity``, ``attributions`` and ``accuracy``."""
    p = sub.add_parser("connectivity", help="connectivity of a text under a trained model")
    p.add_argument("run", type=Path, help=_MODEL_HELP)
    p.add_argument("--text", required=True)
    p.add_argument(
        "--out", required=True, type=Path, help=".json (the article's layout), .csv, .html (a standalone explorer), "
        ".png or .svg (the connectivity matrix)"
    )  # fmt: skip
    p.add_argument(
        "--squared",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the article's squared norm (default), or --no-squared for the plain L2 norm (the API's squared=)",
    )
    p = sub.add_parser("attributions", help="five attributions of a text (connectivity, gradients, occlusion)")
    p.add_argument("run", type=Path, help=_MODEL_HELP)
    p.add_argument("--text", required=True)
    p.add_argument("--out", required=True, type=Path, help=_OUT_HELP + " (one heatmap per method)")
    p.add_argument("--steps", type=int, default=16, help="points of the integrated-gradients path (default: 16)")
    p = sub.add_parser("accuracy", help="autocomplete accuracy by characters typed (top-1, 2, 3) of models")
    p.add_argument("runs", type=Path, nargs="+", metavar="run", help=_MODEL_HELP + " (one or more)")
    p.add_argument("--out", required=True, type=Path, help=_OUT_HELP)
    p.add_argument("--split", choices=["test", "valid"], default="test", help="the split to measure (default: test)")


def build_parser() -> argparse.ArgumentParser:
    """The ``memviz`` argument parser: subcommands ``train``, ``evaluate``, ``connectivity``, ``attributions`` and
    ``accuracy``."""
    parser = argparse.ArgumentParser(
        prog="memviz", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    p = sub.add_parser("evaluate", help="print the article's test metrics of a run (it is never changed)")
    p.add_argument("run", type=Path, help=_MODEL_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--out", type=Path, help="write the metrics to this JSON file instead of printing them")
    _analysis_parsers(sub)
    return parser


def _print_error(message: str) -> None:
    """``memviz: error: <message>`` on stderr, as argparse reports a bad command line."""
    print(f"memviz: error: {message}", file=sys.stderr)


COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "connectivity": cmd_connectivity,
    "attributions": cmd_attributions,
    "accuracy": cmd_accuracy,
}


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand named in ``argv`` (default: ``sys.argv[1:]``) and return its exit status.

    ``ValueError``, ``OSError`` (a file that can't be written or read, a failed download) and ``RuntimeError``
    (a damaged or diverged checkpoint, a run of another configuration) are printed to stderr as
    ``memviz: error: ...``, without a traceback, and give 2; a bad command line exits 2 from argparse.
    """
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, OSError, RuntimeError) as err:  # OSError includes WriteError, DownloadError, FileNotFoundError
        _print_error(str(err))
        return 2


if __name__ == "__main__":
    sys.exit(main())
