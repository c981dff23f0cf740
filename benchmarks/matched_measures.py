"""Four measures of context use (:func:`memviz.context_use.context_use`) for the shipped Nested LSTM, the GRU and
LSTM at its validation accuracy (``data/pretrained/matched/``, where shipped) and the final GRU and LSTM; the same
settings as notebook 07 in full mode.

    python benchmarks/matched_measures.py
"""

from __future__ import annotations

import pandas as pd

from memviz import baselines, context_use, interventions, pretrained, train


def main() -> None:
    runs = pretrained.load_all()
    dataset = runs["gru"].dataset()
    counts = baselines.word_counts(dataset.train, len(dataset.vocab))
    swaps = interventions.swap_earlier_occurrences(dataset.test[:400], dataset.vocab, counts, seed=0)
    print(len(swaps), "swaps")
    models = {"Nested LSTM final": runs["nlstm"], "GRU final": runs["gru"], "LSTM final": runs["lstm"]}
    for cell in ("gru", "lstm"):
        matched = pretrained.PRETRAINED_DIR / "matched" / cell
        if matched.exists():
            models[f"{cell.upper()} matched"] = train.load_run(matched)
    frames = [
        context_use.context_use(run.model, dataset.test[:64], swaps, n_connectivity=24, max_chars=6).assign(model=name)
        for name, run in models.items()
    ]
    pd.set_option("display.width", 200)
    print(pd.concat(frames).round(4).to_string())


if __name__ == "__main__":
    main()
