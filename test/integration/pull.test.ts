// `rlcd pull` and hub ids against a real HTTP server process (test/fixtures/hub-server.ts, serving
// tinystories-656k under the hub's URL layout) and the real CLI: huggingface_hub's cache layout byte
// for byte, no request for what is cached, a model loaded by its hub id, a SIGKILLed download
// resumed with a Range request, a corrupted byte caught, a gated repository, 404s that say what
// was missing, HF_HUB_OFFLINE, and a cache made by hand the way Python writes it.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWith, HF_656K, spawnAndKillWhen, spawnUntil } from '../shared.js';
import { HubError } from '../../src/errors/hub-error.js';
import { fileMetadata } from '../../src/hub/download.js';
import { pullModel } from '../../src/hub/pull.js';
import { resolveModelName } from '../../src/model/default-model.js';
import { loadModel } from '../../src/model/load.js';
import { startServer } from '../../src/serve/server.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SERVER = fileURLToPath(new URL('../fixtures/hub-server.ts', import.meta.url));
const TOKEN = 'hf_test_secret';
const REPO = 'tiny/stories-656k', SLOW = 'tiny/slow-656k', CORRUPT = 'tiny/corrupt-656k', GATED = 'tiny/gated-656k', FLAKY = 'tiny/flaky-656k';
const MODEL_FILES = ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'];
const PROMPT = 'Once upon a time, there was a little girl named Lily. ';

// Hermetic: no hub settings of the machine running the tests reach the library or the CLI.
for (const k of Object.keys(process.env)) if (k.startsWith('HF_') || k.startsWith('HUGGINGFACE_')) delete process.env[k];

let server: ChildProcess, endpoint: string, tmp: string, closedPort: number;

interface Request { method: string; path: string; range: string | null; auth: boolean; status: number }
/** What the server saw so far (on a fresh connection each time: a pooled one may have been closed by the server). */
const requests = (): Promise<Request[]> =>
  new Promise((resolve, reject) => {
    http.get(`${endpoint}/_stats`, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve((JSON.parse(body) as { requests: Request[] }).requests));
    }).on('error', reject);
  });
/** The requests the server saw while `fn` ran. */
async function during(fn: () => unknown): Promise<Request[]> {
  const before = (await requests()).length;
  await fn();
  return (await requests()).slice(before);
}

const home = (name: string): string => path.join(tmp, name);
const repoDir = (h: string, repo: string): string => path.join(h, 'hub', `models--${repo.replace('/', '--')}`);
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const gitSha1 = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

