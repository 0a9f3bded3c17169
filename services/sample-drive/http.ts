/** Small HTTP helpers for the sample Drive: Google-shaped JSON errors, bodies, partial responses. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { applyFields, parseFields } from './fields';

/** An error answered in Google's JSON error shape. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly domain = 'global',
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function sendError(res: ServerResponse, err: ApiError): void {
  const body = JSON.stringify({
    // An empty reason sends no `errors` list (Google does that for some 403s).
    error: { code: err.code, message: err.message, ...(err.reason ? { errors: [{ domain: err.domain, reason: err.reason, message: err.message }] } : {}) },
  });
  res.writeHead(err.code, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body), ...err.headers });
  res.end(body);
}

/** Sends JSON, trimmed to the `fields` selector when given. */
export function sendJson(res: ServerResponse, value: unknown, fields?: string, status = 200, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(applyFields(value, parseFields(fields)));
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Reads a whole request body (sample uploads are small; the server caps them). */
export async function readBody(req: IncomingMessage, limit = 256 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) throw new ApiError(413, 'uploadTooLarge', 'The upload is too large for the sample server.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses `Range: bytes=a-b` against a size; undefined when absent. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) throw new ApiError(416, 'requestedRangeNotSatisfiable', 'Request range not satisfiable', 'global', { 'content-range': `bytes */${size}` });
  return { start, end };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
