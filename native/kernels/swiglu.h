// SwiGLU gate of the LLaMA MLP: out = silu(gate) * up, silu(x) = x * sigmoid(x)
#pragma once

namespace rlcd {

// out, gate, up: (N * H) flat
void swiglu_forward(float* out, const float* gate, const float* up, long count);

}  // namespace rlcd
