// Arguments and results of generate(), shared by NativeModel and NativeTrainer (a trainer decodes
// from its own weights for PPO's rollouts).
#pragma once

#include <napi.h>

#include "../model/generate.h"
#include "../model/vocabulary.h"

namespace rlcd::binding {

// prompts at info[prompts_at], options at info[prompts_at + 1]; stop / bannedStrings need pieces.
GenerateRequest parse_generate_request(const Napi::CallbackInfo& info, size_t prompts_at, bool have_pieces);

// {ids: Int32Array[], logprobs: Float32Array[], finishReasons: string[]}
Napi::Object generate_result_object(Napi::Env env, const GenerateResult& result);

// pieces?: Uint8Array[] (one per token) -> the engine's vocabulary bytes; undefined gives none.
Vocabulary parse_pieces(Napi::Env env, Napi::Value v, int vocab_size);

}  // namespace rlcd::binding
