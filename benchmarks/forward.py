"""How fast is the reference? The numpy Transformer against the same model in PyTorch, on the CPU.

    python benchmarks/forward.py            # base size: 6+6 layers, D=512, H=8, F=2048, batch 8 x 64 tokens
    python benchmarks/forward.py --quick    # small sizes, a few seconds

It builds the model once with ``course.params.init_transformer`` (float32), copies the same weights
into ``torch.nn.TransformerEncoder``/``TransformerDecoder`` layers (post-norm, ReLU, no dropout, no
final norm: the contract's architecture), checks that both give the same logits, then reports:

- the median time of ``transformer_forward`` (numpy) and of the torch model, and their ratio in
  each interleaved round (min, median, max), by wall-clock and by CPU time;
- the achieved matmul FLOP/s of each (the forward's matmul FLOPs counted from the sizes) as a
  fraction of the machine's float32 matmul peak, measured here with a large ``np.matmul``;
- greedy decoding of ``--new-tokens`` tokens with ``greedy_decode`` (wall time, tokens/s), the same
  loop in torch, and the reference's loop with only the last position projected to the vocabulary;
- the thread count (torch is given numpy's BLAS thread count) and BLAS libraries (threadpoolctl);
- where the numpy forward spends its time (cProfile, by function).

The figures go to ``benchmarks/results/forward.json`` (``forward_quick.json`` with ``--quick``).
Timings on a shared machine are noisy: repeats are interleaved (numpy, torch, numpy, ...) and the
median is reported. Needs the ``parity`` extra (torch, threadpoolctl).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import math
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: find the course

import torch
from threadpoolctl import threadpool_info, threadpool_limits
from torch import nn

from course.info import BLAS_THREAD_VARS, ROOT
from course.params import TransformerConfig, TransformerParams, init_transformer
from solutions import ex10_encoder, ex11_decoder, ex12_transformer

RESULTS = ROOT / "benchmarks" / "results"


@dataclass
class Sizes:
    layers: int
    d_model: int
    heads: int
    d_ff: int
    vocab: int
    batch: int
    src_len: int
    tgt_len: int
    new_tokens: int
    peak_n: int


BASE = Sizes(layers=6, d_model=512, heads=8, d_ff=2048, vocab=32000, batch=8, src_len=64, tgt_len=64,
             new_tokens=64, peak_n=3072)
QUICK = Sizes(layers=2, d_model=128, heads=4, d_ff=512, vocab=1000, batch=4, src_len=16, tgt_len=16,
              new_tokens=8, peak_n=1024)


# ---------------------------------------------------------------------------------------------
# FLOPs: 2 m k n per (m, k) @ (k, n) product
# ---------------------------------------------------------------------------------------------

def mm(m: int, k: int, n: int) -> int:
    return 2 * m * k * n


def forward_flops(s: Sizes, tgt_len: int | None = None, projected: int | None = None) -> dict[str, int]:
    """Matmul FLOPs of one forward pass, by part (``projected`` target positions go through W_out)."""
    B, S, D, F, L, V = s.batch, s.src_len, s.d_model, s.d_ff, s.layers, s.vocab
    T = s.tgt_len if tgt_len is None else tgt_len
    attention = lambda Tq, Tk: 4 * B * Tq * Tk * D  # noqa: E731  Q K^T and weights V, all heads
    ffn = lambda n: mm(n, D, F) + mm(n, F, D)  # noqa: E731
    return {
        "encoder": L * (4 * mm(B * S, D, D) + attention(S, S) + ffn(B * S)),
        "decoder": L * (4 * mm(B * T, D, D) + attention(T, T)  # masked self-attention
                        + 2 * mm(B * T, D, D) + 2 * mm(B * S, D, D) + attention(T, S)  # cross
                        + ffn(B * T)),
        "output": mm(B * (T if projected is None else projected), D, V),
    }


def greedy_flops(s: Sizes, steps: int, last_only: bool) -> int:
    """FLOPs of greedy decoding that re-runs the decoder on the whole prefix at every step."""
    total = forward_flops(s)["encoder"]
    for t in range(1, steps + 1):
        f = forward_flops(s, tgt_len=t, projected=1 if last_only else t)
        total += f["decoder"] + f["output"]
    return total


# ---------------------------------------------------------------------------------------------
# The same model in torch
# ---------------------------------------------------------------------------------------------

def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a).copy())


class TorchTransformer(nn.Module):
    """The contract's Transformer from torch layers: post-norm, ReLU, no dropout, no final norms."""

    def __init__(self, params: TransformerParams, max_len: int = 1024) -> None:
        super().__init__()
        c = params.config
        self.config = c
        kw = dict(d_model=c.d_model, nhead=c.num_heads, dim_feedforward=c.d_ff, dropout=0.0,
                  activation="relu", layer_norm_eps=1e-5, batch_first=True, norm_first=False)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**kw), c.num_layers, norm=None,
                                             enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**kw), c.num_layers, norm=None)
        self.src_embed = nn.Embedding.from_pretrained(_t(params.src_embed))
        self.tgt_embed = nn.Embedding.from_pretrained(_t(params.tgt_embed))
        self.out = nn.Linear(c.d_model, c.tgt_vocab)
        # PE[pos, 2i] = sin(pos / 10000^(2i/D)), PE[pos, 2i+1] = cos(...), computed by torch
        pos = torch.arange(max_len, dtype=torch.float64)[:, None]
        w = 1.0 / 10000.0 ** (torch.arange(0, c.d_model, 2, dtype=torch.float64) / c.d_model)
        pe = torch.zeros(max_len, c.d_model, dtype=torch.float64)
        pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * w), torch.cos(pos * w)
        self.register_buffer("pe", pe.to(torch.float32))
        with torch.no_grad():
            for layer, p in zip(self.encoder.layers, params.encoder, strict=True):
                self._attention(layer.self_attn, p.self_attn)
                self._norm(layer.norm1, p.norm1)
                self._ffn(layer, p.ffn)
                self._norm(layer.norm2, p.norm2)
            for layer, p in zip(self.decoder.layers, params.decoder, strict=True):
                self._attention(layer.self_attn, p.self_attn)
                self._norm(layer.norm1, p.norm1)
                self._attention(layer.multihead_attn, p.cross_attn)
                self._norm(layer.norm2, p.norm2)
                self._ffn(layer, p.ffn)
                self._norm(layer.norm3, p.norm3)
            self.out.weight.copy_(_t(params.W_out.T))
            self.out.bias.copy_(_t(params.b_out))
        self.eval()

    @staticmethod
    def _attention(mha: nn.MultiheadAttention, p) -> None:
        mha.in_proj_weight.copy_(_t(np.concatenate([p.W_q.T, p.W_k.T, p.W_v.T])))  # torch: x @ W.T
        mha.in_proj_bias.copy_(_t(np.concatenate([p.b_q, p.b_k, p.b_v])))
        mha.out_proj.weight.copy_(_t(p.W_o.T))
        mha.out_proj.bias.copy_(_t(p.b_o))

    @staticmethod
    def _norm(norm: nn.LayerNorm, p) -> None:
        norm.weight.copy_(_t(p.gamma))
        norm.bias.copy_(_t(p.beta))

    @staticmethod
    def _ffn(layer, p) -> None:
        layer.linear1.weight.copy_(_t(p.W_1.T))
        layer.linear1.bias.copy_(_t(p.b_1))
        layer.linear2.weight.copy_(_t(p.W_2.T))
        layer.linear2.bias.copy_(_t(p.b_2))

    def embed(self, table: nn.Embedding, tokens: torch.Tensor) -> torch.Tensor:
        return table(tokens) * math.sqrt(self.config.d_model) + self.pe[: tokens.shape[1]]

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        pad = self.config.pad_id
        return self.encoder(self.embed(self.src_embed, src), src_key_padding_mask=src == pad)

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, src: torch.Tensor) -> torch.Tensor:
        pad, T = self.config.pad_id, tgt.shape[1]
        future = torch.ones(T, T, dtype=torch.bool).triu(1)  # True = NOT allowed
        return self.decoder(self.embed(self.tgt_embed, tgt), memory, tgt_mask=future, tgt_is_causal=True,
                            tgt_key_padding_mask=tgt == pad, memory_key_padding_mask=src == pad)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        return self.out(self.decode(tgt, self.encode(src), src))

    def greedy(self, src: torch.Tensor, max_len: int) -> torch.Tensor:
        """The contract's greedy decoding; only the last position is projected to the vocabulary."""
        c = self.config
        memory = self.encode(src)
        tokens = torch.full((src.shape[0], 1), c.bos_id, dtype=torch.long)
        finished = torch.zeros(src.shape[0], dtype=torch.bool)
        for _ in range(max_len):
            nxt = self.out(self.decode(tokens, memory, src)[:, -1]).argmax(-1)
            nxt = torch.where(finished, torch.full_like(nxt, c.pad_id), nxt)
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
            finished |= nxt == c.eos_id
            if bool(finished.all()):
                break
        return tokens


