// The bytes each token adds to decoded text, handed over once by the tokenizer (src/tokenizer).
// Generation checks stop strings and banned strings against these bytes inside the engine, so a
// decoding loop never waits on JavaScript between tokens.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rlcd {

struct Vocabulary {
  std::vector<std::string> pieces;  // (V) raw bytes; empty for special tokens or when unknown

  bool empty() const { return pieces.empty(); }
  // (V) mask: 1 for every token whose bytes contain one of `strings`.
  std::vector<uint8_t> tokens_containing(const std::vector<std::string>& strings, int vocab_size) const {
    std::vector<uint8_t> mask(vocab_size, 0);
    for (int id = 0; id < vocab_size && id < (int)pieces.size(); id++)
      for (const auto& s : strings)
        if (!s.empty() && pieces[id].find(s) != std::string::npos) mask[id] = 1;
    return mask;
  }
};

}  // namespace rlcd
