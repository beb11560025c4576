// Writes a trained model where `rlcd generate`, our trainers and transformers can load it: Hugging
// Face layout with the adapters merged into the weights; LoRA adapters also in PEFT layout under
// adapter/; a scalar head as `score.weight` / `score.bias` (LlamaForSequenceClassification, 1 label).
import path from 'node:path';
import { saveHfCheckpoint } from '../model/save.js';
import { savePeftAdapter } from '../model/peft.js';
import type { Trainer } from './trainer.js';

/** `keep`: entries of DIR that the swap must carry over besides checkpoint/ (e.g. metrics.jsonl). */
export async function saveTrainedModel(dir: string, trainer: Trainer, info: Record<string, unknown>, keep: string[] = []): Promise<void> {
  const native = trainer.native;
  const hasHead = native.info.hasHead;
  const lora = trainer.options.lora;
  const state = await native.state(['weights', ...(hasHead ? (['head'] as const) : []), ...(lora ? (['lora'] as const) : [])]);
  const C = trainer.config.dim;
  const head = (state as unknown as { head?: Float32Array }).head;
  await saveHfCheckpoint(dir, {
    config: trainer.config,
    weights: state.weights,
    ...(trainer.hfConfig && { hfConfig: trainer.hfConfig }),
    tokenizerFrom: trainer.tokenizerPath,
    ...(head && {
      architecture: trainer.config.qkvBias ? 'Qwen2ForSequenceClassification' : 'LlamaForSequenceClassification',
      extraTensors: [
        { name: 'score.weight', shape: [1, C], data: head.subarray(0, C) },
        { name: 'score.bias', shape: [1], data: head.subarray(C, C + 1) },
      ],
    }),
    // A narrow base is recorded: the merged weights are its stored values plus the adapters.
    extraConfig: { num_labels: hasHead ? 1 : undefined, rlcd: { ...info, head: hasHead ? 'scalar' : undefined, baseWeightsDtype: native.info.weightsDtype !== 'f32' ? native.info.weightsDtype : undefined } },
    // The resumable trainer state lives in DIR/checkpoint: the swap must not drop it.
    keep: ['checkpoint', ...keep],
  });
  if (lora) {
    await savePeftAdapter(path.join(dir, 'adapter'), {
      config: trainer.config,
      lora: (state as unknown as { lora: Float32Array }).lora,
      rank: lora.rank,
      alpha: lora.alpha ?? 2 * lora.rank,
      targets: lora.targets,
      baseModel: path.resolve(trainer.source),
    });
  }
}
