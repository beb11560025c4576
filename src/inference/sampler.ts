// Token sampling in TypeScript for backends that produce logits outside the native engine (the
// onnxruntime-node backend). It mirrors native/model/sampler.cpp: greedy at temperature 0 (lowest id
// on ties), otherwise temperature, then top-k (candidates in id order, as the native sampler keeps
// them), then top-p over candidates sorted by logit (ties: lower id first); banned tokens never
// count; probabilities rounded to float32 and summed in double, as there. The generator is the same xoshiro256** seeded through
// splitmix64 with seed + b, but the backends' logits differ in the last bits, so the same seed does
// not promise the same samples as the native engine.

const MASK64 = (1n << 64n) - 1n;

export class Rng {
  private s: [bigint, bigint, bigint, bigint];

  constructor(seed: number | bigint) {
    let x = BigInt.asUintN(64, BigInt(seed));
    const next = (): bigint => {
      x = (x + 0x9e3779b97f4a7c15n) & MASK64;
      let z = x;
      z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
      z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
      return z ^ (z >> 31n);
    };
    this.s = [next(), next(), next(), next()];
  }

  next(): bigint {
    const s = this.s;
    const rotl = (v: bigint, k: bigint): bigint => ((v << k) | (v >> (64n - k))) & MASK64;
    const result = (rotl((s[1] * 5n) & MASK64, 7n) * 9n) & MASK64;
    const t = (s[1] << 17n) & MASK64;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45n);
    return result;
  }

  /** Uniform in [0, 1) with 24 random bits. */
  uniform(): number {
    return Number(this.next() >> 40n) / 16777216;
  }
}

export interface SamplingParams {
  temperature: number;
  topK: number;
  topP: number;
}

export class Sampler {
  private readonly z: Float32Array;
  private readonly probs: Float64Array;
  private readonly order: Int32Array;
  private readonly anyBanned: boolean;

  /** banned: (V) 1 where a token may never be sampled. */
  constructor(private readonly vocab: number, private readonly p: SamplingParams, private readonly banned: Uint8Array) {
    if (banned.length !== vocab) throw new RangeError(`banned mask has ${banned.length} entries, vocabulary ${vocab}`);
    this.anyBanned = banned.some((b) => b !== 0);
    if (banned.every((b) => b !== 0)) throw new RangeError('sampling: every token is banned');
    this.z = new Float32Array(vocab);
    this.probs = new Float64Array(vocab);
    this.order = new Int32Array(vocab);
  }

  /** Picks an id from logits[offset, offset + V). */
  sample(logits: Float32Array, offset: number, rng: Rng): number {
    const V = this.vocab, banned = this.banned;
    if (this.p.temperature <= 0) {
      let best = -1;
      for (let i = 0; i < V; i++) if (!banned[i] && (best < 0 || logits[offset + i]! > logits[offset + best]!)) best = i;
      return best;
    }
    const z = this.z;
    const invT = Math.fround(1 / this.p.temperature);
    for (let i = 0; i < V; i++) z[i] = banned[i] && this.anyBanned ? -Infinity : logits[offset + i]! * invT;
    const truncate = this.p.topK > 0 && this.p.topK < V;
    const nucleus = this.p.topP < 1;
    if (!truncate && !nucleus) {
      let mx = -Infinity;
      for (let i = 0; i < V; i++) if (z[i]! > mx) mx = z[i]!;
      let sum = 0;
      for (let i = 0; i < V; i++) sum += this.probs[i] = Math.exp(z[i]! - mx);
      const u = rng.uniform() * sum;
      let acc = 0, last = -1;
      for (let i = 0; i < V; i++) {
        if (this.probs[i]! <= 0) continue;
        acc += this.probs[i]!;
        last = i;
        if (u < acc) return i;
      }
      return last;
    }
    // Candidates by logit (ties: lower id first), cut to the top k.
    const order = this.order;
    for (let i = 0; i < V; i++) order[i] = i;
    const byLogit = (a: number, b: number): number => (z[b]! - z[a]!) || a - b;
    let n = V;
    let cand: Int32Array;
    if (truncate) {
      // Partial selection: keep the k best seen so far in a sorted buffer (k is small next to V).
      const k = this.p.topK;
      const top: number[] = [];
      for (let i = 0; i < V; i++) {
        if (top.length === k && byLogit(i, top[k - 1]!) >= 0) continue;
        let at = top.length;
        while (at > 0 && byLogit(i, top[at - 1]!) < 0) at--;
        top.splice(at, 0, i);
        if (top.length > k) top.pop();
      }
      // Without a nucleus the native sampler walks its top k as it finds them: the ids above the k-th
      // largest logit in id order, then those equal to it. So does this one, so the same seed draws
      // the same token on both backends.
      if (nucleus) {
        cand = Int32Array.from(top);
      } else {
        const kth = z[top[k - 1]!]!;
        const above = top.filter((i) => z[i]! > kth).sort((a, b) => a - b);
        const at = top.filter((i) => z[i]! === kth).sort((a, b) => a - b);
        cand = Int32Array.from([...above, ...at]);
      }
      n = k;
    } else {
      cand = order.slice().sort(byLogit);
    }
    // Banned tokens (-inf) never count.
    let kept = 0;
    for (let j = 0; j < n; j++) if (z[cand[j]!] !== -Infinity) cand[kept++] = cand[j]!;
    n = Math.max(1, kept);
    let mx = -Infinity;
    for (let j = 0; j < n; j++) mx = Math.max(mx, z[cand[j]!]!);
    // Probabilities rounded to float32 as the native sampler stores them, summed in double.
    let sum = 0;
    for (let j = 0; j < n; j++) sum += this.probs[j] = Math.fround(Math.exp(Math.fround(z[cand[j]!]! - mx)));
    if (nucleus) {
      let keep = 0, m = 0;
      while (m < n) {
        keep += this.probs[m++]!;
        if (keep >= this.p.topP * sum) break;
      }
      n = m;
      sum = keep;
    }
    const u = rng.uniform() * sum;
    let acc = 0;
    for (let j = 0; j < n; j++) {
      acc += this.probs[j]!;
      if (u < acc) return cand[j]!;
    }
    return cand[n - 1]!;
  }
}

/** log p(id) at temperature 1 from one row of logits. */
export function logProbAt(logits: Float32Array, offset: number, V: number, id: number): number {
  let mx = -Infinity;
  for (let i = 0; i < V; i++) if (logits[offset + i]! > mx) mx = logits[offset + i]!;
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[offset + i]! - mx);
  return logits[offset + id]! - mx - Math.log(sum);
}
