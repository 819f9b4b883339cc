"""Train a small Transformer to reverse digit sequences, with the backward pass and Adam of exercises
15 and 16, then save pictures of what it learned.

    python train.py                      the reference (solutions/), about 70 s on this 2-core machine
    python train.py --target exercises   your own exercises (the default where there is no solutions/)
    python train.py --lang ko            in Korean (so does a Korean locale); --lang en for English

The task: the source is 4 to 8 random digits, the target the same digits in reverse order
(``3 1 4 1 5`` -> ``5 1 4 1 3``). The model never sees the held-out sequences, and the accuracy
counts a sequence as right only when greedy decoding writes every digit and the ``eos`` exactly.
The pictures (``--figures``, needs matplotlib: ``pip install -e ".[plots]"``) show the
cross-attention of the trained model on one example (an anti-diagonal: output position ``t`` reads
source position ``L - 1 - t``), the causal mask and the positional encoding.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from course.i18n import ENGLISH, argparse_speaking, command_language, lang_option, message
from course.info import ROOT, one_blas_thread

one_blas_thread()  # the matrices are small: one BLAS thread is faster than two

import numpy as np  # noqa: E402

from course.params import TransformerConfig, TransformerParams, init_transformer  # noqa: E402

PAD, BOS, EOS, FIRST_DIGIT = 0, 1, 2, 3  # token ids: digit d is FIRST_DIGIT + d


@dataclass
class Options:
    """What ``main`` trains, with the defaults that reach 99% in under 3 minutes on 2 cores."""

    target: str = "solutions" if (ROOT / "solutions").is_dir() else "exercises"
    steps: int = 1000
    batch: int = 64
    lr: float = 2e-3
    warmup: int = 100
    min_len: int = 4
    max_len: int = 8
    d_model: int = 64
    num_heads: int = 4
    d_ff: int = 128
    num_layers: int = 2
    eval_every: int = 200
    held_out: int = 1000
    seed: int = 0
    figures: Path = ROOT / "figures"
    lang: str = ENGLISH  # the language of what it prints


def reversal_batch(
    rng: np.random.Generator, batch: int, min_len: int, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Random digit sequences, padded [B, max_len], and their reversals within bos, eos [B, max_len + 2]."""
    lengths = rng.integers(min_len, max_len + 1, size=batch)  # (B,)
    digits = rng.integers(0, 10, size=(batch, max_len)) + FIRST_DIGIT  # (B, max_len)
    real = np.arange(max_len) < lengths[:, None]  # (B, max_len)
    src = np.where(real, digits, PAD)
    tgt = np.full((batch, max_len + 2), PAD, dtype=np.int64)
    tgt[:, 0] = BOS
    for b, n in enumerate(lengths):
        tgt[b, 1:n + 1] = digits[b, :n][::-1]
        tgt[b, n + 1] = EOS
    return src, tgt


