// Causal self-attention over whole sequences, for training: the forward pass keeps each row's
// log-sum-exp of the scores, from which the backward pass rebuilds the attention probabilities.
// Sequences are right-padded, so a valid position never sees a pad (pads come after it) and no
// padding mask is needed.
#pragma once

namespace rlcd {

// Floats of scratch each thread needs (a block of P and dS, and one head's gathered Q, K, V, dO,
// dK, dV).
long causal_attention_scratch(int T, int HS);

// out:   (B, T, NH * HS)                      written
// lse:   (B, NH, T)                           written: log sum_s exp(q_t . k_s / sqrt(HS)), s <= t
// qkv:   (B, T, stride) with q at column 0, k at q_dim, v at q_dim + kv_dim (RoPE applied)
// scratch: (threads, causal_attention_scratch(T, HS)) floats
void causal_attention_forward(float* out, float* lse, const float* qkv, long stride, int B, int T,
                              int NH, int NKV, int HS, float* scratch);

// dqkv:  (B, T, stride) written: dq, dk, dv in the same columns as qkv
// dout:  (B, T, NH * HS); lse and qkv from the forward pass
// scratch: (threads, causal_attention_scratch(T, HS)) floats
void causal_attention_backward(float* dqkv, const float* dout, const float* lse, const float* qkv,
                               long stride, int B, int T, int NH, int NKV, int HS, float* scratch);

}  // namespace rlcd