def greedy_last_position(src: np.ndarray, params: TransformerParams, max_len: int) -> np.ndarray:
    """``greedy_decode`` of the reference, projecting only the last position (the proposed change)."""
    c = params.config
    memory = ex10_encoder.encode(src, params)
    tokens = np.full((src.shape[0], 1), c.bos_id, dtype=np.int64)
    finished = np.zeros(src.shape[0], dtype=bool)
    for _ in range(max_len):
        last = ex11_decoder.decode(tokens, memory, src, params)[:, -1]  # (B, D)
        nxt = np.argmax(last @ params.W_out + params.b_out, axis=-1)  # (B,)
        nxt = np.where(finished, c.pad_id, nxt)
        tokens = np.concatenate([tokens, nxt[:, None]], axis=1)
        finished |= nxt == c.eos_id
        if finished.all():
            break
    return tokens


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------

def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall-clock and process CPU seconds of one call, and its result.

    On a loaded machine the CPU time (all of this process's threads) is the steadier figure: it
    leaves out the time the scheduler gave to other processes.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Run every function once to warm up, then ``repeats`` rounds of all of them in turn."""
    for fn in fns.values():
        fn()
    times: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            wall, cpu, _ = timed(fn)
            times[name]["wall"].append(wall)
            times[name]["cpu"].append(cpu)
    return times


def matmul_peak(n: int, repeats: int = 3) -> dict[str, float]:
    """Best float32 FLOP/s of an n x n @ n x n product, in numpy and in torch, per wall-clock second
    and per CPU-second (all threads' CPU time: the steadier figure on a loaded machine)."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n), dtype=np.float32)
    Bm = rng.standard_normal((n, n), dtype=np.float32)
    tA, tB = _t(A), _t(Bm)
    times = interleaved({"numpy": lambda: A @ Bm, "torch": lambda: tA @ tB}, repeats)
    return {f"{k}{suffix}": mm(n, n, n) / min(v[clock]) for k, v in times.items()
            for suffix, clock in (("", "wall"), ("_per_cpu", "cpu"))}


def spread(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def ratios(times: dict[str, dict[str, list[float]]], clock: str) -> dict[str, float]:
    """numpy/torch of each interleaved round (the two ran back to back, under the same load)."""
    return spread([a / b for a, b in zip(times["numpy"][clock], times["torch"][clock], strict=True)])


def blas_info() -> list[dict[str, object]]:
    keep = ("user_api", "internal_api", "num_threads", "version", "threading_layer", "architecture",
            "prefix")
    return [{k: d.get(k) for k in keep} for d in threadpool_info()]


def numpy_blas_threads() -> int:
    for d in threadpool_info():
        if d["user_api"] == "blas" and "numpy" in d["filepath"]:
            return int(d["num_threads"])
    blas = [d for d in threadpool_info() if d["user_api"] == "blas"]
    return int(blas[0]["num_threads"]) if blas else os.cpu_count() or 1


def profile_numpy(fn: Callable[[], object], top: int = 8) -> list[dict[str, object]]:
    """Where one numpy forward spends its time, by function (own time: matmuls count in their caller)."""
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    stats = pstats.Stats(prof).stats  # {(file, line, name): (cc, nc, tottime, cumtime, callers)}
    total = sum(v[2] for v in stats.values())
    rows = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    return [{"function": f"{Path(k[0]).name}:{k[2]}", "calls": v[1], "seconds": round(v[2], 4),
             "share": round(v[2] / total, 3)} for k, v in rows]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a few seconds")
    ap.add_argument("--repeats", type=int, default=None, help="timed forwards each (default 7, quick 5)")
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS threads for numpy and torch alike (default: numpy's current BLAS threads)")
    ap.add_argument("--vocab", type=int, default=None, help="source and target vocabulary size")
    ap.add_argument("--new-tokens", type=int, default=None, help="tokens generated by greedy decoding")
    ap.add_argument("--no-greedy", action="store_true", help="skip the greedy-decoding timings")
    ap.add_argument("--out", type=Path, default=None, help="where to write the JSON figures")
    args = ap.parse_args(argv)

    s = replace(QUICK if args.quick else BASE)
    if args.vocab:
        s.vocab = args.vocab
    if args.new_tokens:
        s.new_tokens = args.new_tokens
    repeats = args.repeats or (5 if args.quick else 7)
    out_path = args.out or RESULTS / ("forward_quick.json" if args.quick else "forward.json")

    threads = args.threads or numpy_blas_threads()
    with threadpool_limits(limits=threads, user_api="blas"):
        return run(args, s, repeats, threads, out_path, argv)


def run(args: argparse.Namespace, s: Sizes, repeats: int, threads: int, out_path: Path,
        argv: list[str] | None) -> dict[str, object]:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    env = describe_machine(threads)
    b = Bench.build(s)
    with torch.inference_mode():
        diff = check_agreement(b)
        forward = time_forward(b, repeats)
        greedy = {} if args.no_greedy else time_greedy(b)
    figures = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sizes": asdict(s), "dtype": "float32", "repeats": repeats,
        "machine": {"cpu": cpu_name(), "logical_cores": os.cpu_count(), "load_average": os.getloadavg(),
                    "numpy": np.__version__, "torch": torch.__version__, "threads": threads,
                    "blas": blas_info(), "env": env},
        "agreement_max_abs_diff": diff,
        **forward,
        "greedy": greedy,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(figures, indent=2) + "\n")
    shown = out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (on a shared machine timings "
          f"are noisy, and more BLAS threads than free cores make them erratic); figures in {shown}")
    return figures


def describe_machine(threads: int) -> dict[str, str]:
    """Print the versions, the threads and the BLAS libraries; the BLAS variables of the environment."""
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", *BLAS_THREAD_VARS)
           if k in os.environ}
    print(f"numpy {np.__version__}, torch {torch.__version__}, python {platform.python_version()}, "
          f"CPU {cpu_name()} ({os.cpu_count()} logical cores)")
    print(f"threads: numpy BLAS {threads}, torch {torch.get_num_threads()}" + (f"; env {env}" if env else ""))
    load = os.getloadavg()[0]
    if threads > 1 and load > (os.cpu_count() or 1) - threads + 0.5:
        print(f"WARNING: load average {load:.1f} on {os.cpu_count()} cores: other processes compete for "
              f"the cores, and BLAS threads that wait for each other then slow down erratically; for "
              f"figures that compare the implementations rather than the scheduler, use --threads 1")
    for d in blas_info():
        print(f"  {d['user_api']:<7} {d['internal_api']:<9} {d['prefix']:<20} version={d['version']} "
              f"threads={d['num_threads']} arch={d.get('architecture')}")
    return env


@dataclass
class Bench:
    """The model and the batch both implementations run."""

    s: Sizes
    params: TransformerParams
    src: np.ndarray
    tgt: np.ndarray
    model: TorchTransformer
    t_src: torch.Tensor
    t_tgt: torch.Tensor

    @classmethod
    def build(cls, s: Sizes) -> Bench:
        config = TransformerConfig(src_vocab=s.vocab, tgt_vocab=s.vocab, d_model=s.d_model,
                                   num_heads=s.heads, d_ff=s.d_ff, num_layers=s.layers)
        params = init_transformer(np.random.default_rng(0), config, np.float32)
        rng = np.random.default_rng(1)
        src = rng.integers(3, s.vocab, size=(s.batch, s.src_len))  # no padding: every position is real
        tgt = rng.integers(3, s.vocab, size=(s.batch, s.tgt_len))
        tgt[:, 0] = config.bos_id
        model = TorchTransformer(params, max_len=max(s.src_len, s.tgt_len, s.new_tokens + 1))
        print(f"model: {s.layers}+{s.layers} layers, D={s.d_model}, H={s.heads}, F={s.d_ff}, V={s.vocab}; "
              f"batch {s.batch} x {s.src_len} source and {s.tgt_len} target tokens, float32")
        return cls(s, params, src, tgt, model, torch.from_numpy(src), torch.from_numpy(tgt))

    def numpy_forward(self) -> np.ndarray:
        return ex12_transformer.transformer_forward(self.src, self.tgt, self.params)

    def torch_forward(self) -> torch.Tensor:
        return self.model(self.t_src, self.t_tgt)


def check_agreement(b: Bench) -> float:
    """The largest difference of the two forwards' logits; stop when they disagree."""
    ours = b.numpy_forward()
    theirs = b.torch_forward().numpy()
    assert ours.dtype == np.float32, ours.dtype
    diff = float(np.max(np.abs(ours - theirs)))
    scale = float(np.max(np.abs(theirs)))
    print(f"agreement: max |numpy - torch| = {diff:.2e} (logits up to {scale:.2f})")
    if not diff <= 1e-3 * max(scale, 1.0):
        raise SystemExit("numpy and torch disagree: the comparison below would be meaningless")
    return diff


def print_times(times: dict[str, dict[str, list[float]]], ratio: dict[str, float],
                ratio_cpu: dict[str, float], repeats: int) -> None:
    """The forward's times, and the ratio numpy/torch of each interleaved round (min, median, max)."""
    med = {k: statistics.median(v["wall"]) for k, v in times.items()}
    print(f"forward ({repeats} interleaved repeats, median wall time): "
          f"numpy {med['numpy'] * 1e3:.1f} ms, torch {med['torch'] * 1e3:.1f} ms")
    print(f"  ratio numpy/torch, wall time: median {ratio['median']:.2f} "
          f"(min {ratio['min']:.2f}, max {ratio['max']:.2f} over the {repeats} rounds)")
    print(f"  ratio numpy/torch, CPU time:  median {ratio_cpu['median']:.2f} "
          f"(min {ratio_cpu['min']:.2f}, max {ratio_cpu['max']:.2f}; steadier on a loaded machine)")
    for k in ("numpy", "torch"):
        w = times[k]["wall"]
        print(f"  {k}: wall {min(w) * 1e3:.1f}..{max(w) * 1e3:.1f} ms, "
              f"CPU time median {statistics.median(times[k]['cpu']) * 1e3:.1f} ms")


def time_forward(b: Bench, repeats: int) -> dict[str, object]:
    """Time both forwards against the matmul peak, and profile numpy's; the figures, printed too."""
    s = b.s
    peak = matmul_peak(s.peak_n)
    print(f"float32 matmul peak ({s.peak_n}^2 @ {s.peak_n}^2, best of 3): numpy "
          f"{peak['numpy'] / 1e9:.1f} GFLOP/s ({peak['numpy_per_cpu'] / 1e9:.1f} per CPU-second), "
          f"torch {peak['torch'] / 1e9:.1f} GFLOP/s ({peak['torch_per_cpu'] / 1e9:.1f} per CPU-second)")
    times = interleaved({"numpy": b.numpy_forward, "torch": b.torch_forward}, repeats)
    med = {k: statistics.median(v["wall"]) for k, v in times.items()}
    med_cpu = {k: statistics.median(v["cpu"]) for k, v in times.items()}
    parts = forward_flops(s)
    flops = sum(parts.values())
    ratio, ratio_cpu = ratios(times, "wall"), ratios(times, "cpu")
    print_times(times, ratio, ratio_cpu, repeats)
    print(f"  matmul work {flops / 1e9:.2f} GFLOP (encoder {parts['encoder'] / 1e9:.2f}, decoder "
          f"{parts['decoder'] / 1e9:.2f}, output {parts['output'] / 1e9:.2f})")
    achieved = {k: flops / v for k, v in med.items()}
    per_cpu = {k: flops / v for k, v in med_cpu.items()}
    for k in ("numpy", "torch"):
        print(f"  {k}: {achieved[k] / 1e9:.1f} GFLOP/s = {achieved[k] / peak['numpy']:.0%} of the "
              f"numpy matmul peak; {per_cpu[k] / 1e9:.1f} GFLOP per CPU-second = "
              f"{per_cpu[k] / peak['numpy_per_cpu']:.0%} of the peak per CPU-second")
    return {
        "forward_seconds": {"median_wall": med, "median_cpu": med_cpu, "all": times},
        "ratio_numpy_over_torch": ratio,  # min, median, max over the interleaved rounds
        "ratio_numpy_over_torch_cpu_time": ratio_cpu,
        "forward_gflop": {k: v / 1e9 for k, v in parts.items()} | {"total": flops / 1e9},
        "achieved_gflops": {k: v / 1e9 for k, v in achieved.items()},
        "gflop_per_cpu_second": {k: v / 1e9 for k, v in per_cpu.items()},
        "peak_gflops": {k: v / 1e9 for k, v in peak.items()},
        "fraction_of_numpy_peak": {k: v / peak["numpy"] for k, v in achieved.items()},
        "fraction_of_numpy_peak_per_cpu": {k: v / peak["numpy_per_cpu"] for k, v in per_cpu.items()},
        "numpy_profile": profile_numpy_forward(b),
    }


def profile_numpy_forward(b: Bench) -> list[dict[str, object]]:
    profile = profile_numpy(b.numpy_forward)
    print("numpy forward by function (own time, cProfile; `@` counts in the function that calls it):")
    for row in profile:
        print(f"  {row['share']:6.1%}  {row['seconds'] * 1e3:8.1f} ms  {row['calls']:5d} calls  "
              f"{row['function']}")
    return profile


def time_greedy(b: Bench) -> dict[str, object]:
    """One run of each greedy decoding: the reference's, numpy's last position only, torch's."""
    s, n, src = b.s, b.s.new_tokens, b.src
    g_time, g_cpu, g_tokens = timed(lambda: ex12_transformer.greedy_decode(src, b.params, n))
    l_time, l_cpu, l_tokens = timed(lambda: greedy_last_position(src, b.params, n))
    t_time, t_cpu, t_tokens = timed(lambda: b.model.greedy(b.t_src, n).numpy())
    steps = g_tokens.shape[1] - 1
    tokens = s.batch * steps
    same = {"last_position": bool(np.array_equal(g_tokens, l_tokens)),
            "torch": bool(np.array_equal(g_tokens, t_tokens))}
    gflop = {"greedy_decode": greedy_flops(s, steps, last_only=False) / 1e9,
             "last_position": greedy_flops(s, steps, last_only=True) / 1e9}
    print(f"greedy decoding, batch {s.batch}, {steps} steps ({tokens} tokens), one run each:")
    print(f"  greedy_decode (reference)      {g_time:7.2f} s {tokens / g_time:7.1f} tokens/s"
          f"  (CPU {g_cpu:.2f} s; {gflop['greedy_decode']:.1f} GFLOP)")
    print(f"  reference, last position only  {l_time:7.2f} s {tokens / l_time:7.1f} tokens/s"
          f"  (CPU {l_cpu:.2f} s; {gflop['last_position']:.1f} GFLOP), same tokens: {same['last_position']}")
    print(f"  torch, last position only      {t_time:7.2f} s {tokens / t_time:7.1f} tokens/s"
          f"  (CPU {t_cpu:.2f} s), same tokens: {same['torch']}")
    return {
        "new_tokens": n, "steps": steps, "tokens": tokens,
        "seconds": {"greedy_decode": g_time, "numpy_last_position": l_time, "torch": t_time},
        "cpu_seconds": {"greedy_decode": g_cpu, "numpy_last_position": l_cpu, "torch": t_cpu},
        "tokens_per_second": {"greedy_decode": tokens / g_time, "numpy_last_position": tokens / l_time,
                              "torch": tokens / t_time},
        "gflop": gflop,
        "same_tokens": same,
    }

if __name__ == "__main__":
    main()
