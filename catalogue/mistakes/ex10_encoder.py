"""Realistic mistakes in exercise 10 (the encoder). Each replaces the reference function of its name.

An entry runs inside a copy of ``solutions/ex10_encoder.py``: it uses that module's names, imported
here from it only so that the file reads (and lints) like the module it is appended to.
"""

from catalogue import base, mistake, variant
from solutions.ex10_encoder import (
    _check_tokens,
    _check_x,
    add_and_norm,
    embed,
    encoder_layer,
    feed_forward,
    multi_head_attention,
    padding_mask,
)


@mistake("encoder_layer", "pre_norm",
         "you normalise before each sublayer (pre-norm: x + Sublayer(LayerNorm(x))); the paper is "
         "post-norm: x = add_and_norm(x, Sublayer(x)), the layer norm comes after the residual")
def encoder_layer(x, p, mask=None):
    from .ex09_layers import layer_norm

    _check_x(x, p)
    h = layer_norm(x, p.norm1)  # mistake: pre_norm
    x = x + multi_head_attention(h, h, p.self_attn, mask)[0]
    return x + feed_forward(layer_norm(x, p.norm2), p.ffn)


@mistake("encoder_layer", "no_residual_attention",
         "you normalise the attention output alone and lose x: add the residual, "
         "add_and_norm(x, attention_output, p.norm1) = LayerNorm(x + attention_output)")
def encoder_layer(x, p, mask=None):
    from .ex09_layers import layer_norm

    _check_x(x, p)
    # mistake: no_residual_attention
    x = layer_norm(multi_head_attention(x, x, p.self_attn, mask)[0], p.norm1)
    return add_and_norm(x, feed_forward(x, p.ffn), p.norm2)


@mistake("encoder_layer", "no_residual_ffn",
         "you normalise the feed-forward output alone and lose its input: "
         "x = add_and_norm(x, feed_forward(x, p.ffn), p.norm2)")
def encoder_layer(x, p, mask=None):
    from .ex09_layers import layer_norm

    _check_x(x, p)
    x = add_and_norm(x, multi_head_attention(x, x, p.self_attn, mask)[0], p.norm1)
    return layer_norm(feed_forward(x, p.ffn), p.norm2)  # mistake: no_residual_ffn


@mistake("encoder_layer", "mask_ignored",
         "your layer never passes `mask` to the self-attention, so real tokens read the padding: "
         "multi_head_attention(x, x, p.self_attn, mask)")
def encoder_layer(x, p, mask=None):
    _check_x(x, p)
    x = add_and_norm(x, multi_head_attention(x, x, p.self_attn)[0], p.norm1)  # mistake: mask_ignored
    return add_and_norm(x, feed_forward(x, p.ffn), p.norm2)


@mistake("encoder_layer", "norm1_reused",
         "you use norm1 for both add & norm steps: the feed-forward's add & norm has its own p.norm2")
def encoder_layer(x, p, mask=None):
    _check_x(x, p)
    x = add_and_norm(x, multi_head_attention(x, x, p.self_attn, mask)[0], p.norm1)
    return add_and_norm(x, feed_forward(x, p.ffn), p.norm1)  # mistake: norm1_reused


@mistake("encoder_layer", "ffn_on_original_x",
         "your feed-forward reads the layer's input instead of the attention block's output: "
         "feed x = add_and_norm(x, attention) to the second sublayer")
def encoder_layer(x, p, mask=None):
    _check_x(x, p)
    # mistake: ffn_on_original_x
    h = add_and_norm(x, multi_head_attention(x, x, p.self_attn, mask)[0], p.norm1)
    return add_and_norm(h, feed_forward(x, p.ffn), p.norm2)


# The correct function that the variants below change.
@base("encode")
def encode(src_tokens, params):
    _check_tokens(src_tokens, params.src_embed.shape[0], "src_tokens")
    mask = padding_mask(src_tokens, params.config.pad_id)
    x = embed(src_tokens, params.src_embed)
    for layer in params.encoder:
        x = encoder_layer(x, layer, mask)
    return x


