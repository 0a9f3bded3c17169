/**
 * Test helper: one moto_server (S3, SQS, ... over HTTP) per test file.
 *
 *   const moto = useMoto();              // in a test file: starts in beforeAll, stops in afterAll
 *   const store = moto().s3Store();      // adapters/clients pointed at it
 *
 * Finding moto: `pyenv which moto_server` (the real binary, faster than the shim), PATH,
 * ~/.pyenv/versions/<v>/bin, ~/.pyenv/shims/moto_server, then a
 * virtualenv in <repo>/.cache/moto-venv (created with `python3 -m venv` + pip when missing).
 * When all of that fails it throws, naming the command to run: moto tests never skip silently.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { S3ObjectStore, type S3ObjectStoreConfig } from '../../shared/storage/s3/S3ObjectStore';
import { createS3Client, type AwsConnectionConfig } from '../../shared/storage/s3/s3Client';
import { createSqsClient, SqsQueue } from '../../shared/queue/sqs/SqsQueue';
import { freePort } from './freePort';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const VENV = path.join(REPO_ROOT, '.cache', 'moto-venv');
const INSTALL_HINT = `python3 -m venv ${VENV} && ${VENV}/bin/pip install 'moto[server]>=5,<6'`;

/** Fake credentials: moto accepts anything; nothing real ever goes here. */
export const FAKE_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
export const MOTO_REGION = 'us-east-1';

function which(cmd: string, args: string[]): string | undefined {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
    return out && existsSync(out) ? out : undefined;
  } catch {
    return undefined;
  }
}

/** Absolute path of moto_server, installing it into .cache/moto-venv if nowhere else. */
export function findMotoServer(): string {
  const onPath = which('sh', ['-c', 'command -v moto_server']);
  // pyenv shims are bash scripts that re-resolve on every start: prefer the real binary.
  const real = which('pyenv', ['which', 'moto_server']);
  if (real) return real;
  if (onPath) return onPath;
  // Without pyenv on PATH (e.g. `env -i`), its shims would run Debian's python3: use the
  // interpreter folder that has moto installed directly.
  const pyenvRoot = process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv');
  const versions = path.join(pyenvRoot, 'versions');
  if (existsSync(versions)) {
    for (const v of readdirSync(versions).sort().reverse()) {
      const bin = path.join(versions, v, 'bin', 'moto_server');
      if (existsSync(bin)) return bin;
    }
  }
  const shim = path.join(pyenvRoot, 'shims', 'moto_server');
  if (existsSync(shim)) return shim;
  const venvBin = path.join(VENV, 'bin', 'moto_server');
  if (existsSync(venvBin)) return venvBin;
  try {
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'ignore', timeout: 120_000 });
    execFileSync(path.join(VENV, 'bin', 'pip'), ['install', '--quiet', 'moto[server]>=5,<6'], { stdio: 'ignore', timeout: 600_000 });
  } catch (cause) {
    throw new Error(`moto_server not found and installing it failed. Install it with:\n  ${INSTALL_HINT}`, { cause });
  }
  if (!existsSync(venvBin)) throw new Error(`moto_server still missing after pip install. Install it with:\n  ${INSTALL_HINT}`);
  return venvBin;
}

