/**
 * The sample Drive HTTP server: routes the Drive v3 (files.update too), Admin Directory and OAuth token requests
 * that xregion makes, applies injected latency and faults, and counts requests.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as drive from './driveApi';
import { FaultInjector, type FaultOptions, type FaultRule } from './faults';
import { ApiError, readBody, sendError, sendJson, sleep } from './http';
import { simulateChanges } from './seed';
import { listPermissions } from './permissions';
import { continueUpload, createMetadataOnly, startUpload, updateMetadataOnly } from './uploads';
import type { Workspace } from './Workspace';

export interface ServerOptions {
  /** Fixed latency added to every request (benchmarks). */
  latencyMs?: number;
  faults?: FaultOptions;
}

/** Request counters, by route name. */
export type RequestStats = Record<string, number>;

export class SampleDriveServer {
  readonly faults: FaultInjector;
  readonly stats: RequestStats = {};
  latencyMs: number;
  private server: Server | undefined;
  private tokens = new Map<string, string>();
  /** Service-account e-mails whose key Google no longer accepts (deleted or disabled): token requests get 401 invalid_client. */
  readonly revokedClients = new Set<string>();
  private round = 0;
  baseUrl = '';

  constructor(readonly ws: Workspace, opts: ServerOptions = {}) {
    this.faults = new FaultInjector(opts.faults);
    this.latencyMs = opts.latencyMs ?? 0;
  }

