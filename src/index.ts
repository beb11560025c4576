// rlcd: the public library surface.
export { loadModel, checkpointFormat, type LoadModelOptions, type CheckpointFormat } from './model/load.js';
export { LanguageModel, type Completion, type ScoredContinuation } from './model/language-model.js';
export { generateFields, type GenerateOptions, type GenerateConfig } from './config/generate.js';
export { loadTokenizer, type Tokenizer } from './tokenizer/index.js';
export type { InferenceBackend, IdCompletion, IdGenerateOptions } from './inference/backend.js';
export { NativeBackend } from './inference/native.js';
export { ModelFormatError } from './errors/model-format-error.js';
export type { EngineConfig, FinishReason } from './native/binding.js';
