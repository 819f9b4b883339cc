"""The degrees of freedom the contract leaves open, per function, and which of them the tests vary.

:data:`FREEDOMS` lists, for every function of the contract, the settings a correct implementation
must handle and a test must therefore draw: each argument's dtypes and ranks, the edge sizes
(``T = 1``, one head, ``d_k = 1``), ``T_q`` against ``T_k``, where padding sits and which id pads,
every mask form, and the bad values that must raise ``ValueError``. Each freedom is a predicate on
one call: its bound arguments (defaults applied) and whether it raised.

Which freedoms the tests vary is measured from behaviour, never from test text: run as a pytest
plugin (``python dev.py freedoms`` runs the curriculum under ``solutions/`` with it), this module
watches every call that goes through the seam (``tests/support/target.py``) and records the
freedoms each call exercised. ``python dev.py check`` then fails on a freedom no call exercised.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

LOG_VAR = "COURSE_FREEDOMS_LOG"  # a directory: each test process writes the freedoms it saw there


@dataclass(frozen=True)
class Call:
    """One call through the seam: its arguments by name (defaults applied), the names the caller
    passed, and what it raised."""

    args: dict[str, Any]
    given: frozenset[str]
    error: type[BaseException] | None

    def __getitem__(self, name: str) -> Any:
        return self.args[name]

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def refused(self) -> bool:
        return self.error is not None and issubclass(self.error, ValueError)


Test = Callable[[Call], bool]
Freedoms = dict[str, Test]


def _first_array(value: Any) -> np.ndarray | None:
    """The array itself, or the first array field of a parameter dataclass (depth first)."""
    if isinstance(value, np.ndarray):
        return value
    if is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            found = _first_array(getattr(value, f.name))
            if found is not None:
                return found
    if isinstance(value, list | tuple) and value:
        return _first_array(value[0])
    return None


def dtype_of(value: Any) -> np.dtype | None:
    array = _first_array(value)
    return None if array is None else array.dtype


def floats(*names: str) -> Freedoms:
    """Each argument in ``names`` accepted as float32 and as float64."""
    return {f"{n} is {t}": (lambda c, n=n, t=t: c.ok and dtype_of(c[n]) == np.dtype(t))
            for n in names for t in ("float32", "float64")}


def ranks(name: str, *ns: int) -> Freedoms:
    """``name`` accepted with each rank in ``ns``."""
    return {f"{name} of rank {k}": (lambda c, k=k: c.ok and np.ndim(c[name]) == k) for k in ns}


def when(label: str, test: Test) -> Freedoms:
    """An accepted call where ``test`` holds."""
    return {label: lambda c: c.ok and test(c)}


def default(name: str) -> Freedoms:
    """An accepted call that leaves ``name`` to its default."""
    return when(f"{name} by default", lambda c: name not in c.given)


def bad(label: str, test: Test) -> Freedoms:
    """A call refused with ValueError where ``test`` holds: the bad value named by ``label``."""
    return {f"bad: {label}": lambda c: c.refused and test(c)}


def shape(c: Call, name: str) -> tuple[int, ...]:
    return np.shape(c[name])


def masks(name: str, scores: Callable[[Call], tuple[int, ...]], accepted: tuple[int, ...] = (2, 3,
    4)) -> Freedoms:
    """The mask forms the contract accepts: none, and each rank in ``accepted`` (at most the scores')."""
    out = when(f"{name} is None", lambda c: c[name] is None)
    out |= when(f"{name} hides a whole query row",
                lambda c: c[name] is not None and (~np.broadcast_to(c[name], scores(c))).all(-1).any())
    for k in accepted:
        out |= when(f"{name} of rank {k}", lambda c, k=k: c[name] is not None and np.ndim(c[name]) == k
                    and np.ndim(c[name]) <= len(scores(c)))
    out |= when(f"{name} broadcast over the queries ([..., 1, T_k])",
                lambda c: c[name] is not None and np.ndim(c[name]) >= 2 and np.shape(c[name])[-2] == 1
                and scores(c)[-2] > 1)
    return out


def pads(name: str, pad: Callable[[Call], int], shortest: int = 1) -> Freedoms:
    """Token batches: padding absent and present, its id 0 and not 0, a batch of one row and more."""
    def padded(c: Call) -> np.ndarray:
        return np.asarray(c[name]) == pad(c)

    return (when(f"{name} without padding", lambda c: not padded(c).any())
            | when(f"{name} with padding", lambda c: padded(c).any())
            | when("pad_id = 0", lambda c: pad(c) == 0) | when("pad_id != 0", lambda c: pad(c) != 0)
            | when(f"{name}: one row", lambda c: shape(c, name)[0] == 1)
            | when(f"{name}: rows of different lengths",
                   lambda c: len(set(padded(c).sum(-1).tolist())) > 1)
            | when(f"{name}: T = {shortest}", lambda c: shape(c, name)[-1] == shortest))


def _config(c: Call, name: str = "params") -> Any:
    return c[name].config


def _scores_of(q: str, k: str) -> Callable[[Call], tuple[int, ...]]:
    return lambda c: (*shape(c, q)[:-1], shape(c, k)[-2])


def _mha_scores(q: str, kv: str) -> Callable[[Call], tuple[int, ...]]:
    """The scores of multi-head attention without the head axis: its masks are [T_q, T_k] or
    [B or 1, T_q or 1, T_k], one for every head."""
    return lambda c: (shape(c, q)[0], shape(c, q)[1], shape(c, kv)[1])


def _heads(attn: Callable[[Call], Any]) -> Freedoms:
    """One head, several, and d_k = 1 (as many heads as the width)."""
    return (when("one head", lambda c: attn(c).num_heads == 1)
            | when("several heads", lambda c: attn(c).num_heads > 1)
            | when("d_k = 1", lambda c: attn(c).W_q.shape[0] == attn(c).num_heads))


def _mha(q: str, kv: str, mask: str = "mask") -> Freedoms:
    return (floats(q) | _heads(lambda c: c["p"]) | masks(mask, _mha_scores(q, kv), (2, 3))
            | when("T_q != T_k", lambda c: shape(c, q)[1] != shape(c, kv)[1])
            | when("B != H", lambda c: shape(c, q)[0] not in (1, c["p"].num_heads)))


def _ar_history(name: str) -> Freedoms:
    return floats(name) | when("p = 1", lambda c: len(c["phi"]) == 1) | when("p > 1",
        lambda c: len(c["phi"]) > 1)


def _tokens_model(name: str, shortest: int = 1) -> Freedoms:
    return (floats("params") | pads(name, lambda c: _config(c).pad_id, shortest)
            | bad(f"{name} out of the vocabulary", lambda c: True))


FREEDOMS: dict[str, Freedoms] = {
    "ex01_autoregressive.lag_matrix": floats("y") | when("p = 1", lambda c: c["p"] == 1)
    | when("one row (len(y) = p + 1)", lambda c: len(c["y"]) == c["p"] + 1)
    | bad("p < 1", lambda c: c["p"] < 1) | bad("y of p values or fewer", lambda c: len(c["y"]) <= c["p"]),
    "ex01_autoregressive.fit_ar": floats("y") | when("p = 1", lambda c: c["p"] == 1)
    | when("p > 1", lambda c: c["p"] > 1) | bad("p < 1", lambda c: c["p"] < 1),
    "ex01_autoregressive.predict_next": _ar_history("history")
    | when("history longer than p", lambda c: len(c["history"]) > len(c["phi"]))
    | when("history of exactly p values", lambda c: len(c["history"]) == len(c["phi"]))
    | bad("history shorter than p", lambda c: len(c["history"]) < len(c["phi"])),
    "ex01_autoregressive.forecast": _ar_history("history") | floats("phi")
    | when("steps = 0", lambda c: c["steps"] == 0) | when("steps > 1", lambda c: c["steps"] > 1)
    | bad("steps < 0", lambda c: isinstance(c["steps"], int) and c["steps"] < 0),
    "ex01_autoregressive.simulate_ar": when("n = 0", lambda c: c["n"] == 0)
    | when("burn_in = 0", lambda c: c["burn_in"] == 0) | default("burn_in") | default("noise_std")
    | when("noise_std = 0", lambda c: c["noise_std"] == 0) | when("noise_std != 1",
      lambda c: c["noise_std"] not in (0, 1))
    | when("p = 1", lambda c: len(c["phi"]) == 1) | when("p > 1", lambda c: len(c["phi"]) > 1)
    | bad("n < 0", lambda c: c["n"] < 0) | bad("burn_in < 0", lambda c: c["burn_in"] < 0),
}

for _name in ("softmax", "log_softmax"):
    FREEDOMS[f"ex02_softmax.{_name}"] = (
        floats("x") | ranks("x", 1, 2, 3)
        | when("axis not the last", lambda c: c["axis"] % max(1, np.ndim(c["x"])) != np.ndim(c["x"]) - 1)
        | when("axis negative", lambda c: c["axis"] < 0) | default("axis")
        | when("a size-1 axis", lambda c: shape(c, "x")[c["axis"]] == 1)
        | bad("axis out of range", lambda c: not -np.ndim(c["x"]) <= c["axis"] < np.ndim(c["x"])))

FREEDOMS |= {
    "ex03_seq2seq_attention.dot_scores": floats("query") | ranks("query", 1, 2)
    | when("T = 1", lambda c: shape(c, "keys")[-2] == 1) | when("d = 1", lambda c: shape(c, "query")[-1] == 1)
    | bad("query and keys of different widths", lambda c: shape(c, "query")[-1] != shape(c, "keys")[-1]),
    "ex03_seq2seq_attention.additive_scores": floats("query") | ranks("query", 1, 2)
    | when("T = 1", lambda c: shape(c, "keys")[-2] == 1)
    | when("attention width != d", lambda c: shape(c, "W_q")[1] != shape(c, "query")[-1])
    | when("query and keys of different widths", lambda c: shape(c, "query")[-1] != shape(c, "keys")[-1])
    | bad("W_q that does not fit query", lambda c: shape(c, "W_q")[0] != shape(c, "query")[-1])
    | bad("v that does not fit W_k", lambda c: shape(c, "v")[-1] != shape(c, "W_k")[-1]),
    "ex03_seq2seq_attention.attend": floats("scores") | ranks("scores", 1, 2)
    | when("T = 1", lambda c: shape(c, "scores")[-1] == 1)
    | when("d_v != T", lambda c: shape(c, "values")[-1] != shape(c, "scores")[-1])
    | bad("values of another length", lambda c: shape(c, "values")[-2] != shape(c, "scores")[-1]),
    "ex04_self_attention.self_attention": floats("X") | ranks("X", 2, 3)
    | when("T = 1", lambda c: shape(c, "X")[-2] == 1) | when("d = 1", lambda c: shape(c, "X")[-1] == 1)
    | when("T != d", lambda c: shape(c, "X")[-2] != shape(c, "X")[-1])
    | bad("X of rank 1", lambda c: np.ndim(c["X"]) < 2),
    "ex05_qkv_attention.project_qkv": floats("X") | ranks("X", 2, 3)
    | when("d_k != D", lambda c: shape(c, "W_q")[1] != shape(c, "X")[-1])
    | when("d_v != d_k", lambda c: shape(c, "W_v")[1] != shape(c, "W_q")[1])
    | bad("W_q that does not fit X", lambda c: shape(c, "W_q")[0] != shape(c, "X")[-1]),
    "ex05_qkv_attention.scaled_dot_product_attention": floats("Q") | ranks("Q", 2, 3, 4)
    | masks("mask", _scores_of("Q", "K"))
    | when("T_q != T_k", lambda c: shape(c, "Q")[-2] != shape(c, "K")[-2])
    | when("T_k = 1", lambda c: shape(c, "K")[-2] == 1) | when("d_k = 1", lambda c: shape(c, "Q")[-1] == 1)
    | when("d_v != d_k", lambda c: shape(c, "V")[-1] != shape(c, "Q")[-1])
    | bad("K of another width than Q", lambda c: shape(c, "K")[-1] != shape(c, "Q")[-1])
    | bad("V of another length than K", lambda c: shape(c, "V")[-2] != shape(c, "K")[-2])
    | bad("a mask that does not broadcast", lambda c: c["mask"] is not None),
    "ex06_masking.causal_mask": when("T = 1", lambda c: c["T"] == 1) | when("T > 1", lambda c: c["T"] > 1)
    | bad("T < 1", lambda c: c["T"] < 1),
}

for _name in ("padding_mask", "decoder_self_mask"):
    FREEDOMS[f"ex06_masking.{_name}"] = (
        pads("tokens", lambda c: c["pad_id"])
        | when("padding before a real token", lambda c: (np.diff((np.asarray(c["tokens"]) == c["pad_id"])
                                                                 .astype(int), axis=-1) < 0).any())
        | bad("tokens not [B, T]", lambda c: np.ndim(c["tokens"]) != 2))

FREEDOMS |= {
    "ex07_multi_head.split_heads": floats("X") | when("one head", lambda c: c["num_heads"] == 1)
    | when("d_k = 1", lambda c: c["num_heads"] == shape(c, "X")[-1])
    | when("B != H", lambda c: shape(c, "X")[0] not in (1, c["num_heads"]))
    | bad("num_heads that does not divide D", lambda c: c["num_heads"] >= 1 and shape(c,
      "X")[-1] % c["num_heads"])
    | bad("num_heads < 1", lambda c: c["num_heads"] < 1) | bad("X not [B, T, D]",
      lambda c: np.ndim(c["X"]) != 3),
    "ex07_multi_head.merge_heads": floats("X") | when("one head", lambda c: shape(c, "X")[1] == 1)
    | when("d_k = 1", lambda c: shape(c, "X")[-1] == 1) | bad("X not [B, H, T, d_k]",
      lambda c: np.ndim(c["X"]) != 4),
    "ex07_multi_head.multi_head_attention": _mha("x_q", "x_kv")
    | bad("a mask of rank 4", lambda c: np.ndim(c["mask"]) == 4)
    | bad("x_kv of another width", lambda c: shape(c, "x_kv")[-1] != shape(c, "x_q")[-1]),
    "ex08_positional_encoding.sinusoidal_encoding": when("T = 1", lambda c: c["T"] == 1)
    | when("D = 2", lambda c: c["D"] == 2) | when("T > D", lambda c: c["T"] > c["D"])
    | when("D > T", lambda c: c["D"] > c["T"]) | bad("odd D", lambda c: c["D"] % 2 == 1),
    "ex08_positional_encoding.embed": floats("table") | ranks("tokens", 1, 2)
    | when("T = 1", lambda c: shape(c, "tokens")[-1] == 1)
    | bad("token ids out of the table", lambda c: np.size(c["tokens"])
      and np.max(c["tokens"]) >= shape(c, "table")[0])
    | bad("odd D", lambda c: shape(c, "table")[-1] % 2 == 1),
    "ex09_layers.layer_norm": floats("x") | ranks("x", 1, 2, 3) | default("eps")
    | when("eps not the default", lambda c: c["eps"] != 1e-5)
    | when("a constant row", lambda c: (np.ptp(c["x"], axis=-1) == 0).any())
    | bad("gamma of another width", lambda c: shape(c, "x")[-1] != c["p"].gamma.shape[-1]),
    "ex09_layers.feed_forward": floats("x") | ranks("x", 1, 2, 3)
    | when("F != D", lambda c: c["p"].W_1.shape[1] != c["p"].W_1.shape[0])
    | bad("x of another width", lambda c: shape(c, "x")[-1] != c["p"].W_1.shape[0]),
    "ex09_layers.add_and_norm": floats("x") | ranks("x", 2, 3)
    | bad("sublayer_out of another shape", lambda c: shape(c, "x") != shape(c, "sublayer_out")),
}


def _layer(x: str, attn: Callable[[Call], Any], **mask_args: Callable[[Call], tuple[int, ...]]) -> Freedoms:
    """A layer: its dtypes, edge sizes, heads and masks (``mask_args``: each mask's scores shape)."""
    out = (floats(x) | _heads(attn) | when("T = 1", lambda c: shape(c, x)[1] == 1)
           | when("B = 1", lambda c: shape(c, x)[0] == 1))
    for name, scores in mask_args.items():
        out |= masks(name, scores, (3,))  # the layers' docstrings: [B or 1, T_q or 1, T_k]
    return out


def _checked_layer(x: str, attn: Callable[[Call], Any], **masks: Callable[[Call], tuple[int,
    ...]]) -> Freedoms:
    return _layer(x, attn, **masks) | bad(f"{x} of another width", lambda c: shape(c,
        x)[-1] != attn(c).W_q.shape[0])


def _self_scores(x: str, attn: Callable[[Call], Any]) -> Callable[[Call], tuple[int, ...]]:
    return lambda c: (shape(c, x)[0], shape(c, x)[1], shape(c, x)[1])


def _greedy() -> Freedoms:
    return (_tokens_model("src_tokens") | when("max_len = 1", lambda c: c["max_len"] == 1)
            | when("max_len > 1", lambda c: c["max_len"] > 1)
            | when("eos_id and pad_id not the defaults", lambda c: (_config(c).eos_id,
              _config(c).pad_id) != (2, 0))
            | bad("max_len < 1", lambda c: isinstance(c["max_len"], int) and c["max_len"] < 1))


_SELF = lambda c: c["p"].self_attn  # noqa: E731


def _memory_scores(c: Call) -> tuple[int, ...]:
    return shape(c, "y")[0], shape(c, "y")[1], shape(c, "memory")[1]


FREEDOMS |= {
    "ex10_encoder.encoder_layer": _checked_layer("x", _SELF, mask=_self_scores("x", _SELF)),
    "ex10_encoder.encode": _tokens_model("src_tokens") | when("one layer",
        lambda c: len(c["params"].encoder) == 1)
    | when("several layers", lambda c: len(c["params"].encoder) > 1)
    | bad("src_tokens not [B, T]", lambda c: np.ndim(c["src_tokens"]) != 2),
    "ex11_decoder.decoder_layer": _checked_layer("y", _SELF, self_mask=_self_scores("y", _SELF),
                                                 memory_mask=_memory_scores)
    | when("T_tgt != T_src", lambda c: shape(c, "y")[1] != shape(c, "memory")[1])
    | bad("memory of another batch", lambda c: shape(c, "memory")[0] != shape(c, "y")[0]),
    "ex11_decoder.decode": _tokens_model("tgt_tokens") | pads("src_tokens", lambda c: _config(c).pad_id)
    | when("T_tgt != T_src", lambda c: shape(c, "tgt_tokens")[1] != shape(c, "src_tokens")[1])
    | bad("memory that does not fit src_tokens", lambda c: shape(c, "memory")[:2] != shape(c, "src_tokens")),
    "ex12_transformer.transformer_forward": _tokens_model("tgt_tokens") | pads("src_tokens",
        lambda c: _config(c).pad_id)
    | when("T_tgt != T_src", lambda c: shape(c, "tgt_tokens")[1] != shape(c, "src_tokens")[1]),
    "ex12_transformer.greedy_decode": _greedy(),
    "ex13_kv_cache.empty_cache": floats("params") | when("batch_size = 1", lambda c: c["batch_size"] == 1)
    | when("batch_size > 1", lambda c: c["batch_size"] > 1)
    | when("one layer", lambda c: len(c["params"].decoder) == 1)
    | bad("batch_size < 1", lambda c: isinstance(c["batch_size"], int) and c["batch_size"] < 1),
    "ex13_kv_cache.self_attention_step": floats("x") | _heads(lambda c: c["p"])
    | when("an empty cache (t = 0)", lambda c: c["cache"].keys.shape[2] == 0)
    | when("a cache of several positions", lambda c: c["cache"].keys.shape[2] > 1)
    | when("B > 1", lambda c: shape(c, "x")[0] > 1)
    | bad("x of several positions", lambda c: np.ndim(c["x"]) == 3 and shape(c, "x")[1] != 1)
    | bad("a cache of another batch", lambda c: c["cache"].keys.shape[0] != shape(c, "x")[0]),
    "ex13_kv_cache.decoder_step": floats("params") | pads("src_tokens", lambda c: _config(c).pad_id)
    | when("an empty cache (t = 0)", lambda c: c["cache"][0].keys.shape[2] == 0)
    | when("a cache of several positions", lambda c: c["cache"][0].keys.shape[2] > 1)
    | bad("token out of the vocabulary", lambda c: np.ndim(c["token"]) == 1
          and np.max(c["token"]) >= _config(c).tgt_vocab)
    | bad("token not [B]", lambda c: np.ndim(c["token"]) != 1)
    | bad("a cache of another number of layers", lambda c: len(c["cache"]) != len(c["params"].decoder)),
    "ex13_kv_cache.cached_greedy_decode": _greedy(),
    "ex14_gpt.gpt_forward": floats("params") | when("T = 1", lambda c: shape(c, "tokens")[1] == 1)
    | when("B > 1", lambda c: shape(c, "tokens")[0] > 1) | when("one head",
      lambda c: c["params"].config.num_heads == 1)
    | bad("tokens out of the vocabulary", lambda c: np.ndim(c["tokens"]) == 2 and np.size(c["tokens"])
          and np.max(c["tokens"]) >= c["params"].config.vocab)
    | bad("tokens not [B, T]", lambda c: np.ndim(c["tokens"]) != 2),
    "ex14_gpt.sample": floats("params") | when("temperature 0", lambda c: c["temperature"] == 0)
    | default("temperature")
    | when("temperature neither 0 nor 1", lambda c: c["temperature"] not in (0, 1))
    | when("steps = 0", lambda c: c["steps"] == 0) | when("steps > 1", lambda c: c["steps"] > 1)
    | when("a prompt of one token", lambda c: shape(c, "prompt")[1] == 1)
    | when("B > 1", lambda c: shape(c, "prompt")[0] > 1)
    | bad("steps < 0", lambda c: isinstance(c["steps"], int) and c["steps"] < 0)
    | bad("temperature < 0", lambda c: isinstance(c["temperature"], float | int) and c["temperature"] < 0)
    | bad("rng not a Generator", lambda c: not isinstance(c["rng"], np.random.Generator)),
    "ex15_backward.softmax_backward": floats("probs") | ranks("probs", 1, 2, 3)
    | when("axis not the last", lambda c: c["axis"] % max(1, np.ndim(c["probs"])) != np.ndim(c["probs"]) - 1)
    | bad("grad_out of another shape", lambda c: shape(c, "grad_out") != shape(c, "probs")),
    "ex15_backward.scaled_dot_product_attention_backward": floats("Q") | ranks("Q", 2, 3, 4)
    | masks("mask", _scores_of("Q", "K")) | when("T_q != T_k", lambda c: shape(c, "Q")[-2] != shape(c,
      "K")[-2])
    | when("d_v != d_k", lambda c: shape(c, "V")[-1] != shape(c, "Q")[-1])
    | bad("grad_out of another shape", lambda c: shape(c, "grad_out")[-1] != shape(c, "V")[-1]
          or shape(c, "grad_out")[-2] != shape(c, "Q")[-2]),
    "ex15_backward.layer_norm_backward": floats("x") | ranks("x", 1, 2, 3)
    | when("eps not the default", lambda c: c["eps"] != 1e-5)
    | bad("grad_out of another shape", lambda c: shape(c, "grad_out") != shape(c, "x")),
    "ex15_backward.feed_forward_backward": floats("x") | ranks("x", 1, 2, 3)
    | when("F != D", lambda c: c["p"].W_1.shape[1] != c["p"].W_1.shape[0])
    | bad("grad_out of another shape", lambda c: shape(c, "grad_out") != shape(c, "x")),
    "ex15_backward.cross_entropy": floats("logits") | ranks("logits", 1, 2, 3)
    | when("ignore_id None", lambda c: c["ignore_id"] is None)
    | when("some targets ignored", lambda c: c["ignore_id"] is not None
           and (np.asarray(c["targets"]) == c["ignore_id"]).any())
    | when("every target ignored", lambda c: c["ignore_id"] is not None
           and (np.asarray(c["targets"]) == c["ignore_id"]).all())
    | bad("targets out of range", lambda c: np.size(c["targets"]) and np.max(c["targets"]) >= shape(c,
      "logits")[-1])
    | bad("targets of another shape", lambda c: shape(c, "targets") != shape(c, "logits")[:-1]),
    "ex16_training.multi_head_attention_backward": _mha("x_q", "x_kv")
    | bad("grad_out of another shape", lambda c: shape(c, "grad_out") != shape(c, "x_q")),
    "ex16_training.encoder_layer_backward": _layer("x", _SELF, mask=_self_scores("x", _SELF)),
    "ex16_training.decoder_layer_backward": _layer("y", _SELF, self_mask=_self_scores("y", _SELF),
                                                   memory_mask=_memory_scores)
    | when("T_tgt != T_src", lambda c: shape(c, "y")[1] != shape(c, "memory")[1]),
    "ex16_training.loss_and_grads": _tokens_model("tgt_tokens", shortest=2) | pads("src_tokens",
        lambda c: _config(c).pad_id)
    | bad("tgt_tokens of one column", lambda c: np.ndim(c["tgt_tokens"]) == 2 and shape(c,
      "tgt_tokens")[1] < 2),
    "ex16_training.adam_init": floats("params"),
    "ex16_training.adam_step": floats("params") | when("the first step", lambda c: c["state"].step == 0)
    | when("a later step", lambda c: c["state"].step > 0)
    | default("beta1") | when("betas and eps not the defaults", lambda c: (c["beta1"], c["beta2"],
      c["eps"]) != (0.9, 0.98, 1e-9))
    | when("lr = 0", lambda c: c["lr"] == 0) | bad("lr < 0", lambda c: isinstance(c["lr"],
      float | int) and c["lr"] < 0),
    "ex16_training.train_step": floats("params") | pads("src_tokens", lambda c: _config(c).pad_id)
    | when("the first step", lambda c: c["state"].step == 0) | when("a later step",
      lambda c: c["state"].step > 0),
}


# --- recording, through the seam -------------------------------------------------------------------

_seen: dict[str, set[str]] = {}


def observe(module: str, fn: Callable[..., Any], args: tuple, kwargs: dict,
            error: BaseException | None) -> None:
    """Note the freedoms one call exercised (the seam calls this after every call, when recording)."""
    key = f"{module}.{fn.__name__}"
    listed = FREEDOMS.get(key)
    if not listed:
        return
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except TypeError:
        return
    given = frozenset(bound.arguments)
    bound.apply_defaults()
    call = Call(dict(bound.arguments), given, None if error is None else type(error))
    seen = _seen.setdefault(key, set())
    for name, test in listed.items():
        if name not in seen:
            try:
                hit = bool(test(call))
            except Exception:  # a predicate that does not apply to this call's arguments
                hit = False
            if hit:
                seen.add(name)


def pytest_configure(config: Any) -> None:
    from tests.support import target

    if os.environ.get(LOG_VAR):
        target.observers.append(observe)


def pytest_sessionfinish(session: Any) -> None:
    directory = os.environ.get(LOG_VAR)
    if directory:
        path = Path(directory) / f"{os.getpid()}.json"
        path.write_text(json.dumps({k: sorted(v) for k, v in _seen.items()}))


def unseen(seen: dict[str, list[str]]) -> list[str]:
    """The listed freedoms that no recorded call exercised, as ``module.function: freedom``."""
    return [f"{key}: {name}" for key, listed in FREEDOMS.items() for name in listed
            if name not in seen.get(key, ())]
