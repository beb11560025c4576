// How `rlcd serve` turns chat messages into a prompt. A model whose tokenizer_config.json has a
// `chat_template` gets it, rendered with @huggingface/jinja (the Jinja subset transformers uses).
// A base model without one (every model rlcd trains) gets the dialogue format of the paper's data,
// Anthropic HH: "\n\nHuman: ...\n\nAssistant: ...", ending in "\n\nAssistant:" for the answer, with
// "\n\nHuman:" as a stop string so the model does not write the next turn itself. A system message
// goes first, as plain text.
import fs from 'node:fs';
import path from 'node:path';
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatFormat {
  /** 'hh' (the default) or 'tokenizer_config' (the model's own template). */
  kind: 'hh' | 'tokenizer_config';
  render(messages: readonly ChatMessage[]): string;
  /** Stop strings every chat completion gets. */
  stop: string[];
}

export const HH_FORMAT: ChatFormat = {
  kind: 'hh',
  render(messages) {
    let out = '';
    for (const m of messages) {
      if (m.role === 'system') out += m.content.trim();
      else out += `\n\n${m.role === 'user' ? 'Human' : 'Assistant'}: ${m.content.trim()}`;
    }
    return out + '\n\nAssistant:';
  },
  stop: ['\n\nHuman:'],
};

/** The model directory's chat template when it has one, else the HH format. */
export function chatFormatOf(modelDir: string): ChatFormat {
  let config: { chat_template?: unknown; bos_token?: unknown; eos_token?: unknown } = {};
  try {
    config = JSON.parse(fs.readFileSync(path.join(modelDir, 'tokenizer_config.json'), 'utf8'));
  } catch {
    return HH_FORMAT;
  }
  if (typeof config.chat_template !== 'string') return HH_FORMAT;
  const template = new Template(config.chat_template);
  const token = (t: unknown): string => (typeof t === 'string' ? t : typeof t === 'object' && t && 'content' in t ? String((t as { content: unknown }).content) : '');
  return {
    kind: 'tokenizer_config',
    // The engine adds BOS itself; a template that writes it would double it.
    render: (messages) => template.render({ messages, add_generation_prompt: true, bos_token: '', eos_token: token(config.eos_token) }),
    stop: [],
  };
}
