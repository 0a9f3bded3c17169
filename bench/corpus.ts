/**
 * A seeded, reproducible "office" corpus for benchmarks: ~4000 small files (1–50 KB) of text,
 * CSV, JSON, XML and logs, ~10% already-compressed (random) bytes, and a few 10–50 MB files.
 * scale 1 ≈ 200 MB. Regeneration is skipped when the directory already holds the same seed/scale.
 * generateMixedCorpus makes the pipeline benchmark's third data set.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mulberry32 as prng } from '../shared/random';

/** What was generated. */
export interface CorpusInfo {
  dir: string;
  files: number;
  bytes: number;
  seed: number;
  scale: number;
}


const WORDS = (
  'the quarterly report revenue forecast budget meeting customer invoice project deadline review ' +
  'approved pending draft final contract vendor shipment order account balance region sales ' +
  'marketing engineering support ticket resolved escalated summary minutes agenda action owner ' +
  'status update policy compliance audit risk team plan goal metric growth cost margin total'
).split(' ');
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
const DEPTS = ['Finance', 'Sales', 'Engineering', 'HR', 'Legal', 'Ops'];

type Gen = (rnd: () => number, size: number) => Buffer;

function pick<T>(rnd: () => number, a: readonly T[]): T {
  return a[Math.floor(rnd() * a.length)]!;
}

/** Appends generated lines until `size` bytes, then trims to exactly `size`. */
function lines(size: number, line: () => string): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < size) {
    const l = line();
    parts.push(l);
    n += l.length;
  }
  return Buffer.from(parts.join(''), 'utf8').subarray(0, size);
}

const text: Gen = (r, size) =>
  lines(size, () => {
    const k = 6 + Math.floor(r() * 12);
    const w: string[] = [];
    for (let i = 0; i < k; i++) w.push(pick(r, WORDS));
    return `${w.join(' ')}.${r() < 0.2 ? '\n\n' : ' '}`;
  });
const csv: Gen = (r, size) => {
  let id = 1000;
  return lines(size, () => `${id++},${pick(r, NAMES)},${pick(r, DEPTS)},2025-0${1 + Math.floor(r() * 9)}-1${Math.floor(r() * 9)},${(r() * 10000).toFixed(2)},${pick(r, WORDS)}\n`);
};
const json: Gen = (r, size) =>
  lines(size, () => `{"id":${Math.floor(r() * 1e6)},"owner":"${pick(r, NAMES)}@acme.com","dept":"${pick(r, DEPTS)}","status":"${pick(r, WORDS)}","amount":${(r() * 5000).toFixed(2)},"tags":["${pick(r, WORDS)}","${pick(r, WORDS)}"]}\n`);
const xml: Gen = (r, size) =>
  lines(size, () => `  <row id="${Math.floor(r() * 1e6)}"><owner>${pick(r, NAMES)}</owner><dept>${pick(r, DEPTS)}</dept><note>${pick(r, WORDS)} ${pick(r, WORDS)}</note></row>\n`);
const log: Gen = (r, size) => {
  let t = 1753329108085;
  return lines(size, () => {
    t += Math.floor(r() * 5000);
    return `${new Date(t).toISOString()} ${pick(r, ['INFO', 'INFO', 'INFO', 'WARN', 'ERROR'])} [${pick(r, DEPTS).toLowerCase()}-svc] ${pick(r, WORDS)} ${pick(r, WORDS)} user=${pick(r, NAMES)} latency_ms=${Math.floor(r() * 900)}\n`;
  });
};
/** Incompressible bytes standing in for JPEG/ZIP-based documents. */
const random: Gen = (r, size) => {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = Math.floor(r() * 4294967296) | 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, size);
};

const KINDS: { ext: string; gen: Gen }[] = [
  { ext: 'txt', gen: text },
  { ext: 'csv', gen: csv },
  { ext: 'json', gen: json },
  { ext: 'xml', gen: xml },
  { ext: 'log', gen: log },
];

/**
 * Generates (or reuses) a mixed corpus under `dir`: a few large files (logs, CSV, an
 * incompressible video stand-in: ~90 MB at scale 1) and many small ones (7,000 of 1–20 KB,
 * ~70 MB, a tenth incompressible), spread over users and folders as a Drive backup is. The shape
 * that stresses both ends of the pipeline at once: per-object work and bulk bytes.
 */
