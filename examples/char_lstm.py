"""A character-level LSTM trained on nine of Shakespeare's sonnets, then sampled.

Embedding -> LSTM -> Linear predicts the next character of random 32-character
windows of the text (teacher forcing, cross-entropy, Adam, gradient clipping); the
loss curve is printed (and plotted when matplotlib is installed), then the model
writes text one character at a time, carrying its (h, c) state forward.

    python examples/char_lstm.py [--steps 300] [--quick]
"""

from __future__ import annotations

import os

# The matrices are small (32 x 96 @ 96 x 384): one BLAS thread is faster than several, and far
# faster on a busy machine. Set before NumPy loads, only when run as a script (not when a test
# imports it); a value you exported yourself wins.
if __name__ == "__main__":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from common import parser, pyplot, save  # noqa: E402

import autodiff as ad  # noqa: E402
import nn  # noqa: E402
from nn import optim  # noqa: E402

# Sonnets 1, 18, 29, 30, 55, 60, 73, 116 and 130 by William Shakespeare (first printed
# 1609; public domain), in the modern spelling of common editions such as Project
# Gutenberg's eBook #1041. 5,570 characters.
TEXT = Path(__file__).resolve().parent / "data" / "sonnets.txt"


class CharLSTM(nn.Module):
    """Characters -> embedding -> LSTM -> logits of the next character."""

    def __init__(self, vocab: int, embed: int, hidden: int, seed: int) -> None:
        super().__init__()
        gen = np.random.default_rng(seed)
        self.embed = nn.Embedding(vocab, embed, rng=gen)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True, rng=gen)
        self.head = nn.Linear(hidden, vocab, rng=gen)

    def forward(self, idx, state=None):
        out, state = self.lstm(self.embed(idx), state)
        return self.head(out), state


def batches(codes: np.ndarray, seq_len: int, batch: int, rng: np.random.Generator):
    """Endless (inputs, next characters) pairs of random windows, both (batch, seq_len)."""
    while True:
        starts = rng.integers(0, len(codes) - seq_len - 1, size=batch)
        window = np.stack([codes[s:s + seq_len + 1] for s in starts])
        yield window[:, :-1], window[:, 1:]


def train(model: CharLSTM, codes: np.ndarray, steps: int, seq_len: int, batch: int, seed: int) -> list[float]:
    """Adam on the mean cross-entropy per character; the loss of every step."""
    loss_fn, opt = nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01)
    vocab, losses = model.head.out_features, []
    for _, (x, y) in zip(range(steps), batches(codes, seq_len, batch, np.random.default_rng(seed)), strict=False):
        logits, _ = model(x)
        loss = loss_fn(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        losses.append(loss.item())
    return losses


def sample(model: CharLSTM, chars: list[str], prompt: str, length: int, temperature: float, seed: int) -> str:
    """``prompt`` continued by ``length`` characters drawn from the model's softmax / temperature."""
    index = {c: i for i, c in enumerate(chars)}
    rng, out = np.random.default_rng(seed), list(prompt)
    with ad.no_grad():
        logits, state = model(np.array([[index[c] for c in prompt]]))
        for _ in range(length):
            p = ad.softmax(logits[0, -1] / temperature).numpy()
            code = int(rng.choice(len(chars), p=p / p.sum()))
            out.append(chars[code])
            logits, state = model(np.array([[code]]), state)
    return "".join(out)


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300, help="training steps (batches)")
    p.add_argument("--hidden", type=int, default=96, help="LSTM hidden size")
    args = p.parse_args(argv)
    seq_len, batch, length = 32, 32, 300
    if args.quick:
        args.steps, args.hidden, seq_len, batch, length = 4, 16, 8, 4, 40
    text = TEXT.read_text(encoding="utf-8")
    chars = sorted(set(text))
    codes = np.array([chars.index(c) for c in text])
    model = CharLSTM(len(chars), 32, args.hidden, args.seed)
    print(f"{len(text):,} characters, {len(chars)} distinct; {model.num_parameters():,} parameters")
    start, cpu = time.perf_counter(), time.process_time()
    losses = train(model, codes, args.steps, seq_len, batch, args.seed)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    every = max(1, args.steps // 10)
    print(f"loss per character (nats; a uniform guess is ln {len(chars)} = {np.log(len(chars)):.3f}):")
    for s in range(0, args.steps, every):
        chunk = losses[s:s + every]
        print(f"  steps {s + 1:4d}-{s + len(chunk):4d}  {np.mean(chunk):.3f}")
    print(f"{args.steps} steps of {batch} x {seq_len} characters in {seconds:.1f}s ({cpu:.1f}s of CPU time)")
    text_out = sample(model.eval(), chars, "Shall I ", length, 0.7, args.seed)
    print("\nsampled at temperature 0.7:\n" + text_out)
    plt = pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(np.arange(1, len(losses) + 1), losses, lw=0.8)
        ax.axhline(np.log(len(chars)), color="grey", ls="--", lw=0.8, label="uniform guess")
        ax.set(xlabel="step", ylabel="cross-entropy per character (nats)", title="char LSTM on the sonnets")
        ax.legend()
        save(fig, args.out, "char_lstm_loss.png")
    return {"losses": losses, "sample": text_out, "seconds": seconds, "vocab": len(chars)}


if __name__ == "__main__":
    main()