def held_out_set(options: Options, seen: set[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Sequences drawn from their own generator, none of which appears in the training batches."""
    rng = np.random.default_rng(options.seed + 1)
    src, tgt = reversal_batch(rng, 4 * options.held_out, options.min_len, options.max_len)
    fresh = [i for i, row in enumerate(src) if row.tobytes() not in seen][: options.held_out]
    return src[fresh], tgt[fresh]


def exact_accuracy(modules: dict[str, ModuleType], params: TransformerParams, src: np.ndarray,
                   tgt: np.ndarray) -> float:
    """The fraction of rows whose greedy translation equals the target exactly (digits and eos)."""
    out = modules["ex12_transformer"].greedy_decode(src, params, tgt.shape[1] - 1)  # (B, <= T_tgt)
    out = np.pad(out, ((0, 0), (0, tgt.shape[1] - out.shape[1])), constant_values=PAD)
    return float((out == tgt).all(axis=1).mean())


def learning_rate(step: int, options: Options) -> float:
    """Linear warm-up to ``lr``, then a cosine decay to a tenth of it."""
    if step < options.warmup:
        return options.lr * (step + 1) / options.warmup
    progress = (step - options.warmup) / max(1, options.steps - options.warmup)
    return options.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def progress_bar(step: int, total: int, loss: float, accuracy: float | None, started: float,
                 lang: str = ENGLISH) -> str:
    """One line: a bar, the step, the loss, the last held-out accuracy and the time so far."""
    width = 30
    filled = int(width * step / total)
    acc = "   -  " if accuracy is None else f"{100 * accuracy:5.1f}%"
    return (f"\r[{'#' * filled}{'.' * (width - filled)}] {step:>5}/{total}  "
            + message("loss {loss}  held-out exact {accuracy}  {seconds} s", lang, loss=f"{loss:6.3f}",
                      accuracy=acc, seconds=f"{time.perf_counter() - started:5.0f}"))


def train(options: Options, modules: dict[str, ModuleType]) -> tuple[TransformerParams, float, float]:
    """Train from scratch; returns the model, its held-out exact-sequence accuracy and the seconds taken."""
    training = modules["ex16_training"]
    rng = np.random.default_rng(options.seed)
    vocab = FIRST_DIGIT + 10
    config = TransformerConfig(src_vocab=vocab, tgt_vocab=vocab, d_model=options.d_model,
                               num_heads=options.num_heads, d_ff=options.d_ff,
                               num_layers=options.num_layers, pad_id=PAD, bos_id=BOS, eos_id=EOS)
    params = init_transformer(rng, config, dtype=np.float32)
    state = training.adam_init(params)
    batches = [reversal_batch(rng, options.batch, options.min_len, options.max_len)
               for _ in range(options.steps)]
    test_src, test_tgt = held_out_set(options, {row.tobytes() for src, _ in batches for row in src})
    started, accuracy, loss = time.perf_counter(), None, float("nan")
    for step, (src, tgt) in enumerate(batches, start=1):
        params, state, loss = training.train_step(params, state, src, tgt, learning_rate(step - 1, options))
        if step % options.eval_every == 0 or step == options.steps:
            accuracy = exact_accuracy(modules, params, test_src, test_tgt)
        print(progress_bar(step, options.steps, loss, accuracy, started, options.lang), end="", flush=True)
    print()
    return params, float(accuracy), time.perf_counter() - started


# Fonts with Hangul that matplotlib may find; without one, Korean labels would be drawn as empty boxes.
HANGUL_FONTS = ("Noto Sans CJK KR", "Noto Sans KR", "NanumGothic", "Malgun Gothic", "Apple SD Gothic Neo",
                "AppleGothic", "UnDotum", "Baekmuk Gulim")


def figure_language(lang: str) -> str:
    """The language of the pictures' labels: ``lang`` when matplotlib has a font for it (set as the
    font to use), else English."""
    if lang == ENGLISH:
        return lang
    from matplotlib import font_manager, rcParams

    installed = {f.name for f in font_manager.fontManager.ttflist}
    font = next((name for name in HANGUL_FONTS if name in installed), None)
    if font is None:
        return ENGLISH
    rcParams["font.family"] = [font, "DejaVu Sans"]
    return lang


def save_figures(options: Options, modules: dict[str, ModuleType], params: TransformerParams) -> list[Path]:
    """Cross-attention on one held-out example, the causal mask, the positional encoding."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lang = figure_language(options.lang)
    options.figures.mkdir(parents=True, exist_ok=True)
    paths = [_save(_cross_attention_figure(plt, options, modules, params, lang),
                   options.figures / "cross_attention.png")]

    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(modules["ex06_masking"].causal_mask(10), cmap="gray_r")
    ax.set_title(message("causal_mask(10): query i may attend key j <= i", lang))
    ax.set_xlabel(message("key position j", lang))
    ax.set_ylabel(message("query position i", lang))
    paths.append(_save(fig, options.figures / "causal_mask.png"))

    fig, ax = plt.subplots(figsize=(8, 4))
    pe = modules["ex08_positional_encoding"].sinusoidal_encoding(64, 128)  # (T, D)
    image = ax.imshow(pe, cmap="RdBu", aspect="auto")
    fig.colorbar(image, ax=ax)
    ax.set_title(message("sinusoidal_encoding(64, 128): sin on even columns, cos on odd ones", lang))
    ax.set_xlabel(message("dimension", lang))
    ax.set_ylabel(message("position", lang))
    paths.append(_save(fig, options.figures / "positional_encoding.png"))
    return paths


def _cross_attention_figure(plt: ModuleType, options: Options, modules: dict[str, ModuleType],
                            params: TransformerParams, lang: str) -> Any:
    """One head per panel: which source digit each decoder position reads, on a held-out example."""
    src, _ = reversal_batch(np.random.default_rng(options.seed + 2), 1, options.max_len, options.max_len)
    out = modules["ex12_transformer"].greedy_decode(src, params, options.max_len + 1)  # (1, T_tgt)
    weights = cross_attention(modules, params, src, out[:, :-1])  # (H, T_tgt, T_src) of the last layer
    digits = [str(t - FIRST_DIGIT) for t in src[0]]
    written = [str(t - FIRST_DIGIT) if t >= FIRST_DIGIT else {BOS: "bos", EOS: "eos", PAD: "pad"}[t]
               for t in out[0, :-1]]
    fig, axes = plt.subplots(1, weights.shape[0], figsize=(3.2 * weights.shape[0], 3.4))
    for h, ax in enumerate(np.atleast_1d(axes)):
        ax.imshow(weights[h], cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(digits)), digits)
        ax.set_yticks(range(len(written)), written)
        ax.set_xlabel(message("source token", lang))
        ax.set_title(message("head {h}", lang, h=h))
    np.atleast_1d(axes)[0].set_ylabel(message("decoder input (predicts the next)", lang))
    fig.suptitle(message("Cross-attention of the last decoder layer: the reversal is an anti-diagonal", lang))
    return fig


