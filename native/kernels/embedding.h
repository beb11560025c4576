// Token embedding lookup.
#pragma once

namespace rlcd {

// out:    (N, C)
// tokens: (N)     ids, already checked to be in [0, V)
// table:  (V, C)
void embedding_forward(float* out, const int* tokens, const float* table, int N, int C);

// dtable: (V, C) accumulated (+=): row tokens[n] gets dout row n. Split over columns, so rows that
// share a token never race and each sum runs in row order.
void embedding_backward(float* dtable, const float* dout, const int* tokens, int N, int C);

}  // namespace rlcd