export class MotoServer {
  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
  ) {}

  readonly region = MOTO_REGION;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Connection settings for adapters/clients pointed at this server (or `endpoint`, e.g. a proxy). */
  connection(endpoint = this.endpoint): AwsConnectionConfig {
    return { region: MOTO_REGION, endpoint, credentials: FAKE_CREDENTIALS, forcePathStyle: true };
  }

  /** Start moto on a free loopback port and wait for /moto-api/. */
  static async start(): Promise<MotoServer> {
    const bin = findMotoServer();
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const proc = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      proc.stderr?.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      const server = new MotoServer(proc, port);
      try {
        await server.waitReady(30_000, () => stderr);
        return server;
      } catch (err) {
        lastErr = err;
        await server.stop();
      }
    }
    throw new Error(`moto_server did not start (${bin}). Try it by hand: ${bin} -H 127.0.0.1 -p 5000`, { cause: lastErr });
  }

  private async waitReady(timeoutMs: number, stderr: () => string): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.proc.exitCode !== null) throw new Error(`moto_server exited (${this.proc.exitCode}): ${stderr()}`);
      try {
        const r = await fetch(`${this.endpoint}/moto-api/`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`moto_server not ready after ${timeoutMs} ms: ${stderr()}`);
  }

  /** Forget every bucket, queue, ... (POST /moto-api/reset). */
  async reset(): Promise<void> {
    const r = await fetch(`${this.endpoint}/moto-api/reset`, { method: 'POST' });
    if (!r.ok) throw new Error(`moto reset failed: HTTP ${r.status}`);
  }

  /** Kill the server's process group. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.pid === undefined) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    try {
      process.kill(-this.proc.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-(this.proc.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    }, 3000);
    await exited;
    clearTimeout(timer);
  }

  s3Client(endpoint?: string): S3Client {
    return createS3Client(this.connection(endpoint));
  }

  sqsClient(endpoint?: string): SQSClient {
    return createSqsClient(this.connection(endpoint));
  }

  /** An S3ObjectStore on this server; small multipart threshold/page size for fast tests. */
  s3Store(extra: Partial<S3ObjectStoreConfig> = {}): S3ObjectStore {
    // An absent or undefined endpoint means this server, never "the real AWS endpoint".
    const { endpoint, ...rest } = extra;
    return new S3ObjectStore({ ...this.connection(endpoint), ...rest });
  }

  /** Create a bucket (versioned unless told otherwise). */
  async createBucket(name: string, opts: { versioned?: boolean } = {}): Promise<string> {
    const s3 = this.s3Client();
    await s3.send(new CreateBucketCommand({ Bucket: name }));
    if (opts.versioned !== false) {
      await s3.send(new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: 'Enabled' } }));
    }
    s3.destroy();
    return name;
  }

  /** Create an SQS queue; with `deadLetter`, also its DLQ and a redrive policy. */
  async createQueue(
    name: string,
    opts: { visibilityTimeoutSeconds?: number; deadLetter?: { maxReceiveCount: number } } = {},
  ): Promise<{ queueUrl: string; queueArn: string; dlqUrl?: string }> {
    const sqs = this.sqsClient();
    try {
      let dlqUrl: string | undefined;
      const attrs: Record<string, string> = { VisibilityTimeout: String(opts.visibilityTimeoutSeconds ?? 30) };
      if (opts.deadLetter) {
        dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl as string;
        const dlqArn = await this.queueArn(sqs, dlqUrl);
        attrs.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: opts.deadLetter.maxReceiveCount });
      }
      const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attrs }))).QueueUrl as string;
      return { queueUrl, queueArn: await this.queueArn(sqs, queueUrl), dlqUrl };
    } finally {
      sqs.destroy();
    }
  }

  /** An SqsQueue adapter for a queue URL on this server. */
  sqsQueue(queueUrl: string, endpoint?: string): SqsQueue {
    return new SqsQueue({ ...this.connection(endpoint), queueUrl });
  }

  private async queueArn(sqs: SQSClient, url: string): Promise<string> {
    const r = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
    return r.Attributes?.QueueArn as string;
  }
}

/** Start moto in beforeAll and stop it in afterAll of the calling file/describe; returns a getter. */
export function useMoto(): () => MotoServer {
  let server: MotoServer | undefined;
  beforeAll(async () => {
    server = await MotoServer.start();
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('moto not started (use the getter inside tests or hooks)');
    return server;
  };
}

let uniq = 0;
/** A fresh, valid bucket/queue name for this test run. */
export function uniqueName(prefix: string): string {
  uniq += 1;
  return `${prefix}-${process.pid}-${uniq}-${Date.now().toString(36)}`.toLowerCase();
}