variant("encode", "no_padding_mask",
        "your encoder layers run without a mask, so real tokens attend to padding: build "
        "padding_mask(src_tokens, config.pad_id) and pass it to every encoder_layer",
        {"mask = padding_mask(src_tokens, params.config.pad_id)": "",
         "x = encoder_layer(x, layer, mask)": "x = encoder_layer(x, layer)  # mistake: no_padding_mask"})


variant("encode", "padding_mask_inverted",
        "your mask is True on the padding: True means 'may attend', so the mask is src_tokens != "
        "pad_id (padding_mask does it)",
        {"mask = padding_mask(src_tokens, params.config.pad_id)":
         "mask = (src_tokens == params.config.pad_id)[:, None, :]  # mistake: padding_mask_inverted"})


variant("encode", "causal_mask",
        "you mask the encoder causally, so a token cannot see the tokens after it: the encoder reads "
        "the whole sentence, mask only the padding with padding_mask(src_tokens, pad_id)",
        {"def encode(src_tokens, params):":
         "def encode(src_tokens, params):\n"
         "    from .ex06_masking import decoder_self_mask  # mistake: causal_mask\n"
         "",
         "mask = padding_mask(src_tokens, params.config.pad_id)":
         "mask = decoder_self_mask(src_tokens, params.config.pad_id)  # mistake: causal_mask"})


variant("encode", "no_positional_encoding",
        "you look the tokens up without the positional encoding (and the sqrt(D) scale): use "
        "embed(src_tokens, params.src_embed) = table[tokens] * sqrt(D) + PE",
        {"x = embed(src_tokens, params.src_embed)":
         "x = params.src_embed[src_tokens]  # mistake: no_positional_encoding"})


variant("encode", "no_sqrt_d_scale",
        "you add the positional encoding to the raw embedding: scale table[tokens] by sqrt(D) first, "
        "as embed(src_tokens, params.src_embed) does",
        {"def encode(src_tokens, params):":
         "def encode(src_tokens, params):\n"
         "    from .ex08_positional_encoding import sinusoidal_encoding  # mistake: no_sqrt_d_scale\n"
         "",
         "x = embed(src_tokens, params.src_embed)":
         "T, D = src_tokens.shape[1], params.src_embed.shape[1]  # mistake: no_sqrt_d_scale\n"
         "x = params.src_embed[src_tokens] + sinusoidal_encoding(T, D).astype(params.src_embed.dtype)"})


variant("encode", "first_layer_reused",
        "every step of your loop uses params.encoder[0]: each layer has its own parameters, loop `for "
        "layer in params.encoder: x = encoder_layer(x, layer, mask)`",
        {"for layer in params.encoder:\n"
         "x = encoder_layer(x, layer, mask)":
         "for _ in params.encoder:  # mistake: first_layer_reused\n"
         "    x = encoder_layer(x, params.encoder[0], mask)"})


variant("encode", "layers_from_embedding",
        "every layer of your loop reads the embedding instead of the previous layer's output: x = "
        "encoder_layer(x, layer, mask), feeding x back each time",
        {"x = embed(src_tokens, params.src_embed)":
         "x0 = embed(src_tokens, params.src_embed)  # mistake: layers_from_embedding\n"
         "x = x0",
         "x = encoder_layer(x, layer, mask)":
         "x = encoder_layer(x0, layer, mask)  # mistake: layers_from_embedding"})

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("encoder_layer", "blind_enc_prenorm",
         "you normalise each sublayer's input (pre-norm): the course's layer is post-norm, x = LayerNorm(x "
         "+ Sublayer(x))")
def encoder_layer(x, p, mask=None):
    _check_x(x, p)
    from .ex09_layers import layer_norm
    h = layer_norm(x, p.norm1)
    attn, _ = multi_head_attention(h, h, p.self_attn, mask)
    x = x + attn  # mistake: blind_enc_prenorm
    return x + feed_forward(layer_norm(x, p.norm2), p.ffn)


