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