export async function generateMixedCorpus(dir: string, opts: { seed: number; scale: number }): Promise<CorpusInfo> {
  const marker = join(dir, '.corpus.json');
  const existing = await readFile(marker, 'utf8').then((s) => JSON.parse(s) as CorpusInfo & { kind?: string }, () => undefined);
  if (existing && existing.kind === 'mixed' && existing.seed === opts.seed && existing.scale === opts.scale) return { ...existing, dir };
  await rm(dir, { recursive: true, force: true });
  const r = prng(opts.seed);
  let files = 0;
  let bytes = 0;
  const put = async (rel: string, data: Buffer): Promise<void> => {
    const p = join(dir, rel);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, data);
    files++;
    bytes += data.length;
  };
  const MB = 1024 * 1024;
  const large: { rel: string; size: number; gen: Gen }[] = [
    { rel: 'shared/exports/events-2025.log', size: 45 * MB, gen: log },
    { rel: 'shared/exports/ledger-2025.csv', size: 30 * MB, gen: csv },
    { rel: 'shared/media/town-hall.mp4', size: 15 * MB, gen: random },
  ];
  for (const l of large) await put(l.rel, l.gen(r, Math.round(l.size * opts.scale)));
  const small = Math.round(7000 * opts.scale);
  for (let i = 0; i < small; i++) {
    const user = pick(r, NAMES);
    const dept = pick(r, DEPTS);
    const size = 1024 + Math.floor(r() * 19 * 1024);
    const folder = `${user}@acme.com/${dept}/${pick(r, WORDS)}`;
    if (r() < 0.1) await put(`${folder}/scan ${i}.${pick(r, ['jpg', 'docx', 'zip'])}`, random(r, size));
    else {
      const k = pick(r, KINDS);
      await put(`${folder}/${pick(r, WORDS)}-${i}.${k.ext}`, k.gen(r, size));
    }
  }
  const info = { dir, files, bytes, seed: opts.seed, scale: opts.scale, kind: 'mixed' };
  await writeFile(marker, JSON.stringify(info));
  return info;
}

/** Generates (or reuses) the corpus under `dir`. */
export async function generateCorpus(dir: string, opts: { seed: number; scale: number }): Promise<CorpusInfo> {
  const marker = join(dir, '.corpus.json');
  const existing = await readFile(marker, 'utf8').then((s) => JSON.parse(s) as CorpusInfo, () => undefined);
  if (existing && existing.seed === opts.seed && existing.scale === opts.scale) return { ...existing, dir };
  await rm(dir, { recursive: true, force: true });
  const r = prng(opts.seed);
  let files = 0;
  let bytes = 0;
  const put = async (rel: string, data: Buffer): Promise<void> => {
    const p = join(dir, rel);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, data);
    files++;
    bytes += data.length;
  };
  const small = Math.round(4000 * opts.scale);
  for (let i = 0; i < small; i++) {
    const user = pick(r, NAMES);
    const dept = pick(r, DEPTS);
    const size = 1024 + Math.floor(r() * 49 * 1024);
    if (r() < 0.1) {
      const ext = pick(r, ['jpg', 'docx', 'xlsx', 'zip']);
      await put(`${user}@acme.com/${dept}/scan ${i}.${ext}`, random(r, size));
    } else {
      const k = pick(r, KINDS);
      await put(`${user}@acme.com/${dept}/${pick(r, WORDS)}-${i}.${k.ext}`, k.gen(r, size));
    }
  }
  const MB = 1024 * 1024;
  const large: { rel: string; size: number; gen: Gen }[] = [
    { rel: 'shared/exports/events-2025.log', size: 45 * MB, gen: log },
    { rel: 'shared/exports/ledger-2025.csv', size: 35 * MB, gen: csv },
    { rel: 'shared/media/all-hands.mp4', size: 20 * MB, gen: random },
  ];
  for (const l of large) await put(l.rel, l.gen(r, Math.round(l.size * opts.scale)));
  const info: CorpusInfo = { dir, files, bytes, seed: opts.seed, scale: opts.scale };
  await writeFile(marker, JSON.stringify(info));
  return info;
}
