/**
 * Drive credentials: a service-account key with domain-wide delegation (a JWT client per
 * impersonated user, `subject` = the user) or one person's OAuth refresh token. Keys come from a
 * file, from env XREGION_DRIVE_CREDENTIALS (where ECS injects the Secrets Manager secret), or an
 * object. Key material is never logged or put into error messages.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Gaxios } from 'gaxios';
import { google } from 'googleapis';
import { DriveCredentialsError } from './errors';

export interface ServiceAccountCredentials {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
  project_id?: string;
}

export interface AuthorizedUserCredentials {
  type: 'authorized_user';
  client_id: string;
  client_secret: string;
  refresh_token: string;
}

export type DriveCredentials = ServiceAccountCredentials | AuthorizedUserCredentials;

/** Env var the ECS task definition fills from Secrets Manager. */
export const CREDENTIALS_ENV = 'XREGION_DRIVE_CREDENTIALS';

/** Read-only scopes ingestion needs. */
export const INGEST_SCOPES = [
  'https://www.googleapis.com/auth/drive.readonly',
  'https://www.googleapis.com/auth/admin.directory.user.readonly',
];

const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** Validates parsed credentials JSON. */
export function parseDriveCredentials(raw: unknown, source: string): DriveCredentials {
  const o = raw as Record<string, unknown> | null;
  if (!o || typeof o !== 'object') throw new DriveCredentialsError(`${source}: credentials must be a JSON object`);
  if (o.type === 'service_account') {
    if (typeof o.client_email !== 'string' || typeof o.private_key !== 'string') {
      throw new DriveCredentialsError(`${source}: a service_account key needs client_email and private_key`);
    }
    checkPrivateKey(o.private_key, source);
    return o as unknown as ServiceAccountCredentials;
  }
  if (o.type === 'authorized_user') {
    if (typeof o.client_id !== 'string' || typeof o.client_secret !== 'string' || typeof o.refresh_token !== 'string') {
      throw new DriveCredentialsError(`${source}: authorized_user credentials need client_id, client_secret and refresh_token`);
    }
    return o as unknown as AuthorizedUserCredentials;
  }
  throw new DriveCredentialsError(`${source}: unknown credentials type ${JSON.stringify(String(o.type ?? ''))} (service_account or authorized_user)`);
}

/**
 * A key that cannot be parsed would otherwise fail inside every token request, looking like a
 * network error to the retry loop (about 30 s of backoff per user): refuse it once, up front.
 */
function checkPrivateKey(pem: string, source: string): void {
  try {
    createPrivateKey(pem);
  } catch (err) {
    // OpenSSL's message names the decoder step, never the key bytes; it is safe to pass on.
    const why = (err as { code?: string }).code ?? 'unreadable';
    throw new DriveCredentialsError(`${source}: private_key is not a valid private key (${why}); download a new JSON key for the service account`);
  }
}

/** Loads credentials from a key file, or else from env XREGION_DRIVE_CREDENTIALS. */
export function loadDriveCredentials(opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): DriveCredentials {
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new DriveCredentialsError(`${opts.file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
    return parseJson(text, opts.file);
  }
  const env = (opts.env ?? process.env)[CREDENTIALS_ENV];
  if (!env) throw new DriveCredentialsError(`no Drive credentials: pass --credentials key.json or set ${CREDENTIALS_ENV}`);
  return parseJson(env, CREDENTIALS_ENV);
}

function parseJson(text: string, source: string): DriveCredentials {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // The parser's message can quote the text: do not pass it on.
    throw new DriveCredentialsError(`${source}: is not valid JSON`);
  }
  return parseDriveCredentials(raw, source);
}

/** An authenticated client for one subject; the connector hands it to googleapis. */
export type DriveAuth = InstanceType<typeof google.auth.JWT> | InstanceType<typeof google.auth.OAuth2>;

/**
 * Makes auth clients. With `rootUrl` (the sample Drive), the OAuth token endpoint is redirected
 * to `${rootUrl}token`, because the auth library has Google's token URL built in.
 */
export class AuthFactory {
  private readonly cache = new Map<string, DriveAuth>();
  private readonly transporter: Gaxios;

  constructor(readonly credentials: DriveCredentials, readonly rootUrl?: string, readonly scopes: string[] = INGEST_SCOPES) {
    // Node's own fetch: gaxios would otherwise import node-fetch dynamically, which fails in VM sandboxes (jest).
    this.transporter = new Gaxios({ fetchImplementation: globalThis.fetch, timeout: 60_000 });
    if (rootUrl) {
      const tokenUrl = `${rootUrl.replace(/\/?$/, '/')}token`;
      this.transporter.interceptors.request.add({
        resolved: async (o) => {
          if (String(o.url) === GOOGLE_TOKEN_URL) o.url = new URL(tokenUrl);
          return o;
        },
      });
    }
  }

  /** True for one person's OAuth token (no impersonation, no Directory). */
  get singleUser(): boolean {
    return this.credentials.type === 'authorized_user';
  }

  /** The client acting as `subject` (service account) or as the token's owner (OAuth). */
  forSubject(subject: string): DriveAuth {
    const hit = this.cache.get(subject);
    if (hit) return hit;
    const c = this.credentials;
    let auth: DriveAuth;
    if (c.type === 'service_account') {
      auth = new google.auth.JWT({ email: c.client_email, key: c.private_key, keyId: c.private_key_id, scopes: this.scopes, subject, transporter: this.transporter });
    } else {
      auth = new google.auth.OAuth2({ clientId: c.client_id, clientSecret: c.client_secret, transporter: this.transporter });
      auth.setCredentials({ refresh_token: c.refresh_token });
    }
    this.cache.set(subject, auth);
    return auth;
  }
}