@mistake("encoder_layer", "blind_enc_ffn_reads_layer_input",
         "your feed-forward reads the layer's input: it reads the output of the first add & norm")
def encoder_layer(x, p, mask=None):
    _check_x(x, p)
    attn, _ = multi_head_attention(x, x, p.self_attn, mask)
    h = add_and_norm(x, attn, p.norm1)
    return add_and_norm(h, feed_forward(x, p.ffn), p.norm2)  # mistake: blind_enc_ffn_reads_layer_input


@mistake("encoder_layer", "blind_enc_mask_not_passed",
         "you leave the mask out of the self-attention, so every token reads the padding: pass it on")
def encoder_layer(x, p, mask=None):
    _check_x(x, p)
    attn, _ = multi_head_attention(x, x, p.self_attn)  # mistake: blind_enc_mask_not_passed
    x = add_and_norm(x, attn, p.norm1)
    return add_and_norm(x, feed_forward(x, p.ffn), p.norm2)


@mistake("encoder_layer", "blind_enc_norms_swapped",
         "you use norm1 and norm2 the other way round: norm1 follows the self-attention and norm2 the "
         "feed-forward")
def encoder_layer(x, p, mask=None):
    _check_x(x, p)
    attn, _ = multi_head_attention(x, x, p.self_attn, mask)
    x = add_and_norm(x, attn, p.norm2)  # mistake: blind_enc_norms_swapped
    return add_and_norm(x, feed_forward(x, p.ffn), p.norm1)  # mistake: blind_enc_norms_swapped


@mistake("encoder_layer", "blind_enc_ffn_without_residual",
         "your feed-forward has no residual: LayerNorm_2(x + FFN(x))")
def encoder_layer(x, p, mask=None):
    _check_x(x, p)
    from .ex09_layers import layer_norm
    attn, _ = multi_head_attention(x, x, p.self_attn, mask)
    x = add_and_norm(x, attn, p.norm1)
    return layer_norm(feed_forward(x, p.ffn), p.norm2)  # mistake: blind_enc_ffn_without_residual


@mistake("encode", "blind_encode_causal_mask",
         "you mask the source causally: the encoder reads the WHOLE source, only the padding is masked")
def encode(src_tokens, params):
    _check_tokens(src_tokens, params.src_embed.shape[0], "src_tokens")
    from .ex06_masking import decoder_self_mask
    mask = decoder_self_mask(src_tokens, params.config.pad_id)  # mistake: blind_encode_causal_mask
    x = embed(src_tokens, params.src_embed)
    for layer in params.encoder:
        x = encoder_layer(x, layer, mask)
    return x


@mistake("encode", "blind_encode_pad_id_zero",
         "your padding mask uses a hard-coded 0: use params.config.pad_id")
def encode(src_tokens, params):
    _check_tokens(src_tokens, params.src_embed.shape[0], "src_tokens")
    mask = padding_mask(src_tokens, 0)  # mistake: blind_encode_pad_id_zero
    x = embed(src_tokens, params.src_embed)
    for layer in params.encoder:
        x = encoder_layer(x, layer, mask)
    return x


@mistake("encode", "blind_encode_unscaled_embedding",
         "you embed the source without the factor sqrt(D): use embed(), src_embed[tokens] * sqrt(D) + PE")
def encode(src_tokens, params):
    _check_tokens(src_tokens, params.src_embed.shape[0], "src_tokens")
    from .ex08_positional_encoding import sinusoidal_encoding
    mask = padding_mask(src_tokens, params.config.pad_id)
    T, D = src_tokens.shape[1], params.src_embed.shape[1]
    # mistake: blind_encode_unscaled_embedding
    x = params.src_embed[src_tokens] + sinusoidal_encoding(T, D).astype(params.src_embed.dtype)
    for layer in params.encoder:
        x = encoder_layer(x, layer, mask)
    return x
