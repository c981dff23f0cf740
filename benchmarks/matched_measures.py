"""Four measures of context use (memviz.context_use) for the Nested LSTM, the GRU at its accuracy (data/pretrained/matched/gru) and the final GRU and LSTM; the same settings as notebook 07 in full mode."""
import numpy as np, pandas as pd
from memviz import baselines, context_use, interventions, pretrained, train
runs = pretrained.load_all(); ds = runs["gru"].dataset(); vocab = ds.vocab
test = ds.test[:64]; repeat_test = ds.test[:400]
swaps = interventions.swap_earlier_occurrences(repeat_test, vocab, baselines.word_counts(ds.train, len(vocab)), seed=0)
models = {"Nested LSTM final 1100": runs["nlstm"], "GRU matched 210": train.load_run(pretrained.PRETRAINED_DIR / "matched" / "gru"),
          "GRU final 1200": runs["gru"], "LSTM final 1000": runs["lstm"]}
print(len(swaps), "swaps")
frames = [context_use.context_use(r.model, test, swaps, n_connectivity=24, max_chars=6).assign(model=n) for n, r in models.items()]
use = pd.concat(frames)
pd.set_option("display.width", 200)
print(use.round(4).to_string())
