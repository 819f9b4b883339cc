"""Realistic mistakes in exercise 11 (the decoder). Each replaces the reference function of its name.

An entry runs inside a copy of ``solutions/ex11_decoder.py``: it uses that module's names, imported
here from it only so that the file reads (and lints) like the module it is appended to.
"""

from catalogue import mistake
from solutions.ex11_decoder import (
    _check_decode_inputs,
    _check_layer_inputs,
    add_and_norm,
    decoder_layer,
    decoder_self_mask,
    embed,
    feed_forward,
    multi_head_attention,
    padding_mask,
)


@mistake("decoder_layer", "cross_attention_keys_from_y",
         "your cross-attention takes its keys and values from y (a copy of the self-attention line): "
         "queries come from y, keys and values from memory: multi_head_attention(y, memory, p.cross_attn, "
         "memory_mask)")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    _check_layer_inputs(y, memory, p)
    y = add_and_norm(y, multi_head_attention(y, y, p.self_attn, self_mask)[0], p.norm1)
    # mistake: cross_attention_keys_from_y
    y = add_and_norm(y, multi_head_attention(y, y, p.cross_attn, self_mask)[0], p.norm2)
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm3)


@mistake("decoder_layer", "memory_mask_ignored",
         "your cross-attention runs without memory_mask, so the target reads the source's padding: "
         "multi_head_attention(y, memory, p.cross_attn, memory_mask)")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    _check_layer_inputs(y, memory, p)
    y = add_and_norm(y, multi_head_attention(y, y, p.self_attn, self_mask)[0], p.norm1)
    # mistake: memory_mask_ignored
    y = add_and_norm(y, multi_head_attention(y, memory, p.cross_attn)[0], p.norm2)
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm3)


@mistake("decoder_layer", "self_mask_in_cross_attention",
         "you mask the cross-attention with self_mask: its keys are the memory's tokens, so it takes "
         "memory_mask [B, 1, T_src]; self_mask [B, T_tgt, T_tgt] belongs to the self-attention")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    _check_layer_inputs(y, memory, p)
    y = add_and_norm(y, multi_head_attention(y, y, p.self_attn, self_mask)[0], p.norm1)
    # mistake: self_mask_in_cross_attention
    y = add_and_norm(y, multi_head_attention(y, memory, p.cross_attn, self_mask)[0], p.norm2)
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm3)


@mistake("decoder_layer", "no_self_mask",
         "your self-attention runs without self_mask, so a position reads the target tokens after it: "
         "multi_head_attention(y, y, p.self_attn, self_mask)")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    _check_layer_inputs(y, memory, p)
    y = add_and_norm(y, multi_head_attention(y, y, p.self_attn)[0], p.norm1)  # mistake: no_self_mask
    y = add_and_norm(y, multi_head_attention(y, memory, p.cross_attn, memory_mask)[0], p.norm2)
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm3)


@mistake("decoder_layer", "norms_swapped",
         "your add & norm steps use the wrong layer norms: norm1 after the self-attention, norm2 after "
         "the cross-attention, norm3 after the feed-forward")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    _check_layer_inputs(y, memory, p)
    y = add_and_norm(y, multi_head_attention(y, y, p.self_attn, self_mask)[0], p.norm1)
    # mistake: norms_swapped
    y = add_and_norm(y, multi_head_attention(y, memory, p.cross_attn, memory_mask)[0], p.norm3)
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm2)


@mistake("decoder_layer", "pre_norm",
         "you normalise before each sublayer (pre-norm: y + Sublayer(LayerNorm(y))); the paper is "
         "post-norm: y = add_and_norm(y, Sublayer(y)), the layer norm comes after the residual")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    from .ex09_layers import layer_norm

    _check_layer_inputs(y, memory, p)
    h = layer_norm(y, p.norm1)  # mistake: pre_norm
    y = y + multi_head_attention(h, h, p.self_attn, self_mask)[0]
    y = y + multi_head_attention(layer_norm(y, p.norm2), memory, p.cross_attn, memory_mask)[0]
    return y + feed_forward(layer_norm(y, p.norm3), p.ffn)


@mistake("decoder_layer", "no_residual_cross_attention",
         "you normalise the cross-attention output alone and lose y: "
         "y = add_and_norm(y, cross_attention_output, p.norm2)")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    from .ex09_layers import layer_norm

    _check_layer_inputs(y, memory, p)
    y = add_and_norm(y, multi_head_attention(y, y, p.self_attn, self_mask)[0], p.norm1)
    # mistake: no_residual_cross_attention
    y = layer_norm(multi_head_attention(y, memory, p.cross_attn, memory_mask)[0], p.norm2)
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm3)


@mistake("decode", "padding_mask_only",
         "your decoder's self-attention masks the padding but not the future: position t reads the "
         "target tokens after t; use decoder_self_mask(tgt_tokens, pad_id), causal AND padding")
