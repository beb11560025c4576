#include "rope.h"

#include <cmath>

namespace rlcd {

void RopeTable::init(int positions, int head_size, double theta) {
  max_positions = positions;
  half = head_size / 2;
  cos.assign((size_t)positions * half, 0.0f);
  sin.assign((size_t)positions * half, 0.0f);
  for (int p = 0; p < positions; p++)
    for (int i = 0; i < half; i++) {
      double freq = 1.0 / std::pow(theta, (2.0 * i) / head_size);
      double angle = p * freq;
      cos[(size_t)p * half + i] = (float)std::cos(angle);
      sin[(size_t)p * half + i] = (float)std::sin(angle);
    }
}

namespace {

// Rotates every head of one row by the angles whose cos/sin are c/s (HS/2 each).
void rotate_row(float* x, const float* c, const float* s, int heads, int HS, RopeStyle style) {
  const int half = HS / 2;
  for (int h = 0; h < heads; h++) {
    float* v = x + (long)h * HS;
    if (style == RopeStyle::RotateHalf) {
      for (int i = 0; i < half; i++) {
        float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];
        v[i + half] = b * c[i] + a * s[i];
      }
    } else {
      for (int i = 0; i < half; i++) {
        float a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * c[i] - b * s[i];
        v[2 * i + 1] = a * s[i] + b * c[i];
      }
    }
  }
}

// Rotates every head of every row by +angle (sign = 1) or -angle (sign = -1).
void rotate(float* x, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
            const RopeTable& table, float sign) {
  const int half = HS / 2;
#pragma omp for schedule(static)
  for (int n = 0; n < N; n++) {
    const float* c = table.cos.data() + (size_t)pos[n] * half;
    const float* s0 = table.sin.data() + (size_t)pos[n] * half;
    float s[1024];
    for (int i = 0; i < half; i++) s[i] = sign * s0[i];
    rotate_row(x + n * stride, c, s, heads, HS, style);
  }
}

}  // namespace

void rope_forward(float* x, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
                  const RopeTable& table) {
  rotate(x, stride, pos, N, heads, HS, style, table, 1.0f);
}

void rope_forward_row(float* x, int pos, int heads, int HS, RopeStyle style, const RopeTable& table) {
  const int half = HS / 2;
  rotate_row(x, table.cos.data() + (size_t)pos * half, table.sin.data() + (size_t)pos * half, heads, HS, style);
}

void rope_backward(float* dx, long stride, const int* pos, int N, int heads, int HS, RopeStyle style,
                   const RopeTable& table) {
  rotate(dx, stride, pos, N, heads, HS, style, table, -1.0f);
}

}  // namespace rlcd
