"""A reader's own notebook, as a script in a folder outside the clone: three models of their own (flax's nnx.RNN with
a GRUCell, a 2-layer causal Transformer in Flax NNX, a plain function of char one-hots) through every memviz analysis,
with no glue beyond memviz's documented adapters. Run by tests/test_outside_clone.py in a temporary folder."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

import memviz
from memviz import autocomplete, data, interventions

TEXT = "she was not in the habit of"
dataset = memviz.load_dataset("austen", vocab_size=62)
WORDS = len(dataset.vocab)
rngs = nnx.Rngs(0)

# 1. flax's own recurrent layer
embed = nnx.Embed(28, 8, rngs=rngs)
rnn = nnx.RNN(nnx.GRUCell(8, 16, rngs=rngs), rngs=rngs)
head = nnx.Linear(16, WORDS, rngs=rngs)
flax_gru = memviz.EmbedRecurrentModel(embed, rnn, head, name="flax GRU")


# 2. a 2-layer causal Transformer
class Transformer(nnx.Module):
    def __init__(self, width, rngs):
        self.position = nnx.Param(0.1 * jax.random.normal(rngs.params(), (256, width)))
        self.attention = nnx.List([nnx.MultiHeadAttention(2, width, decode=False, rngs=rngs) for _ in range(2)])
        self.mlp = nnx.List([nnx.Linear(width, width, rngs=rngs) for _ in range(2)])

    def __call__(self, x):
        x = x + self.position[: x.shape[1]]
        mask = nnx.make_causal_mask(jnp.ones(x.shape[:2]))
        for attention, mlp in zip(self.attention, self.mlp):
            x = x + attention(x, mask=mask)
            x = x + jax.nn.gelu(mlp(x))
        return x


transformer = memviz.EmbedRecurrentModel(
    nnx.Embed(28, 8, rngs=rngs), Transformer(8, rngs), nnx.Linear(8, WORDS, rngs=rngs), name="Transformer"
)


# 3. a plain function of its parameters and the one-hot input: a decaying bag of characters, then a dense layer
def apply(params, onehot):
    def step(h, x):
        h = params["decay"] * h + x @ params["embed"]
        return h, h

    _, hs = jax.lax.scan(step, jnp.zeros((onehot.shape[0], 8)), jnp.swapaxes(onehot, 0, 1))
    return jnp.tanh(jnp.swapaxes(hs, 0, 1)) @ params["out"]


key = np.random.default_rng(0)
params = {"decay": 0.8, "embed": key.normal(size=(28, 8)), "out": key.normal(size=(8, WORDS))}
function = memviz.FunctionModel(apply, params, num_words=WORDS, name="bag of characters")

source, targets = data.align(" " + TEXT, dataset.vocab)
LAST = len(source) - 1  # the last row is checked against jax.grad on the original model
MODELS = {"flax-gru": flax_gru, "transformer": transformer, "function": function}
for model in [MODELS[name] for name in sys.argv[1:]] or MODELS.values():
    result = memviz.compute_connectivity(model, TEXT, dataset.vocab)
    if model is function:
        onehot = jax.nn.one_hot(source, 28)[None]
        g = jax.grad(lambda o: apply(params, o)[0, LAST, targets[LAST]])(onehot)[0]
    else:
        table = model.embedding_table()
        parts = nnx.List([model.body, model.head])
        g = (
            nnx.grad(lambda m, e: m[1](m[0](e))[0, LAST, targets[LAST]], argnums=1)(parts, table[source][None])[0]
            @ table.T
        )
    np.testing.assert_allclose(result.raw[LAST], np.asarray(jnp.sum(g**2, axis=-1)), rtol=1e-3, atol=1e-9)

    curve = memviz.autocomplete_accuracy(model, dataset.test[:8], max_chars=6)
    assert curve.model == model.name and curve.accuracy.shape[0] == 3
    scores = memviz.attributions(model, source, targets, steps=4)
    assert all(np.isfinite(v).all() for v in scores.values())
    cut = interventions.predict_cut(model, dataset.test[:4], 1)
    suggestions = autocomplete.suggest(model, TEXT, dataset.vocab)
    assert len(suggestions.words) == 3
    explorer = memviz.ConnectivityExplorer([result])
    demo = memviz.AutocompleteDemo({model.name: model}, dataset.vocab, text=TEXT)
    metrics = memviz.evaluate(model, dataset.test[:8], train_split=dataset.train)
    print(
        f"{model.name}: connectivity, accuracy, attributions ({', '.join(scores)}), cut, suggestions, explorer, "
        f"demo, evaluate: cross-entropy {metrics['cross_entropy']:.3f}"
    )
print("all analyses ran")
