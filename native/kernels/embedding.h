// Token embedding lookup.
#pragma once

namespace rlcd {

// out:    (N, C)
// tokens: (N)     ids, already checked to be in [0, V)
// table:  (V, C)
void embedding_forward(float* out, const int* tokens, const float* table, int N, int C);

}  // namespace rlcd
