/**
 * A seeded sample data set for the embedded default when the source bucket is empty:
 * office-like text, CSV, JSON and logs in nested folders, some already-compressed bytes,
 * awkward names (spaces, `+`, `%`, unicode), an empty file and one larger file.
 */
import { Readable } from 'node:stream';
import { mulberry32 as seededRandom } from '../../../shared/random';
import type { ObjectStore } from '../../../shared/storage';


const WORDS = 'invoice quarterly report budget forecast meeting notes customer contract revenue project roadmap design review summary draft final approved pending payroll audit'.split(' ');
const USERS = ['alice@acme.example', 'bob@acme.example', 'chloé@acme.example'];

export interface SampleFile {
  key: string;
  size: number;
  contentType: string;
  body: () => Readable;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
}

function words(rand: () => number, n: number): string {
  return Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
}

function textBody(seed: number, size: number, kind: 'csv' | 'json' | 'txt' | 'log'): () => Readable {
  return () => {
    const rand = seededRandom(seed);
    let left = size;
    let line = 0;
    return Readable.from(
      (function* () {
        while (left > 0) {
          let s: string;
          if (kind === 'csv') s = `${line},${words(rand, 2)},${(rand() * 10000).toFixed(2)},2025-01-${String(1 + (line % 28)).padStart(2, '0')}\n`;
          else if (kind === 'json') s = `{"id":${line},"name":"${words(rand, 2)}","amount":${(rand() * 1000).toFixed(2)}}\n`;
          else if (kind === 'log') s = `2025-01-20T10:${String(line % 60).padStart(2, '0')}:00Z INFO request ${Math.floor(rand() * 1e6)} ${words(rand, 4)}\n`;
          else s = `${words(rand, 12)}.\n`;
          const b = Buffer.from(s);
          const part = b.length > left ? b.subarray(0, left) : b;
          left -= part.length;
          line++;
          yield part;
        }
      })(),
    );
  };
}

function randomBody(seed: number, size: number): () => Readable {
  return () => {
    const rand = seededRandom(seed);
    let left = size;
    return Readable.from(
      (function* () {
        while (left > 0) {
          const n = Math.min(left, 65536);
          const b = Buffer.allocUnsafe(n);
          for (let i = 0; i < n; i += 4) b.writeUInt32LE((rand() * 0xffffffff) >>> 0, i < n - 3 ? i : n - 4);
          left -= n;
          yield b;
        }
      })(),
    );
  };
}

/** The sample files under `prefix` (deterministic for a seed). */
export function sampleFiles(prefix: string, seed = 42, count = 240): SampleFile[] {
  const rand = seededRandom(seed);
  const files: SampleFile[] = [];
  const kinds = [
    { ext: 'csv', type: 'text/csv' },
    { ext: 'json', type: 'application/json' },
    { ext: 'txt', type: 'text/plain' },
    { ext: 'log', type: 'text/plain' },
  ] as const;
  for (let i = 0; i < count; i++) {
    const user = USERS[i % USERS.length];
    const folder = ['Reports', 'Invoices', 'Projects/Roadmap', 'Notes', 'Finance/2025'][Math.floor(rand() * 5)];
    const kind = kinds[Math.floor(rand() * kinds.length)];
    const size = 1024 + Math.floor(rand() * 48 * 1024);
    const name = `${words(rand, 2).replace(/ /g, '-')}-${i}.${kind.ext}`;
    files.push({
      key: `${prefix}${user}/${folder}/${name}`,
      size,
      contentType: kind.type,
      body: textBody(seed + i, size, kind.ext),
      metadata: { department: folder.split('/')[0].toLowerCase() },
      ...(i % 10 === 0 ? { tags: { classification: 'internal' } } : {}),
    });
  }
  const odd = (key: string, size: number, contentType: string, body: () => Readable): SampleFile => ({ key: prefix + key, size, contentType, body });
  files.push(
    odd('alice@acme.example/Photos/holiday photo 01.jpg', 350_000, 'image/jpeg', randomBody(seed + 1001, 350_000)),
    odd('alice@acme.example/Archive/old-projects.zip', 900_000, 'application/zip', randomBody(seed + 1002, 900_000)),
    odd('bob@acme.example/Invoices/invoice 2025+01 100%.txt', 2048, 'text/plain', textBody(seed + 1003, 2048, 'txt')),
    odd('chloé@acme.example/Résumé/résumé — 2025 (final).txt', 4096, 'text/plain', textBody(seed + 1004, 4096, 'txt')),
    odd('chloé@acme.example/日本語/会議メモ.txt', 3000, 'text/plain', textBody(seed + 1005, 3000, 'txt')),
    odd('bob@acme.example/Notes/empty.txt', 0, 'text/plain', () => Readable.from([])),
    odd('bob@acme.example/Logs/server-2025-01-20.log', 20 * 1024 * 1024, 'text/plain', textBody(seed + 1006, 20 * 1024 * 1024, 'log')),
  );
  return files;
}

/** Writes the sample files into a bucket; returns how many objects and bytes were written. */
export async function writeSampleData(store: ObjectStore, bucket: string, prefix: string, onFile?: () => void): Promise<{ objects: number; bytes: number }> {
  let bytes = 0;
  const files = sampleFiles(prefix);
  for (const f of files) {
    await store.put(bucket, f.key, f.body(), { contentType: f.contentType, metadata: f.metadata, tags: f.tags, size: f.size });
    bytes += f.size;
    onFile?.();
  }
  return { objects: files.length, bytes };
}
