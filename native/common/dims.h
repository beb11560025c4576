// Dimension legend used in every shape comment of the engine (after llm.c):
//   B   sequences in a batch            N   rows in a token batch (tokens from any sequences)
//   T   positions (time)                C   model width (hidden_size)
//   NH  query heads                     NKV key/value heads (GQA: NH % NKV == 0)
//   HS  head size                       QD  NH * HS         KVD NKV * HS
//   H   MLP hidden width                V   vocabulary size  L   layers
// Matrices are row-major; a weight W[out, in] is applied as y = x W^T (PyTorch's Linear layout),
// so every dot product runs over contiguous memory of both operands.
#pragma once

// Threading: kernels split their loops with orphaned `#pragma omp for` (no `parallel` of their
// own). Called inside a parallel region (Transformer::forward opens one per step) every thread
// takes its share and the loop ends at a barrier; called outside one, a kernel runs on the calling
// thread. One region per step instead of one per kernel keeps fork/join off the decode path.