def cross_attention(modules: dict[str, ModuleType], params: TransformerParams, src: np.ndarray,
                    tgt: np.ndarray) -> np.ndarray:
    """The last decoder layer's cross-attention weights [H, T_tgt, T_src] for the first row."""
    pad, last = params.config.pad_id, params.decoder[-1]
    memory = modules["ex10_encoder"].encode(src, params)
    # every decoder layer but the last, as decode runs them; then the last one up to its cross-attention
    all_but_last = dataclasses.replace(params, decoder=params.decoder[:-1])
    y = modules["ex11_decoder"].decode(tgt, memory, src, all_but_last)  # (B, T_tgt, D)
    self_mask = modules["ex06_masking"].decoder_self_mask(tgt, pad)
    src_mask = modules["ex06_masking"].padding_mask(src, pad)
    attend = modules["ex07_multi_head"].multi_head_attention
    y = modules["ex09_layers"].add_and_norm(y, attend(y, y, last.self_attn, self_mask)[0], last.norm1)
    return attend(y, memory, last.cross_attn, src_mask)[1][0]


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def load_modules(target: str, lang: str = ENGLISH) -> dict[str, ModuleType]:
    """The exercise modules of ``target`` (``solutions`` or ``exercises``), imported as a package."""
    if target not in ("solutions", "exercises"):
        raise SystemExit(message("--target must be 'solutions' or 'exercises', got {target}", lang,
                                 target=repr(target)))
    if not (ROOT / target / "ex16_training.py").is_file():
        raise SystemExit(message("{target}/ex16_training.py is missing: train with --target exercises", lang,
                                 target=target))
    names = ["ex06_masking", "ex07_multi_head", "ex08_positional_encoding", "ex09_layers", "ex10_encoder",
             "ex11_decoder", "ex12_transformer", "ex16_training"]
    return {name: importlib.import_module(f"{target}.{name}") for name in names}


def _parser(defaults: Options, lang: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=message("Train a small Transformer to reverse digit "
                                                         "sequences, with the backward pass and Adam of "
                                                         "exercises\n15 and 16, then save pictures of what "
                                                         "it learned.", lang),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default=defaults.target,
                        help=message("solutions (default) or exercises", lang))
    parser.add_argument("--steps", type=int, default=defaults.steps, help=message("training steps", lang))
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help=message("seed of the data and the model", lang))
    parser.add_argument("--figures", type=Path, default=defaults.figures,
                        help=message("where the pictures go", lang))
    parser.add_argument("--no-figures", action="store_true", help=message("do not save pictures", lang))
    return lang_option(lang, parser)


def main(argv: list[str] | None = None) -> int:
    defaults = Options()
    argv = sys.argv[1:] if argv is None else argv
    lang = command_language(argv, os.environ)[0]
    with argparse_speaking(lang):
        args = _parser(defaults, lang).parse_args(argv)
    options = Options(target=args.target, steps=args.steps, seed=args.seed, figures=args.figures, lang=lang)
    modules = load_modules(options.target, lang)
    print(message("Training a {layers}+{layers}-layer Transformer (D={d_model}, H={heads}, F={d_ff}) to "
                  "reverse {shortest} to {longest} digits, {steps} steps of {batch}, with {target}/", lang,
                  layers=options.num_layers, d_model=options.d_model, heads=options.num_heads,
                  d_ff=options.d_ff, shortest=options.min_len, longest=options.max_len, steps=options.steps,
                  batch=options.batch, target=options.target))
    try:
        params, accuracy, seconds = train(options, modules)
    except NotImplementedError as e:
        print("\n" + message("{target}/ is not finished ({error}): complete exercises 15 and 16 first, "
                             "or train the reference with --target solutions", lang, target=options.target,
                             error=str(e)))
        return 1
    print(message("held-out exact-sequence accuracy: {accuracy}% in {seconds} s", lang,
                  accuracy=f"{100 * accuracy:.1f}", seconds=f"{seconds:.0f}"))
    if not args.no_figures:
        print(draw(options, modules, params))
    return 0 if accuracy >= 0.99 else 1


def draw(options: Options, modules: dict[str, ModuleType], params: TransformerParams) -> str:
    """Save the pictures; what to tell the learner about them."""
    lang = options.lang
    try:
        paths = save_figures(options, modules, params)
    except ImportError:
        return message('matplotlib is not installed, so no pictures: pip install -e ".[plots]"', lang)
    shown = [p.relative_to(Path.cwd()) if p.is_relative_to(Path.cwd()) else p for p in paths]
    said = message("pictures: {paths}", lang, paths=", ".join(map(str, shown)))
    if figure_language(lang) != lang:
        said += "\n" + message("no font with Hangul for matplotlib, so the pictures' labels are in English: "
                               "install one (e.g. apt install fonts-noto-cjk, or fonts-nanum) to have them "
                               "in Korean", lang)
    return said


if __name__ == "__main__":
    sys.exit(main())
