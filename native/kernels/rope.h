// Rotary position embedding, applied in place to q or k rows.
#pragma once

#include <vector>

namespace rlcd {

enum class RopeStyle {
  RotateHalf,   // Hugging Face LLaMA: pairs (i, i + HS/2)
  Interleaved,  // llama2.c / Meta original: pairs (2i, 2i + 1)
};

// cos/sin for every position and frequency, computed once per model in double precision.
struct RopeTable {
  int max_positions = 0;
  int half = 0;             // HS / 2
  std::vector<float> cos;   // (max_positions, HS/2)
  std::vector<float> sin;   // (max_positions, HS/2)
  void init(int max_positions, int head_size, double theta);
};

// One row (heads * HS) at position `pos`, on the calling thread.
void rope_forward_row(float* x, int pos, int heads, int HS, RopeStyle style, const RopeTable& table);

// x:   (N, heads * HS) with rows `stride` floats apart, rotated in place
// pos: (N) position of each row
void rope_forward(float* x, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
                  const RopeTable& table);

// The rotation is orthogonal: the gradient is rotated back by the same angle. In place on dx.
void rope_backward(float* dx, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
                   const RopeTable& table);

}  // namespace rlcd