function rlcd(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, HF_ENDPOINT: endpoint, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Sets hub variables for in-process library calls, restoring them after. */
async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

async function greedy(model: string): Promise<string> {
  const m = await loadModel(model);
  try {
    return (await m.generate(PROMPT, { temperature: 0, maxNewTokens: 24 }))[0]!.text;
  } finally {
    m.dispose();
  }
}

describeWith([HF_656K], 'rlcd pull against a hub server process (tinystories-656k)', () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-pull-'));
    const started = await spawnUntil(['--import', 'tsx', SERVER, HF_656K], /listening (\d+)/, {
      HUB_REPOS: [REPO, SLOW, CORRUPT, GATED, FLAKY].join(','),
      HUB_FLAKY: FLAKY,
      HUB_GATED: GATED, HUB_TOKEN: TOKEN,
      // 2.6 MB at 1.5 MB/s: the kill lands mid-file with room to spare.
      HUB_THROTTLE: `${SLOW}=1500000`,
      HUB_CORRUPT: `${CORRUPT}=model.safetensors`,
    });
    server = started.child;
    endpoint = `http://127.0.0.1:${started.match}`;
    // A port nothing listens on, for "cannot reach".
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
  }, 30_000);
  afterAll(() => {
    server?.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("pull writes huggingface_hub's cache layout with the source's bytes; a second pull fetches nothing", async () => {
    const h = home('main');
    const first = rlcd(['pull', REPO], { HF_HOME: h });
    expect([first.status, first.stderr]).toEqual([0, expect.stringMatching(/rlcd pull: tiny\/stories-656k@main \(commit [0-9a-f]{12}\): 6 files, 2\.7 MB, 2\.7 MB downloaded/)]);
    const root = repoDir(h, REPO);
    const commit = fs.readFileSync(path.join(root, 'refs', 'main'), 'utf8');
    expect(commit).toMatch(/^[0-9a-f]{40}$/); // the bare sha, no newline
    const snapshot = path.join(root, 'snapshots', commit);
    expect(first.stdout.trim()).toBe(snapshot);
    // Model files only: no README.md, pytorch_model.bin or onnx/.
    expect(fs.readdirSync(snapshot).sort()).toEqual(MODEL_FILES);
    for (const f of MODEL_FILES) {
      const source = fs.readFileSync(path.join(HF_656K, f));
      const etag = f.endsWith('.safetensors') ? sha256(source) : gitSha1(source);
      expect([f, fs.readlinkSync(path.join(snapshot, f))]).toEqual([f, `../../blobs/${etag}`]);
      expect(fs.readFileSync(path.join(root, 'blobs', etag)).equals(source)).toBe(true);
    }
    expect(fs.readdirSync(path.join(root, 'blobs')).sort()).toHaveLength(MODEL_FILES.length); // no .incomplete left
    expect(fs.readFileSync(path.join(h, 'hub', 'CACHEDIR.TAG'), 'utf8')).toMatch(/^Signature: 8a477f597d28d172789f06886806bc55\n/);

    const again = await during(() => expect(rlcd(['pull', REPO], { HF_HOME: h }).status).toBe(0));
    expect(again.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /api/models/${REPO}/revision/main`]);
  }, 30_000);

  test('a hub id loads from the cache with no request and generates what the local directory does', async () => {
    const local = await greedy(HF_656K);
    const seen = await during(() => {
      const r = rlcd(['generate', '--model', REPO, '--prompt', PROMPT, '--temperature', '0', '--max-new-tokens', '24'], { HF_HOME: home('main') });
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(r.stdout).toBe(PROMPT + local + '\n');
    });
    expect(seen).toEqual([]);
    // The sync resolver maps the cached id too (what evaluate and the --out checks use), and
    // serve names the model by its id, not by its snapshot's commit.
    await withEnv({ HF_HOME: home('main') }, async () => {
      expect(resolveModelName(REPO)).toMatch(/snapshots\/[0-9a-f]{40}$/);
      const s = await startServer({ model: REPO, port: 0 });
      try {
        expect(((await (await fetch(`${s.url}/models`)).json()) as { data: Array<{ id: string }> }).data.map((m) => m.id)).toEqual([REPO]);
      } finally {
        await s.close();
      }
    });
  }, 30_000);

  test('loadModel pulls a hub id that is not cached, quietly, then loads it', async () => {
    const h = home('library');
    const text = await withEnv({ HF_HOME: h, HF_ENDPOINT: endpoint }, () => greedy(REPO));
    expect(text).toBe(await greedy(HF_656K));
    expect(fs.readFileSync(path.join(repoDir(h, REPO), 'refs', 'main'), 'utf8')).toMatch(/^[0-9a-f]{40}$/);
  }, 30_000);

  test('a pull SIGKILLed mid-file resumes with a Range request, and the result verifies', async () => {
    const h = home('killed');
    const blobs = path.join(repoDir(h, SLOW), 'blobs');
    const source = fs.readFileSync(path.join(HF_656K, 'model.safetensors'));
    const partial = path.join(blobs, `${sha256(source)}.incomplete`);
    const size = (): number => fs.statSync(partial, { throwIfNoEntry: false })?.size ?? 0;
    const signal = await spawnAndKillWhen(['--import', 'tsx', CLI, 'pull', SLOW], () => size() > 400_000, { HF_HOME: h, HF_ENDPOINT: endpoint });
    expect(signal).toBe('SIGKILL');
    const left = size();
    expect(left).toBeLessThan(source.length);
    expect(fs.existsSync(path.join(blobs, sha256(source)))).toBe(false);
    expect(fs.existsSync(path.join(repoDir(h, SLOW), 'refs', 'main'))).toBe(false); // a ref only for a finished snapshot

    const seen = await during(() => expect(rlcd(['pull', SLOW], { HF_HOME: h }).status).toBe(0));
    const cdn = seen.filter((r) => r.path.startsWith('/cdn/'));
    expect(cdn).toEqual([expect.objectContaining({ method: 'GET', range: `bytes=${left}-`, status: 206 })]);
    expect(fs.readFileSync(path.join(blobs, sha256(source))).equals(source)).toBe(true);
    expect(fs.existsSync(partial)).toBe(false);
  }, 30_000);

  test('transient failures are retried: a 503, then a connection cut mid-file, resumed with a Range', async () => {
    const source = fs.readFileSync(path.join(HF_656K, 'model.safetensors'));
    let r: Awaited<ReturnType<typeof pullModel>> | undefined;
    const seen = await during(async () => (r = await pullModel(FLAKY, { cacheDir: path.join(home('flaky'), 'hub'), endpoint })));
    const cdn = seen.filter((q) => q.path.startsWith('/cdn/'));
    // The cut answer never finishes (status 0); the retry asks for the rest of what reached the disk.
    expect(cdn.map((q) => [q.status, q.range])).toEqual([[503, null], [0, null], [206, expect.stringMatching(/^bytes=\d+-$/)]]);
    const resumedAt = Number(/\d+/.exec(cdn[2]!.range!)![0]);
    expect(resumedAt > 0 && resumedAt <= 1 << 20).toBe(true);
    expect(fs.readFileSync(path.join(r!.dir, 'model.safetensors')).equals(source)).toBe(true);
    expect(r!.downloadedBytes).toBe(r!.files.reduce((n, f) => n + f.size, 0));
  }, 30_000);

  test('a corrupted byte is caught: the error names the file and both hashes, and nothing enters the cache', async () => {
    const h = home('corrupt');
    const r = rlcd(['pull', CORRUPT], { HF_HOME: h });
    const expected = sha256(fs.readFileSync(path.join(HF_656K, 'model.safetensors')));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^rlcd: tiny/corrupt-656k: model.safetensors: sha256 mismatch: expected ${expected}, got (?!${expected})[0-9a-f]{64}; `));
    const blobs = path.join(repoDir(h, CORRUPT), 'blobs');
    expect(fs.readdirSync(blobs).filter((f) => f.startsWith(expected))).toEqual([]);
    expect(fs.existsSync(path.join(repoDir(h, CORRUPT), 'refs', 'main'))).toBe(false);
  }, 30_000);

  test('a gated repository says how to pass a token, works with --token, and the token never reaches the CDN', async () => {
    const h = home('gated');
    const refused = rlcd(['pull', GATED], { HF_HOME: h });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe('rlcd: tiny/gated-656k: gated or private model: accept its licence on the hub and pass a token (--token or HF_TOKEN) [HTTP 401]\n');
    const seen = await during(() => expect(rlcd(['pull', GATED, '--token', TOKEN], { HF_HOME: h }).status).toBe(0));
    expect(seen.filter((q) => !q.path.startsWith('/cdn/')).every((q) => q.auth)).toBe(true);
    expect(seen.filter((q) => q.path.startsWith('/cdn/'))).toEqual([expect.objectContaining({ auth: false, status: 200 })]);
    // HF_TOKEN does the same (here against the cached snapshot: just the listing).
    const viaEnv = await during(() => expect(rlcd(['pull', GATED], { HF_HOME: h, HF_TOKEN: TOKEN }).status).toBe(0));
    expect(viaEnv.map((q) => [q.status, q.auth])).toEqual([[200, true]]);
  }, 30_000);

  test('404s name what was not found: repository, revision, file', async () => {
    const r = rlcd(['pull', 'tiny/no-such-model'], { HF_HOME: home('404') });
    expect([r.status, r.stderr]).toEqual([1, `rlcd: tiny/no-such-model: repository not found on ${endpoint} (check the name)\n`]);
    const opts = { cacheDir: path.join(home('404'), 'hub'), endpoint };
    await expect(pullModel(REPO, { ...opts, revision: 'no-such-branch' })).rejects.toMatchObject({ kind: 'revision-not-found', status: 404, message: `${REPO}: revision "no-such-branch" not found on ${endpoint} (the repository exists)` });
    const client = { endpoint, token: undefined, etagTimeoutMs: 10_000, downloadTimeoutMs: 10_000 };
    await expect(fileMetadata(client, { repoId: REPO, revision: 'main', file: 'no-such-file.json' })).rejects.toMatchObject({ kind: 'file-not-found', message: `${REPO}: file "no-such-file.json" not found at revision "main"` });
    await expect(pullModel(REPO, { ...opts, include: ['*.gguf'] })).rejects.toThrow(/no file at revision "main" matches "\*\.gguf"/);
  }, 30_000);

  test('--include replaces the selection; subfolder files link deeper into blobs/', async () => {
    const h = home('include');
    const r = await pullModel(REPO, { cacheDir: path.join(h, 'hub'), endpoint, include: ['onnx/*', '*.md'] });
    expect(r.files.map((f) => f.file)).toEqual(['README.md', 'onnx/model.onnx']);
    expect(fs.readlinkSync(path.join(r.dir, 'onnx', 'model.onnx'))).toMatch(/^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
    expect(fs.readFileSync(path.join(r.dir, 'README.md'), 'utf8')).toBe('# a test model\n');
  });

  test('HF_HUB_OFFLINE=1 answers from the cache without a request, and says what is missing otherwise', async () => {
    const seen = await during(() => {
      const r = rlcd(['pull', REPO], { HF_HOME: home('main'), HF_HUB_OFFLINE: '1' });
      expect([r.status, r.stderr]).toEqual([0, expect.stringMatching(/6 files, 2\.7 MB, from the cache \(HF_HUB_OFFLINE\)/)]);
    });
    expect(seen).toEqual([]);
    const empty = home('empty');
    const r = rlcd(['pull', REPO, '--revision', 'v1'], { HF_HOME: empty, HF_HUB_OFFLINE: '1' });
    expect([r.status, r.stderr]).toEqual([1, `rlcd: HF_HUB_OFFLINE is set and ${REPO} (revision "v1") is not in the cache ${path.join(empty, 'hub')} (no ${path.join(repoDir(empty, REPO), 'refs', 'v1')}); pull it once online\n`]);
    // A model argument that is neither a path nor cached names both possibilities.
    await withEnv({ HF_HOME: empty, HF_HUB_OFFLINE: '1' }, async () => {
      await expect(loadModel('tiny/not-cached')).rejects.toThrow(/^tiny\/not-cached: no such file or directory, and pulling it from the hub failed: HF_HUB_OFFLINE is set/);
    });
    await withEnv({ HF_HOME: empty, HF_ENDPOINT: `http://127.0.0.1:${closedPort}` }, async () => {
      await expect(loadModel('tiny/not-cached')).rejects.toThrow(`tiny/not-cached: no such file or directory, and pulling it from the hub failed: cannot reach http://127.0.0.1:${closedPort}: check the network, or set HF_HUB_OFFLINE=1 to use the cache (ECONNREFUSED)`);
    });
  }, 30_000);

  test('a cache laid out by hand as huggingface_hub writes it is used with no network at all', async () => {
    const h = home('python');
    const root = repoDir(h, 'someone/handmade');
    const commit = 'a'.repeat(40);
    for (const f of MODEL_FILES) {
      const bytes = fs.readFileSync(path.join(HF_656K, f));
      const etag = f.endsWith('.safetensors') ? sha256(bytes) : gitSha1(bytes);
      fs.mkdirSync(path.join(root, 'blobs'), { recursive: true });
      fs.writeFileSync(path.join(root, 'blobs', etag), bytes);
      fs.mkdirSync(path.join(root, 'snapshots', commit), { recursive: true });
      fs.symlinkSync(`../../blobs/${etag}`, path.join(root, 'snapshots', commit, f));
    }
    fs.mkdirSync(path.join(root, 'refs'));
    fs.writeFileSync(path.join(root, 'refs', 'main'), commit);
    // An endpoint nothing answers on: any request would fail the load.
    const text = await withEnv({ HF_HOME: h, HF_ENDPOINT: `http://127.0.0.1:${closedPort}` }, () => greedy('someone/handmade'));
    expect(text).toBe(await greedy(HF_656K));
    const offline = await withEnv({ HF_HOME: h }, () => pullModel('someone/handmade', { offline: true }));
    expect([offline.commit, offline.files.map((f) => f.file)]).toEqual([commit, MODEL_FILES]);
  }, 30_000);

  test('bad arguments are refused before any request', async () => {
    const seen = await during(async () => {
      await expect(pullModel('no-slash', { endpoint })).rejects.toThrow(RangeError);
      await expect(pullModel('a/b/c', { endpoint })).rejects.toThrow(/repoId must be a hub model id ORG\/NAME/);
      await expect(pullModel(REPO, { endpoint, revision: '../../etc' })).rejects.toThrow(/revision must be a branch, tag or commit sha/);
      await expect(pullModel(REPO, { endpoint, include: [''] })).rejects.toThrow(TypeError);
      await expect(pullModel(REPO, { endpoint, token: 'two words' })).rejects.toThrow(/token must not contain spaces/);
      await expect(pullModel(REPO, { endpoint: 'ftp://x' })).rejects.toThrow(/endpoint must be an http\(s\) URL/);
      await expect(pullModel(REPO, { endpoint, revison: 'main' } as never)).rejects.toThrow(/unknown option\(s\): revison/);
      const r = rlcd(['pull', '../escape'], { HF_HOME: home('bad') });
      expect([r.status, r.stderr]).toEqual([1, expect.stringMatching(/^rlcd: ORG\/NAME must be a hub model id/)]);
    });
    expect(seen).toEqual([]);
    expect(fs.existsSync(home('bad'))).toBe(false);
  }, 30_000);
});

test('HubError carries its kind and status', () => {
  const e = new HubError('unauthorized', 'x', 401);
  expect([e.name, e.kind, e.status, e instanceof Error]).toEqual(['HubError', 'unauthorized', 401, true]);
});
