// rlcd: the public library surface.
export { loadModel, checkpointFormat, type LoadModelOptions, type CheckpointFormat } from './model/load.js';
export { LanguageModel, type Completion, type ScoredContinuation } from './model/language-model.js';
export { generateFields, type GenerateOptions, type GenerateConfig } from './config/generate.js';
export { loadTokenizer, type Tokenizer } from './tokenizer/index.js';
export type { InferenceBackend, IdCompletion, IdGenerateOptions } from './inference/backend.js';
export { NativeBackend } from './inference/native.js';
export { ModelFormatError } from './errors/model-format-error.js';
export type { EngineConfig, FinishReason } from './native/binding.js';
// Preference simulation (RLCD, RLAIF, RLCD-Rescore), tasks, and the ONNX export / backend types.
export { simulate, simulatePreferences, type SimulateSummary, type SimulateStageOptions } from './pipeline/simulate.js';
export { simulateFields, METHODS, type Method, type SimulateOptions, type SimulateConfig, type SimulateProgress } from './config/simulate.js';
export { readSimulationPrompts } from './pipeline/prompts.js';
export type { PairRecord, DropRecord } from './pipeline/pair-file.js';
export { BUILTIN_TASKS, resolveTask, loadTaskFile, type Task } from './tasks/task.js';
export type { StopRule } from './tasks/stop-rules.js';
export { exportOnnx, type ExportOnnxOptions, type ExportOnnxResult } from './model/onnx-export.js';
export { exportGguf, type ExportGgufOptions, type ExportGgufResult } from './gguf/export.js';
export { readGguf, type GgufFile, type GgufTensorInfo } from './gguf/reader.js';
// onnxruntime-node loads only when loadModel opens an ONNX model; the class is exported as a type.
export type { OnnxBackend, OnnxBackendOptions } from './inference/onnx.js';
// Training: supervised fine-tuning (context distillation), the preference model, throughput.
export { runSft, type SftResult } from './pipeline/sft.js';
export { sftFields, type SftOptions, type SftConfig } from './config/sft.js';
export { trainPreferenceModel, evaluatePreferenceModel, type Agreement, type TrainPmResult } from './pipeline/preference-model.js';
export { trainPmFields, evalPmFields, type TrainPmOptions, type EvalPmOptions } from './config/preference-model.js';
export { benchTrain, type TrainBenchResult } from './pipeline/bench-train.js';
export { Trainer, type TrainerOptions, type OptimizerSettings } from './train/trainer.js';
export type { StepReport } from './train/loop.js';
export { saveHfCheckpoint } from './model/save.js';
export { savePeftAdapter, loadPeftAdapter } from './model/peft.js';
export type { TrainBatch, TrainLoss, LoraOptions } from './native/binding.js';
// The main job: PPO, DPO and the whole pipeline; the stage shape; RL building blocks.
export { alignWithRLCD, type AlignSummary } from './pipeline/align.js';
export { alignFields, ALIGN_METHODS, type AlignOptions, type AlignConfig, type AlignMethod } from './config/align.js';
export { runPpo, type PpoResult } from './pipeline/ppo.js';
export { ppoFields, ppoDefaultsFor, type PpoOptions, type PpoConfig } from './config/ppo.js';
export { runDpo, type DpoResult } from './pipeline/dpo.js';
export { dpoFields, type DpoOptions, type DpoConfig } from './config/dpo.js';
export type { StageEvent, StageHooks } from './pipeline/stage.js';
export { gae, shapeRewards } from './rl/gae.js';
export { whiten } from './rl/whiten.js';
export { klPerToken, type KlEstimator } from './rl/kl.js';
export { adaptiveKlController, fixedKlController, type KlController } from './rl/kl-controller.js';
// Evaluation: judges, pairwise win rates, the comparison table and its report.
export { evaluate, type EvaluateResult, type EvalRecord } from './eval/evaluate.js';
export { evaluateFields, type EvaluateOptions, type EvaluateConfig } from './config/evaluate.js';
export { compare, METHOD_LABELS, type CompareResult, type Comparison, type PolicyFigures } from './eval/compare.js';
export { compareFields, COMPARE_METHODS, type CompareOptions, type CompareConfig, type CompareMethod } from './config/compare.js';
export { createJudge, JUDGE_KINDS, type Judge, type JudgeOptions, type Verdict, type Comparison as JudgeComparison } from './eval/judge.js';
export { winRate, bootstrapInterval, lengthControlledWinRate, standardError, type WinRate, type ScoredRecord } from './eval/stats.js';
export { labelStats, type LabelStats } from './eval/label-stats.js';
export { writeReport, buildReportHtml } from './report/report.js';
export { demo, demoSettings, type DemoOptions } from './eval/demo.js';
export { DEFAULT_MODEL_NAME, DEFAULT_MODEL_DIR, resolveModelName } from './model/default-model.js';
// Serving and scale-out: the OpenAI-compatible server, the HTTP backend, exports, the reward server.
export { startServer, type ServeOptions, type RunningServer } from './serve/server.js';
export { startRewardServer, type RewardServer } from './serve/reward-server.js';
export { OpenAiBackend, type OpenAiBackendOptions } from './inference/openai-http.js';
export { exportPairs, EXPORT_FORMATS, type ExportFormat, type ExportResult } from './export/trainer-formats.js';
// The Hugging Face hub: pull a model into the cache huggingface_hub shares; hub ids in loadModel.
export { pullModel, type PullOptions, type PullResult, type PulledFile } from './hub/pull.js';
export { resolveModelSource, onHubPull, type HubPullListener } from './hub/resolve.js';
export { cachedModelDir } from './hub/cached-model.js';
export { isHubId } from './hub/repo-id.js';
export { hubSettings, type HubSettings, type HubOverrides } from './hub/settings.js';
export { HubError, type HubErrorKind } from './errors/hub-error.js';
