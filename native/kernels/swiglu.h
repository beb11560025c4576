// SwiGLU gate of the LLaMA MLP: out = silu(gate) * up, silu(x) = x * sigmoid(x)
#pragma once

namespace rlcd {

// out:     (N, H)
// gate_up: (N, 2H)  each row is [gate | up] (the fused output of one matmul)
void swiglu_forward(float* out, const float* gate_up, int N, int H);

// dgate_up: (N, 2H) written: [dgate | dup]
// dout: (N, H); gate_up: (N, 2H) from the forward pass
void swiglu_backward(float* dgate_up, const float* dout, const float* gate_up, int N, int H);

}  // namespace rlcd
