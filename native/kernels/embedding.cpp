#include "embedding.h"

#include <cstring>

namespace rlcd {

void embedding_forward(float* out, const int* tokens, const float* table, int N, int C) {
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++)
    std::memcpy(out + (long)n * C, table + (long)tokens[n] * C, sizeof(float) * C);
}

void embedding_backward(float* dtable, const float* dout, const int* tokens, int N, int C) {
  const int block = 16;
  const int blocks = (C + block - 1) / block;
#pragma omp for schedule(static)
  for (int b = 0; b < blocks; b++) {
    const int c0 = b * block, c1 = c0 + block < C ? c0 + block : C;
    for (int n = 0; n < N; n++) {
      float* dst = dtable + (long)tokens[n] * C;
      const float* src = dout + (long)n * C;
      for (int c = c0; c < c1; c++) dst[c] += src[c];
    }
  }
}

}  // namespace rlcd
