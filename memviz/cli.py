"""Command line: ``memviz train | evaluate | connectivity``.

memviz train --cell gru --corpus austen --preset cpu --out runs/gru
memviz train --cell gru --preset cpu --out runs/gru --resume
memviz evaluate runs/gru
memviz connectivity runs/gru --text "the rules taught in schools" --out conn.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

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
        print(
            f"error: {args.out} already holds a run; pass --resume to continue it, or choose another --out",
            file=sys.stderr,
        )
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
    from memviz.training import pretrained, train

    if run.is_dir():
        return train.load_run(run)
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


def cmd_connectivity(args) -> int:
    """``memviz connectivity``: connectivity of ``--text`` under the run's model, written to ``--out`` as the
    article's JSON layout (``.json``) or a standalone explorer (``.html``). Returns 0."""
    from memviz.analysis import connectivity

    if args.out.suffix not in (".json", ".html"):
        raise ValueError(
            f"--out {args.out} must end in .json or .html: .json writes the article's layout, .html a standalone explorer"
        )
    run = _load(args.run)
    vocab = run.dataset().vocab
    result = connectivity.compute_connectivity(run.model, args.text, vocab, name=run.name, squared=args.squared)
    args.out.parent.mkdir(parents=True, exist_ok=True)  # as for every file memviz writes
    if args.out.suffix == ".html":
        from memviz.frontend import export

        export.explorer_html([result], args.out)
    else:
        result.save(args.out)
    print(f"wrote connectivity of {result.length} characters under {run.name} to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``memviz`` argument parser: subcommands ``train``, ``evaluate`` and ``connectivity``."""
    parser = argparse.ArgumentParser(
        prog="memviz", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    p = sub.add_parser("evaluate", help="print the article's test metrics of a run (it is never changed)")
    p.add_argument("run", type=Path, help="a run directory, or a shipped model: gru, lstm, nlstm")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--out", type=Path, help="write the metrics to this JSON file instead of printing them")
    p = sub.add_parser("connectivity", help="connectivity of a text under a trained model")
    p.add_argument("run", type=Path, help="a run directory, or a shipped model: gru, lstm, nlstm")
    p.add_argument("--text", required=True)
    p.add_argument("--out", required=True, type=Path, help=".json (article layout) or .html (standalone explorer)")
    p.add_argument(
        "--squared",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the article's squared norm (default), or --no-squared for the plain L2 norm (the API's squared=)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand named in ``argv`` (default: ``sys.argv[1:]``) and return its exit status;
    ``ValueError``, ``OSError`` and ``RuntimeError`` are printed to stderr and give 2."""
    args = build_parser().parse_args(argv)
    handler = {"train": cmd_train, "evaluate": cmd_evaluate, "connectivity": cmd_connectivity}[args.command]
    try:
        return handler(args)
    except (ValueError, OSError, RuntimeError) as err:  # OSError includes DownloadError and FileNotFoundError
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
