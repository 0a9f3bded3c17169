/**
 * Test helper: one Azurite blob service per test file (the `azurite` dev dependency, run with
 * this Node; never in an image).
 *
 *   const azurite = useAzurite();            // starts in beforeAll, stops in afterAll
 *   const store = azurite().store();          // an AzureBlobObjectStore on it
 *   const c = await azurite().createContainer(uniqueName('c'));
 *
 * It listens on a free loopback port with a temporary --location (removed after), --silent,
 * --disableTelemetry (Azurite phones home otherwise) and --skipApiVersionCheck: Azurite 3.35
 * knows API versions up to 2025-11-05 and @azure/storage-blob 12.32 sends 2026-04-06.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AzureBlobObjectStore, type AzureBlobObjectStoreConfig } from '../../shared/storage/azure/AzureBlobObjectStore';
import { AZURITE_ACCOUNT_NAME } from '../../shared/storage/azure/account';
import { createBlobServiceClient } from '../../shared/storage/azure/azureClient';
import { freePort } from './freePort';

export class AzuriteServer {
  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
    private readonly location: string,
  ) {}

  /** Path-style account URL, as Azurite serves it. */
  get accountUrl(): string {
    return `http://127.0.0.1:${this.port}/${AZURITE_ACCOUNT_NAME}`;
  }

  /** Start Azurite's blob service and wait until it answers HTTP. */
  static async start(): Promise<AzuriteServer> {
    const main = require.resolve('azurite/dist/src/blob/main.js');
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const location = mkdtempSync(path.join(os.tmpdir(), 'xregion-azurite-'));
      const args = [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', location, '--silent', '--disableTelemetry', '--skipApiVersionCheck'];
      const proc = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      proc.stderr?.on('data', (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      const server = new AzuriteServer(proc, port, location);
      try {
        await server.waitReady(30_000, () => stderr);
        return server;
      } catch (err) {
        lastErr = err;
        await server.stop();
      }
    }
    throw new Error('Azurite did not start (is the azurite dev dependency installed? npm install)', { cause: lastErr });
  }

  private async waitReady(timeoutMs: number, stderr: () => string): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.proc.exitCode !== null) throw new Error(`azurite exited (${this.proc.exitCode}): ${stderr()}`);
      try {
        // Any HTTP answer (an unsigned request gets 403) means it listens.
        await fetch(`${this.accountUrl}?comp=list`);
        return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`azurite not ready after ${timeoutMs} ms: ${stderr()}`);
  }

  /** Stop the process group (SIGTERM, then SIGKILL after 3 s) and remove its --location. */
  async stop(): Promise<void> {
    const pid = this.proc.pid;
    if (this.proc.exitCode === null && this.proc.signalCode === null && pid !== undefined) {
      const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 3000);
      try {
        process.kill(-pid, 'SIGTERM');
        await exited;
      } catch {
        // already gone
      }
      clearTimeout(timer);
    }
    rmSync(this.location, { recursive: true, force: true });
  }

  /** An AzureBlobObjectStore on this server (Azurite's development key, found from the loopback URL). */
  store(extra: Partial<AzureBlobObjectStoreConfig> = {}): AzureBlobObjectStore {
    return new AzureBlobObjectStore({ accountUrl: this.accountUrl, ...extra });
  }

  /** Create a container. */
  async createContainer(name: string): Promise<string> {
    await createBlobServiceClient({ accountUrl: this.accountUrl }).getContainerClient(name).create();
    return name;
  }
}

/** Start Azurite in beforeAll and stop it in afterAll of the calling file/describe; returns a getter. */
export function useAzurite(): () => AzuriteServer {
  let server: AzuriteServer | undefined;
  beforeAll(async () => {
    server = await AzuriteServer.start();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('azurite not started (use the getter inside tests or hooks)');
    return server;
  };
}