def decode(tgt_tokens, memory, src_tokens, params):
    _check_decode_inputs(tgt_tokens, memory, src_tokens, params)
    pad = params.config.pad_id
    y = embed(tgt_tokens, params.tgt_embed)
    for layer in params.decoder:
        # mistake: padding_mask_only
        y = decoder_layer(y, memory, layer, padding_mask(tgt_tokens, pad), padding_mask(src_tokens, pad))
    return y


@mistake("decode", "no_memory_mask",
         "your decoder layers get no memory_mask, so the target reads the memory of the source's "
         "padding: pass padding_mask(src_tokens, pad_id) as memory_mask")
def decode(tgt_tokens, memory, src_tokens, params):
    _check_decode_inputs(tgt_tokens, memory, src_tokens, params)
    y = embed(tgt_tokens, params.tgt_embed)
    for layer in params.decoder:
        # mistake: no_memory_mask
        y = decoder_layer(y, memory, layer, decoder_self_mask(tgt_tokens, params.config.pad_id))
    return y


@mistake("decode", "src_embedding_table",
         "you embed the target tokens with the source table: the target has its own vocabulary, "
         "embed(tgt_tokens, params.tgt_embed)")
def decode(tgt_tokens, memory, src_tokens, params):
    _check_decode_inputs(tgt_tokens, memory, src_tokens, params)
    pad = params.config.pad_id
    y = embed(tgt_tokens, params.src_embed)  # mistake: src_embedding_table
    for layer in params.decoder:
        # mistake: src_embedding_table
        y = decoder_layer(y, memory, layer, decoder_self_mask(tgt_tokens, pad), padding_mask(src_tokens, pad))
    return y


@mistake("decode", "first_layer_reused",
         "every step of your loop uses params.decoder[0]: each layer has its own parameters, "
         "loop `for layer in params.decoder`")
def decode(tgt_tokens, memory, src_tokens, params):
    _check_decode_inputs(tgt_tokens, memory, src_tokens, params)
    pad = params.config.pad_id
    y = embed(tgt_tokens, params.tgt_embed)
    for _ in params.decoder:  # mistake: first_layer_reused
        y = decoder_layer(y, memory, params.decoder[0], decoder_self_mask(tgt_tokens, pad),
                          padding_mask(src_tokens, pad))
    return y


@mistake("decode", "memory_mask_from_target",
         "you build the cross-attention mask from the target tokens: its keys are the source's tokens, "
         "so memory_mask = padding_mask(src_tokens, pad_id)")
def decode(tgt_tokens, memory, src_tokens, params):
    _check_decode_inputs(tgt_tokens, memory, src_tokens, params)
    pad = params.config.pad_id
    y = embed(tgt_tokens, params.tgt_embed)
    for layer in params.decoder:
        # mistake: memory_mask_from_target
        y = decoder_layer(y, memory, layer, decoder_self_mask(tgt_tokens, pad), padding_mask(tgt_tokens, pad))
    return y

# Written blind, from the docstrings alone, by a helper who never read the tests (issue 17);
# the entries that repeated a mistake above exactly were left out.


@mistake("decoder_layer", "blind_dec_cross_queries_from_memory",
         "your cross-attention takes its queries from memory: the QUERIES come from the decoder (y), the "
         "keys and values from memory, multi_head_attention(y, memory, ...)")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    _check_layer_inputs(y, memory, p)
    attn, _ = multi_head_attention(y, y, p.self_attn, self_mask)
    y = add_and_norm(y, attn, p.norm1)
    # mistake: blind_dec_cross_queries_from_memory
    cross, _ = multi_head_attention(memory, y, p.cross_attn, memory_mask)
    y = add_and_norm(y, cross, p.norm2)
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm3)


@mistake("decoder_layer", "blind_dec_cross_uses_self_attn_params",
         "your cross-attention uses p.self_attn: it has its own projections, p.cross_attn")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    _check_layer_inputs(y, memory, p)
    attn, _ = multi_head_attention(y, y, p.self_attn, self_mask)
    y = add_and_norm(y, attn, p.norm1)
    # mistake: blind_dec_cross_uses_self_attn_params
    cross, _ = multi_head_attention(y, memory, p.self_attn, memory_mask)
    y = add_and_norm(y, cross, p.norm2)
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm3)


@mistake("decoder_layer", "blind_dec_masks_swapped",
         "you swap the masks: self_mask goes with the self-attention and memory_mask with the "
         "cross-attention")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    _check_layer_inputs(y, memory, p)
    attn, _ = multi_head_attention(y, y, p.self_attn, memory_mask)  # mistake: blind_dec_masks_swapped
    y = add_and_norm(y, attn, p.norm1)
    cross, _ = multi_head_attention(y, memory, p.cross_attn, self_mask)  # mistake: blind_dec_masks_swapped
    y = add_and_norm(y, cross, p.norm2)
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm3)


