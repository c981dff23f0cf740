"""PyTorch reference step times at the article configuration, for comparison with train_throughput.py.

    python benchmarks/torch_baseline.py              # needs torch; meant for a GPU machine

cuDNN LSTM and GRU (2 × 600, `torch.nn.LSTM/GRU`), and the Nested LSTM written in eager PyTorch
(a Python loop over time: what a straightforward port looks like). Same shapes as the article:
batch 64, length 200, embedding 600, 16,386 output words, Adam, softmax cross entropy.
Not part of memviz (no dependency on torch): it only gives the anchors in benchmarks/results/.
"""

from __future__ import annotations

import time

import torch
from torch import nn

B, T, H, V, C = 64, 200, 600, 16386, 28


class CudnnModel(nn.Module):
    def __init__(self, kind: str):
        super().__init__()
        self.embed = nn.Embedding(C, H)
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[kind](H, H, num_layers=2, batch_first=True)
        self.dense = nn.Linear(H, V)

    def forward(self, x):
        return self.dense(self.rnn(self.embed(x))[0])


class EagerNestedLSTM(nn.Module):
    """The article's Nested LSTM (depth 2), stepped in Python."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(C, H)
        self.outer = nn.Linear(2 * H, 4 * H)
        self.inner = nn.Linear(2 * H, 4 * H)
        self.dense = nn.Linear(H, V)

    def forward(self, x):
        e = self.embed(x)
        h = c = ci = e.new_zeros(x.shape[0], H)
        outs = []
        for t in range(x.shape[1]):
            i, j, f, o = self.outer(torch.cat([e[:, t], h], -1)).chunk(4, -1)
            ii, jj, ff, oo = self.inner(torch.cat([torch.sigmoid(i) * j, torch.sigmoid(f + 1) * c], -1)).chunk(4, -1)
            ci = torch.sigmoid(ff + 1) * ci + torch.sigmoid(ii) * torch.tanh(jj)
            c = torch.sigmoid(oo) * torch.tanh(ci)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        return self.dense(torch.stack(outs, 1))


def bench(model, autocast: bool, steps: int = 20, warmup: int = 3) -> float:
    dev = "cuda"
    model = model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randint(1, C, (B, T), device=dev)
    y = torch.randint(2, V, (B, T), device=dev)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            loss = nn.functional.cross_entropy(model(x).reshape(-1, V).float(), y.reshape(-1))
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    times.sort()
    return 1e3 * times[len(times) // 2]


def main() -> None:
    torch.backends.cuda.matmul.allow_tf32 = True  # "fp32/TF32", as JAX's default GPU precision
    torch.backends.cudnn.allow_tf32 = True
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
    for name, make in [("cuDNN LSTM", lambda: CudnnModel("lstm")), ("cuDNN GRU", lambda: CudnnModel("gru"))]:
        print(
            f"{name:>22}: fp32/TF32 {bench(make(), False):7.1f} ms/step   bf16 autocast {bench(make(), True):7.1f} ms/step",
            flush=True,
        )
    print(
        f"{'eager Nested LSTM':>22}: fp32/TF32 {bench(EagerNestedLSTM(), False, steps=5):7.1f} ms/step   "
        f"bf16 autocast {bench(EagerNestedLSTM(), True, steps=5):7.1f} ms/step",
        flush=True,
    )


if __name__ == "__main__":
    main()
