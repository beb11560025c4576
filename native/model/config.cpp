#include "config.h"

#include "../common/check.h"

namespace rlcd {

void ModelConfig::validate() const {
  auto positive = [](int v, const char* name, int limit) {
    RLCD_REQUIRE(v > 0 && v <= limit, "model config: ", name, " must be in [1, ", limit, "], got ", v);
  };
  positive(dim, "dim", 1 << 16);
  positive(hidden_dim, "hidden_dim", 1 << 18);
  positive(n_layers, "n_layers", 1024);
  positive(n_heads, "n_heads", 1024);
  positive(n_kv_heads, "n_kv_heads", 1024);
  positive(head_dim, "head_dim", 1024);
  positive(vocab_size, "vocab_size", 1 << 22);
  positive(max_seq_len, "max_seq_len", 1 << 20);
  RLCD_REQUIRE(n_heads % n_kv_heads == 0, "model config: n_heads (", n_heads,
               ") must be a multiple of n_kv_heads (", n_kv_heads, ")");
  RLCD_REQUIRE(head_dim % 2 == 0, "model config: head_dim must be even for RoPE, got ", head_dim);
  RLCD_REQUIRE(rms_eps > 0.0f && rms_eps < 1.0f, "model config: rms_eps must be in (0, 1), got ", rms_eps);
  RLCD_REQUIRE(rope_theta > 0.0, "model config: rope_theta must be positive, got ", rope_theta);
  RLCD_REQUIRE(bos_id >= -1 && bos_id < vocab_size, "model config: bos_id ", bos_id, " outside the vocabulary");
  RLCD_REQUIRE(eos_id >= -1 && eos_id < vocab_size, "model config: eos_id ", eos_id, " outside the vocabulary");
}

}  // namespace rlcd