  /** Listens on 127.0.0.1:port (0 = any free port). */
  async listen(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (res.headersSent) { res.destroy(); return; }
        sendError(res, err instanceof ApiError ? err : new ApiError(500, 'backendError', `Backend Error: ${(err as Error).message}`));
      });
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${addr.port}/`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Applies the next round of scripted edits; returns what changed. */
  simulateChanges(): string[] {
    this.round += 1;
    return simulateChanges(this.ws, this.round);
  }

  private count(name: string): void {
    this.stats[name] = (this.stats[name] ?? 0) + 1;
    this.stats.total = (this.stats.total ?? 0) + 1;
  }

  private userOf(req: IncomingMessage): string | undefined {
    const h = req.headers.authorization;
    if (!h?.startsWith('Bearer ')) return undefined;
    return this.tokens.get(h.slice(7));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const path = url.pathname.replace(/\/+/g, '/');
    const method = req.method ?? 'GET';
    if (path.startsWith('/_sample/')) return this.control(req, res, path);
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    if (path === '/token' && method === 'POST') return this.token(req, res);

    const user = this.userOf(req);
    const faults = this.faults.pick(method, `${path}${url.search}`, user);
    for (const f of faults) if (f.kind === 'slow') await sleep(f.delayMs ?? 1000);
    const fault = faults.find((f) => f.kind !== 'slow');
    if (fault && fault.kind !== 'dropStream' && fault.kind !== 'stallStream') throw faultError(fault);
    if (!user) throw new ApiError(401, 'authError', 'Request had invalid authentication credentials.', 'global', { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' });

    const ctx: drive.RouteContext = { ws: this.ws, user, baseUrl: this.baseUrl, url, req, res, bodyFault: fault };
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/drive/v3/files') { this.count('files.list'); return drive.listFiles(ctx); }
    if (method === 'GET' && (m = /^\/drive\/v3\/files\/([^/]+)$/.exec(path))) {
      this.count(url.searchParams.get('alt') === 'media' ? 'files.get(media)' : 'files.get');
      // Resumed downloads, counted apart (not in `total`): tests check that a stall resumed by Range.
      if (url.searchParams.get('alt') === 'media' && req.headers.range) this.stats['files.get(media) ranged'] = (this.stats['files.get(media) ranged'] ?? 0) + 1;
      return drive.getFile(ctx, decodeURIComponent(m[1]));
    }
    if (method === 'GET' && path === '/feeds/download/export') { this.count('export'); return drive.exportFile(ctx); }
    if (method === 'GET' && path === '/drive/v3/changes/startPageToken') { this.count('changes.getStartPageToken'); return drive.startPageToken(ctx); }
    if (method === 'GET' && path === '/drive/v3/changes') { this.count('changes.list'); return drive.listChanges(ctx); }
    if (method === 'GET' && path === '/drive/v3/about') {
      this.count('about.get');
      return sendJson(res, { kind: 'drive#about', user: { kind: 'drive#user', emailAddress: user, me: true } }, url.searchParams.get('fields') ?? undefined);
    }
    if (method === 'GET' && path === '/drive/v3/drives') { this.count('drives.list'); return drive.listDrives(ctx); }
    if (method === 'POST' && path === '/drive/v3/files') { this.count('files.create'); return createMetadataOnly(ctx); }
    if (path === '/upload/drive/v3/files') {
      this.count('files.create(upload)');
      const id = url.searchParams.get('upload_id');
      if (id && (method === 'PUT' || method === 'POST')) return continueUpload(ctx, id);
      if (method === 'POST') return startUpload(ctx);
    }
    if (method === 'GET' && (m = /^\/drive\/v3\/files\/([^/]+)\/permissions$/.exec(path))) { this.count('permissions.list'); return listPermissions(ctx, decodeURIComponent(m[1])); }
    if (method === 'PATCH' && (m = /^\/drive\/v3\/files\/([^/]+)$/.exec(path))) { this.count('files.update'); return updateMetadataOnly(ctx, decodeURIComponent(m[1])); }
    if ((m = /^\/upload\/drive\/v3\/files\/([^/]+)$/.exec(path))) {
      this.count('files.update(upload)');
      const id = url.searchParams.get('upload_id');
      if (id && (method === 'PUT' || method === 'POST')) return continueUpload(ctx, id);
      if (method === 'PATCH') return startUpload(ctx, decodeURIComponent(m[1]));
    }
    if (method === 'GET' && path === '/admin/directory/v1/users') { this.count('users.list'); return this.users(ctx); }
    throw new ApiError(404, 'notFound', `Not Found: ${method} ${path}`);
  }

  /** POST /token: the JWT bearer grant (service account, `sub` = impersonated user) and refresh_token grant. */
  private async token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.count('token');
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    const grant = form.get('grant_type');
    let subject: string | undefined;
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const payload = decodeJwtPayload(form.get('assertion') ?? '');
      subject = typeof payload?.sub === 'string' ? payload.sub : undefined;
      if (!payload?.iss) return oauthError(res, 'invalid_grant', 'Invalid JWT: no issuer.');
      if (this.revokedClients.has(String(payload.iss))) return oauthError(res, 'invalid_client', 'The OAuth client was not found.', 401);
      if (!subject) return oauthError(res, 'invalid_grant', 'Domain-wide delegation needs a subject (sub) in the sample Drive.');
    } else if (grant === 'refresh_token') {
      const m = /^sample-refresh:(.+)$/.exec(form.get('refresh_token') ?? '');
      subject = m?.[1];
      if (!subject) return oauthError(res, 'invalid_grant', 'Token has been expired or revoked.');
    } else {
      return oauthError(res, 'unsupported_grant_type', `Invalid grant_type: ${grant}`);
    }
    const u = this.ws.users.find((x) => x.primaryEmail === subject);
    if (!u) return oauthError(res, 'invalid_grant', 'Invalid email or User ID');
    if (u.suspended) return oauthError(res, 'invalid_grant', 'User account is suspended.');
    const token = `sample-${randomUUID()}`;
    this.tokens.set(token, u.primaryEmail);
    sendJson(res, { access_token: token, expires_in: 3599, token_type: 'Bearer', scope: form.get('scope') ?? undefined });
  }

  /**
   * GET /admin/directory/v1/users (the caller must be an admin). As Google: `customer` (my_customer
   * or the account's id) lists every domain of the account, `domain` only that one; one of them is
   * required, and a domain the account does not own is refused.
   */
  private users(ctx: drive.RouteContext): void {
    if (!this.ws.users.find((u) => u.primaryEmail === ctx.user)?.isAdmin) throw new ApiError(403, 'forbidden', 'Not Authorized to access this resource/api');
    const p = ctx.url.searchParams;
    const customer = p.get('customer');
    const domain = p.get('domain');
    if (!customer && !domain) throw new ApiError(400, 'badRequest', 'Bad Request');
    if (customer && customer !== 'my_customer' && customer !== this.ws.customerId) throw new ApiError(400, 'badRequest', 'Bad Request');
    if (domain && !this.ws.domains.includes(domain)) throw new ApiError(403, 'forbidden', 'Not Authorized to access this resource/api');
    const all = domain ? this.ws.users.filter((u) => u.primaryEmail.endsWith(`@${domain}`)) : this.ws.users;
    const max = Math.min(500, Number(p.get('maxResults') ?? 100));
    const offset = Number(p.get('pageToken') ?? 0);
    const page = all.slice(offset, offset + max);
    sendJson(ctx.res, {
      kind: 'admin#directory#users',
      nextPageToken: offset + max < all.length ? String(offset + max) : undefined,
      users: page.map((u) => ({
        kind: 'admin#directory#user', id: u.id, primaryEmail: u.primaryEmail, name: { fullName: u.fullName }, isAdmin: u.isAdmin,
        suspended: u.suspended, archived: !!u.archived, customerId: this.ws.customerId,
      })),
    }, p.get('fields') ?? undefined);
  }

  /** /_sample/*: control API (simulate changes, set faults or latency, read counters). */
  private async control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '/_sample/simulate-changes' && req.method === 'POST') return sendJson(res, { changes: this.simulateChanges() });
    if (path === '/_sample/faults' && req.method === 'POST') {
      const body = JSON.parse((await readBody(req)).toString() || '{}') as { rules?: FaultRule[]; latencyMs?: number };
      this.faults.set(body.rules ?? []);
      if (body.latencyMs !== undefined) this.latencyMs = body.latencyMs;
      return sendJson(res, { ok: true });
    }
    if (path === '/_sample/stats') return sendJson(res, { requests: this.stats, faults: this.faults.fired });
    throw new ApiError(404, 'notFound', `Not Found: ${path}`);
  }
}

function faultError(f: FaultRule): ApiError {
  const retry: Record<string, string> = f.retryAfterSeconds !== undefined ? { 'retry-after': String(f.retryAfterSeconds) } : {};
  switch (f.kind) {
    case 'rateLimit': return new ApiError(403, 'userRateLimitExceeded', 'User rate limit exceeded.', 'usageLimits', retry);
    case 'tooManyRequests': return new ApiError(429, 'rateLimitExceeded', 'Rate limit exceeded.', 'usageLimits', retry);
    case 'serverError': return new ApiError(500, 'backendError', 'Backend Error');
    case 'downloadQuota': return new ApiError(403, 'downloadQuotaExceeded', 'The download quota for this file has been exceeded.', 'usageLimits');
    case 'forbidden': return new ApiError(403, f.reason ?? '', 'The user does not have sufficient permissions for this file.');
    case 'dailyLimit': return new ApiError(403, 'dailyLimitExceeded', 'Daily Limit Exceeded', 'usageLimits');
    default: return new ApiError(500, 'backendError', 'Backend Error');
  }
}

function oauthError(res: ServerResponse, error: string, description: string, status = 400): void {
  sendJson(res, { error, error_description: description }, undefined, status);
}

function decodeJwtPayload(jwt: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
