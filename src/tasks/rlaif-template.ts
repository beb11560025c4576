// The RLAIF scoring template of the RLCD paper (Yang et al., ICLR 2024), from its official code
// release facebookresearch/RLCD (MIT licence), scripts/simulate_preference_data.py at commit fac0b8fe.
// Each slot is filled with its text stripped of surrounding whitespace, as that script does; the
// model's next token after the final '(' is read as its answer, 'A' or 'B'.

export const PAPER_RLAIF_TEMPLATE =
  'Consider the following conversation between a human and an assistant:\n\n\n\n{prompt}\n\n\n\n{instruction}\n\n\n\nOptions:\n\n\n\n(A) {output_a}\n\n\n\n(B) {output_b}\n\n\n\nThe answer is: (';

export const TEMPLATE_SLOTS = ['{prompt}', '{instruction}', '{output_a}', '{output_b}'] as const;
