// The KL coefficient of PPO's reward shaping: fixed (RLCD's choice, SPEC section 4) or adapted
// toward a target KL with Ziegler et al.'s proportional controller (TRL's AdaptiveKLController):
//   error = clip(KL / target - 1, -0.2, 0.2);   coef *= 1 + error * nSteps / horizon
export interface KlControllerState {
  coef: number;
}

export interface KlController {
  readonly coef: number;
  /** After a PPO step whose rollouts had mean (summed) KL `kl`; nSteps = rollouts in the step. */
  update(kl: number, nSteps: number): void;
  state(): KlControllerState;
}

export function fixedKlController(coef: number): KlController {
  return { coef, update() {}, state: () => ({ coef }) };
}

export function adaptiveKlController(initCoef: number, target: number, horizon: number): KlController {
  if (!(target > 0)) throw new RangeError(`klTarget must be > 0, got ${target}`);
  if (!(horizon > 0)) throw new RangeError(`klHorizon must be > 0, got ${horizon}`);
  let coef = initCoef;
  return {
    get coef() {
      return coef;
    },
    update(kl, nSteps) {
      const error = Math.min(0.2, Math.max(-0.2, kl / target - 1));
      coef *= 1 + (error * nSteps) / horizon;
    },
    state: () => ({ coef }),
  };
}
