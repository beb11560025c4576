// Causal self-attention over whole sequences, for training: the forward pass keeps the attention
// probabilities for the backward pass. Sequences are right-padded, so a valid position never sees
// a pad (pads come after it) and no padding mask is needed.
#pragma once

namespace rlcd {

// Floats of scratch each thread needs (a block of dS and P, and one head's gathered Q, K, V, dO, dK, dV).
long causal_attention_scratch(int T, int HS);

// out:   (B, T, NH * HS)                      written
// probs: (B, NH, T, T)                        written (lower triangle; the rest is left as is)
// qkv:   (B, T, stride) with q at column 0, k at q_dim, v at q_dim + kv_dim (RoPE applied)
// scratch: (threads, causal_attention_scratch(T, HS)) floats
void causal_attention_forward(float* out, float* probs, const float* qkv, long stride, int B, int T,
                              int NH, int NKV, int HS, float* scratch);

// dqkv:  (B, T, stride) written: dq, dk, dv in the same columns as qkv
// dout:  (B, T, NH * HS); probs and qkv from the forward pass
// scratch: (threads, causal_attention_scratch(T, HS)) floats
void causal_attention_backward(float* dqkv, const float* dout, const float* probs, const float* qkv,
                               long stride, int B, int T, int NH, int NKV, int HS, float* scratch);

}  // namespace rlcd
