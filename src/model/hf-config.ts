// Hugging Face config.json -> EngineConfig, for LlamaForCausalLM and the architectures that share
// its math (Mistral; Qwen2 with its q/k/v biases). Anything else is refused by name. The
// *ForSequenceClassification variants (reward models we save) load as their backbone: the
// loader reads the transformer and ignores the `score.*` head.
import type { EngineConfig } from '../native/binding.js';
import { ModelFormatError } from '../errors/model-format-error.js';

const SUPPORTED: Record<string, { qkvBias: boolean }> = {
  LlamaForCausalLM: { qkvBias: false },
  MistralForCausalLM: { qkvBias: false },
  Qwen2ForCausalLM: { qkvBias: true },
  LlamaForSequenceClassification: { qkvBias: false },
  Qwen2ForSequenceClassification: { qkvBias: true },
};

/** The architectures engineConfigFromHf accepts, and whether each has q/k/v biases. */
export const SUPPORTED_ARCHITECTURES: Readonly<Record<string, { readonly qkvBias: boolean }>> = SUPPORTED;

export function engineConfigFromHf(raw: unknown, file: string): EngineConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelFormatError(file, 'is not a JSON object');
  const cfg = raw as Record<string, unknown>;
  const archs = Array.isArray(cfg.architectures) ? (cfg.architectures as unknown[]) : [];
  const arch = archs.find((a): a is string => typeof a === 'string' && a in SUPPORTED);
  if (!arch) {
    throw new ModelFormatError(
      file,
      `unsupported architecture ${JSON.stringify(cfg.architectures ?? cfg.model_type ?? null)}; supported: ${Object.keys(SUPPORTED).join(', ')}`,
    );
  }
  const int = (key: string, fallback?: number): number => {
    const v = cfg[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw new ModelFormatError(file, `${key} must be a positive integer, got ${JSON.stringify(cfg[key])}`);
    }
    return v;
  };
  const num = (key: string, fallback: number): number => {
    const v = cfg[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new ModelFormatError(file, `${key} must be a positive number`);
    return v;
  };
  const act = cfg.hidden_act ?? 'silu';
  if (act !== 'silu') throw new ModelFormatError(file, `hidden_act '${String(act)}' is not supported (only silu)`);
  if (cfg.rope_scaling != null) throw new ModelFormatError(file, 'rope_scaling is not supported yet');
  if (cfg.mlp_bias === true) throw new ModelFormatError(file, 'mlp_bias is not supported');
  if (arch.startsWith('Llama') && cfg.attention_bias === true) {
    throw new ModelFormatError(file, 'attention_bias (on q, k, v and o) is not supported');
  }
  const dim = int('hidden_size');
  const nHeads = int('num_attention_heads');
  const headDim = cfg.head_dim == null ? dim / nHeads : int('head_dim');
  if (!Number.isInteger(headDim)) throw new ModelFormatError(file, `hidden_size ${dim} is not a multiple of num_attention_heads ${nHeads}`);
  let maxSeqLen = int('max_position_embeddings', 2048);
  // Within its window, sliding-window attention is full attention: cap the context there.
  if (typeof cfg.sliding_window === 'number' && cfg.sliding_window > 0 && (!arch.startsWith('Qwen2') || cfg.use_sliding_window === true)) {
    maxSeqLen = Math.min(maxSeqLen, cfg.sliding_window);
  }
  const vocabSize = int('vocab_size');
  const special = (key: string, fallback: number): number => {
    const v = cfg[key];
    if (Array.isArray(v)) return typeof v[0] === 'number' ? v[0] : fallback;  // some configs list several EOS ids
    return typeof v === 'number' ? v : fallback;
  };
  return {
    dim,
    hiddenDim: int('intermediate_size'),
    nLayers: int('num_hidden_layers'),
    nHeads,
    nKvHeads: int('num_key_value_heads', nHeads),
    headDim,
    vocabSize,
    maxSeqLen,
    rmsEps: num('rms_norm_eps', 1e-6),
    ropeTheta: num('rope_theta', 10000),
    ropeStyle: 'rotate-half',
    tiedEmbeddings: cfg.tie_word_embeddings === true,
    qkvBias: SUPPORTED[arch]!.qkvBias,
    bosId: special('bos_token_id', 1),
    eosId: special('eos_token_id', 2),
  };
}
