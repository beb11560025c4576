/**
 * llama2.c run.c's merge loop: repeatedly replace the adjacent pair whose concatenation is a vocab
 * piece with the highest score, the leftmost one on ties, until no pair merges. run.c rescans the whole
 * sequence per merge (O(n^2), about a second for 20 KB of text); this keeps candidate pairs in a heap
 * ordered by (score desc, position asc) over a linked list, and drops entries that a merge made stale.
 * Positions keep their left-to-right order in the list, so "smallest position" is run.c's "leftmost".
 */

/** run.c only takes pairs scoring above its initial best (-1e10). */
const MIN_SCORE = -1e10;

interface Candidate {
  score: number;
  left: number;
  right: number;
  /** The stamps of both positions when pushed; a merge bumps them and so invalidates the entry. */
  leftStamp: number;
  rightStamp: number;
  merged: number;
}

class CandidateHeap {
  private readonly items: Candidate[] = [];

  get size(): number {
    return this.items.length;
  }

  private before(a: Candidate, b: Candidate): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }

  push(c: Candidate): void {
    const h = this.items;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): Candidate | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < h.length && this.before(h[l]!, h[best]!)) best = l;
        if (r < h.length && this.before(h[r]!, h[best]!)) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best]!, h[i]!];
        i = best;
      }
    }
    return top;
  }
}

/**
 * Merges `ids[from..]` in place as run.c does. `pairId` gives the id of the piece a+b or -1;
 * `score` the score of an id.
 */
export function mergeByScore(ids: number[], from: number, pairId: (a: number, b: number) => number, score: (id: number) => number): void {
  const n = ids.length;
  if (n - from < 2) return;
  const tok = ids.slice();
  const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
  const prev = Array.from({ length: n }, (_, i) => i - 1);
  const stamp = new Array<number>(n).fill(0);
  const heap = new CandidateHeap();

  const consider = (left: number): void => {
    const right = next[left] ?? -1;
    if (left < from || right < 0) return;
    const merged = pairId(tok[left] ?? -1, tok[right] ?? -1);
    if (merged < 0) return;
    const s = score(merged);
    if (!(s > MIN_SCORE)) return;
    heap.push({ score: s, left, right, leftStamp: stamp[left] ?? 0, rightStamp: stamp[right] ?? 0, merged });
  };

  for (let i = from; i + 1 < n; i++) consider(i);
  while (heap.size > 0) {
    const c = heap.pop()!;
    if (stamp[c.left] !== c.leftStamp || stamp[c.right] !== c.rightStamp || next[c.left] !== c.right) continue;
    // Merge: the left position takes the new token, the right one leaves the list.
    tok[c.left] = c.merged;
    const after = next[c.right] ?? -1;
    next[c.left] = after;
    if (after >= 0) prev[after] = c.left;
    stamp[c.left] = (stamp[c.left] ?? 0) + 1;
    stamp[c.right] = (stamp[c.right] ?? 0) + 1;
    const before = prev[c.left] ?? -1;
    if (before >= 0) consider(before);
    consider(c.left);
  }

  ids.length = 0;
  for (let i = 0; i >= 0 && i < n; i = next[i] ?? -1) ids.push(tok[i] ?? -1);
}