@mistake("decoder_layer", "blind_dec_cross_reads_layer_input",
         "your cross-attention's queries are the layer's input y: they are the output of the first add & "
         "norm")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    _check_layer_inputs(y, memory, p)
    attn, _ = multi_head_attention(y, y, p.self_attn, self_mask)
    h = add_and_norm(y, attn, p.norm1)
    # mistake: blind_dec_cross_reads_layer_input
    cross, _ = multi_head_attention(y, memory, p.cross_attn, memory_mask)
    h = add_and_norm(h, cross, p.norm2)
    return add_and_norm(h, feed_forward(h, p.ffn), p.norm3)


@mistake("decoder_layer", "blind_dec_self_mask_dropped",
         "you leave self_mask out of the self-attention, so a position reads the future: pass it on")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    _check_layer_inputs(y, memory, p)
    attn, _ = multi_head_attention(y, y, p.self_attn)  # mistake: blind_dec_self_mask_dropped
    y = add_and_norm(y, attn, p.norm1)
    cross, _ = multi_head_attention(y, memory, p.cross_attn, memory_mask)
    y = add_and_norm(y, cross, p.norm2)
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm3)


@mistake("decoder_layer", "blind_dec_cross_without_norm",
         "your cross-attention has no add & norm: every sublayer is followed by one, LayerNorm_2(y + cross)")
def decoder_layer(y, memory, p, self_mask=None, memory_mask=None):
    _check_layer_inputs(y, memory, p)
    attn, _ = multi_head_attention(y, y, p.self_attn, self_mask)
    y = add_and_norm(y, attn, p.norm1)
    cross, _ = multi_head_attention(y, memory, p.cross_attn, memory_mask)
    y = y + cross  # mistake: blind_dec_cross_without_norm
    return add_and_norm(y, feed_forward(y, p.ffn), p.norm3)


@mistake("decode", "blind_decode_causal_only",
         "your target self-mask is causal only: it is causal AND padding, decoder_self_mask(tgt_tokens, "
         "pad_id)")
def decode(tgt_tokens, memory, src_tokens, params):
    _check_decode_inputs(tgt_tokens, memory, src_tokens, params)
    from .ex06_masking import causal_mask
    pad = params.config.pad_id
    self_mask = causal_mask(tgt_tokens.shape[1])  # mistake: blind_decode_causal_only
    memory_mask = padding_mask(src_tokens, pad)
    y = embed(tgt_tokens, params.tgt_embed)
    for layer in params.decoder:
        y = decoder_layer(y, memory, layer, self_mask, memory_mask)
    return y


@mistake("decode", "blind_decode_src_embedding",
         "you embed the target with the source table: use params.tgt_embed")
def decode(tgt_tokens, memory, src_tokens, params):
    _check_decode_inputs(tgt_tokens, memory, src_tokens, params)
    pad = params.config.pad_id
    self_mask = decoder_self_mask(tgt_tokens, pad)
    memory_mask = padding_mask(src_tokens, pad)
    y = embed(tgt_tokens, params.src_embed)  # mistake: blind_decode_src_embedding
    for layer in params.decoder:
        y = decoder_layer(y, memory, layer, self_mask, memory_mask)
    return y


@mistake("decode", "blind_decode_no_memory_mask",
         "your cross-attention reads the source padding: mask it with memory_mask = "
         "padding_mask(src_tokens, pad_id)")
def decode(tgt_tokens, memory, src_tokens, params):
    _check_decode_inputs(tgt_tokens, memory, src_tokens, params)
    pad = params.config.pad_id
    self_mask = decoder_self_mask(tgt_tokens, pad)
    y = embed(tgt_tokens, params.tgt_embed)
    for layer in params.decoder:
        y = decoder_layer(y, memory, layer, self_mask)  # mistake: blind_decode_no_memory_mask
    return y


@mistake("decode", "blind_decode_padding_only",
         "your decoder's self-attention masks the padding but not the future: use decoder_self_mask, causal "
         "AND padding")
def decode(tgt_tokens, memory, src_tokens, params):
    _check_decode_inputs(tgt_tokens, memory, src_tokens, params)
    pad = params.config.pad_id
    self_mask = padding_mask(tgt_tokens, pad)  # mistake: blind_decode_padding_only
    memory_mask = padding_mask(src_tokens, pad)
    y = embed(tgt_tokens, params.tgt_embed)
    for layer in params.decoder:
        y = decoder_layer(y, memory, layer, self_mask, memory_mask)
    return y


@mistake("decode", "blind_decode_last_layer_only",
         "you feed the embedding to every layer: run the layers one after the other, each on the previous "
         "one's output")
def decode(tgt_tokens, memory, src_tokens, params):
    _check_decode_inputs(tgt_tokens, memory, src_tokens, params)
    pad = params.config.pad_id
    self_mask = decoder_self_mask(tgt_tokens, pad)
    memory_mask = padding_mask(src_tokens, pad)
    x = embed(tgt_tokens, params.tgt_embed)
    y = x
    for layer in params.decoder:
        y = decoder_layer(x, memory, layer, self_mask, memory_mask)  # mistake: blind_decode_last_layer_only
    return y
