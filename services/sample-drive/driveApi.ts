/** Drive v3 read routes of the sample server: files.list/get (+alt=media), exports, changes, drives. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { EXPORT_MIME, EXPORTABLE, FOLDER_MIME } from '../../shared/drive/mimeTypes';
import type { FaultRule } from './faults';
import { ApiError, parseRange, sendJson } from './http';
import { compileQuery, QueryError } from './query';
import { DEFAULT_CHANGE_FIELDS, DEFAULT_FILE_FIELDS, DEFAULT_LIST_FIELDS, fileResource } from './resources';
import type { SampleFile, Workspace } from './Workspace';

export interface RouteContext {
  ws: Workspace;
  user: string;
  baseUrl: string;
  url: URL;
  req: IncomingMessage;
  res: ServerResponse;
  /** A body fault for this request ('dropStream'), if any. */
  bodyFault?: FaultRule;
}

const notFound = (id: string) => new ApiError(404, 'notFound', `File not found: ${id}.`);

/** Resolves a file id ('root' too) that the user may see. */
export function visibleFile(ctx: RouteContext, id: string): SampleFile {
  const realId = id === 'root' ? ctx.ws.roots.get(ctx.user) : id;
  const f = realId ? ctx.ws.files.get(realId) : undefined;
  if (!f) throw notFound(id);
  if (f.id !== ctx.ws.roots.get(ctx.user) && !ctx.ws.canSee(ctx.user, f)) throw notFound(id);
  return f;
}

function pageSize(v: string | null, dflt: number): number {
  const n = v ? Number(v) : dflt;
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new ApiError(400, 'invalid', `Invalid value '${v}'. Values must be within the range: [1, 1000]`);
  return n;
}

function pageOffset(token: string | null): number {
  if (!token) return 0;
  const n = Number(Buffer.from(token, 'base64url').toString());
  if (!Number.isInteger(n) || n < 0) throw new ApiError(400, 'invalid', 'Invalid Value', 'global');
  return n;
}

/** GET /drive/v3/files */
export function listFiles(ctx: RouteContext): void {
  const p = ctx.url.searchParams;
  let pred;
  try {
    pred = compileQuery(p.get('q') ?? undefined, ctx.user);
  } catch (err) {
    if (err instanceof QueryError) throw new ApiError(400, 'invalid', `Invalid Value: q (${err.message})`);
    throw err;
  }
  const corpora = p.get('corpora') ?? 'user';
  const driveId = p.get('driveId');
  const allDrives = p.get('includeItemsFromAllDrives') === 'true';
  if (driveId && corpora !== 'drive') throw new ApiError(400, 'invalid', "The driveId parameter must be specified if and only if corpora is set to 'drive'.");
  if (driveId) {
    const d = ctx.ws.drives.find((x) => x.id === driveId);
    if (!d || !d.members.includes(ctx.user)) throw new ApiError(404, 'notFound', `Shared drive not found: ${driveId}`);
  }
  const roots = new Set(ctx.ws.roots.values());
  const matches: SampleFile[] = [];
  for (const f of ctx.ws.files.values()) {
    if (roots.has(f.id)) continue;
    if (driveId) {
      if (f.driveId !== driveId) continue;
    } else {
      if (f.driveId && !allDrives) continue;
      if (!ctx.ws.canSee(ctx.user, f)) continue;
    }
    if (pred(f)) matches.push(f);
  }
  const orderBy = p.get('orderBy');
  if (orderBy?.startsWith('name')) matches.sort((a, b) => a.name.localeCompare(b.name));
  else if (orderBy?.startsWith('modifiedTime')) matches.sort((a, b) => a.modifiedTime.localeCompare(b.modifiedTime));
  if (orderBy?.includes(' desc')) matches.reverse();
  const size = pageSize(p.get('pageSize'), 100);
  const offset = pageOffset(p.get('pageToken'));
  const page = matches.slice(offset, offset + size);
  const next = offset + size < matches.length ? Buffer.from(String(offset + size)).toString('base64url') : undefined;
  sendJson(
    ctx.res,
    { kind: 'drive#fileList', incompleteSearch: false, nextPageToken: next, files: page.map((f) => fileResource(ctx.ws, f, ctx.user, ctx.baseUrl)) },
    p.get('fields') ?? DEFAULT_LIST_FIELDS,
  );
}

/** GET /drive/v3/files/{id} (metadata, or bytes with alt=media and Range). */
export function getFile(ctx: RouteContext, id: string): void {
  const f = visibleFile(ctx, id);
  if (ctx.url.searchParams.get('alt') !== 'media') {
    sendJson(ctx.res, fileResource(ctx.ws, f, ctx.user, ctx.baseUrl), ctx.url.searchParams.get('fields') ?? DEFAULT_FILE_FIELDS);
    return;
  }
  if (!f.content) {
    throw new ApiError(403, 'fileNotDownloadable', 'Only files with binary content can be downloaded. Use Export with Docs Editors files.');
  }
  if (!f.canDownload) throw new ApiError(403, 'cannotDownloadFile', 'The user does not have sufficient permissions to download this file.');
  if (f.abusive && !(ctx.url.searchParams.get('acknowledgeAbuse') === 'true' && f.owners.includes(ctx.user))) {
    throw new ApiError(403, 'cannotDownloadAbusiveFile', 'This file has been identified as malware or spam and cannot be downloaded.');
  }
  const size = f.size ?? 0;
  const range = parseRange(ctx.req.headers.range, size);
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const headers: Record<string, string | number> = {
    'content-type': f.mimeType,
    'content-length': end - start + 1,
    'accept-ranges': 'bytes',
    'x-goog-hash': `md5=${Buffer.from(f.md5Checksum ?? '', 'hex').toString('base64')}`,
  };
  if (range) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  ctx.res.writeHead(range ? 206 : 200, headers);
  streamBody(ctx, ctx.ws.openContent(f, start, end), end - start + 1);
}

/** Pipes a body, or sends about half of it and then destroys the socket (dropStream) or goes silent (stallStream). */
function streamBody(ctx: RouteContext, body: NodeJS.ReadableStream, length: number): void {
  const kind = ctx.bodyFault?.kind;
  if ((kind !== 'dropStream' && kind !== 'stallStream') || length < 2) {
    body.pipe(ctx.res);
    return;
  }
  const cut = Math.max(1, Math.floor(length / 2));
  let sent = 0;
  body.on('data', (chunk: Buffer) => {
    if (sent >= cut) return;
    const part = chunk.subarray(0, cut - sent);
    sent += part.length;
    ctx.res.write(part);
    if (sent >= cut) {
      (body as unknown as { destroy(): void }).destroy();
      // A stall keeps the connection open with the response unfinished, as a hung proxy would.
      if (kind === 'dropStream') setTimeout(() => ctx.res.socket?.destroy(), 5);
    }
  });
}

/** Plausible bytes for an export: deterministic in the file's name and version. */
export function exportBytes(f: SampleFile, format: string): Buffer {
  const text = `${f.name}\nversion ${f.version}, modified ${f.modifiedTime}\n${'Lorem ipsum dolor sit amet. '.repeat(8)}\n`;
  switch (format) {
    case 'csv': return Buffer.from(`name,version\n"${f.name.replace(/"/g, '""')}",${f.version}\n`);
    case 'tsv': return Buffer.from(`name\tversion\n${f.name}\t${f.version}\n`);
    case 'html': return Buffer.from(`<!doctype html><html><body><h1>${f.name}</h1><p>${text}</p></body></html>`);
    case 'svg': return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50"><text x="5" y="30">${f.name}</text></svg>`);
    case 'txt': case 'md': case 'rtf': return Buffer.from(format === 'rtf' ? `{\\rtf1 ${text}}` : text);
    case 'pdf': return Buffer.from(`%PDF-1.4\n% ${text}%%EOF\n`);
    case 'png': return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from(text)]);
    case 'jpg': return Buffer.concat([Buffer.from('ffd8ffe0', 'hex'), Buffer.from(text), Buffer.from('ffd9', 'hex')]);
    default: return Buffer.concat([Buffer.from('504b0304', 'hex'), Buffer.from(`[Content_Types].xml ${text}`)]); // zip-based office formats
  }
}

/** GET /feeds/download/export?id=&exportFormat= (the target of exportLinks). */
export function exportFile(ctx: RouteContext): void {
  const id = ctx.url.searchParams.get('id') ?? '';
  const format = ctx.url.searchParams.get('exportFormat') ?? '';
  const f = visibleFile(ctx, id);
  if (!(f.mimeType in EXPORTABLE) || !EXPORT_MIME[format]) throw new ApiError(400, 'badRequest', `Export format ${format} is not available for ${f.mimeType}.`);
  if (!f.canDownload) throw new ApiError(403, 'cannotExportFile', 'The user does not have sufficient permissions to export this file.');
  if (f.exportTooLarge) throw new ApiError(403, 'exportSizeLimitExceeded', 'This file is too large to be exported.');
  const body = exportBytes(f, format);
  ctx.res.writeHead(200, { 'content-type': EXPORT_MIME[format], 'content-length': body.length });
  streamBody(ctx, Readable.from([body]), body.length);
}

/** GET /drive/v3/changes/startPageToken */
export function startPageToken(ctx: RouteContext): void {
  sendJson(ctx.res, { kind: 'drive#startPageToken', startPageToken: String(ctx.ws.nextSeq) }, ctx.url.searchParams.get('fields') ?? undefined);
}

/** GET /drive/v3/changes */
export function listChanges(ctx: RouteContext): void {
  const p = ctx.url.searchParams;
  const token = Number(p.get('pageToken'));
  if (!p.get('pageToken') || !Number.isInteger(token) || token < 1) throw new ApiError(400, 'required', 'Required parameter: pageToken');
  const driveId = p.get('driveId');
  const allDrives = p.get('includeItemsFromAllDrives') === 'true';
  const size = pageSize(p.get('pageSize'), 100);
  const out: Record<string, unknown>[] = [];
  let next: number | undefined;
  for (const c of ctx.ws.changes) {
    if (c.seq < token) continue;
    const f = ctx.ws.files.get(c.fileId);
    const relevant = driveId ? c.audience.includes(driveId) && c.audience.includes(ctx.user) : c.audience.includes(ctx.user) && (allDrives || !(f?.driveId ?? c.audience.some((a) => a.startsWith('0A'))));
    if (!relevant) continue;
    if (out.length >= size) { next = c.seq; break; }
    const visible = f && (ctx.ws.canSee(ctx.user, f) || (driveId !== null && f.driveId === driveId));
    out.push({
      kind: 'drive#change', changeType: 'file', time: c.time, fileId: c.fileId, removed: !visible,
      file: visible ? fileResource(ctx.ws, f, ctx.user, ctx.baseUrl) : undefined,
      driveId: f?.driveId,
    });
  }
  const body = next !== undefined
    ? { kind: 'drive#changeList', nextPageToken: String(next), changes: out }
    : { kind: 'drive#changeList', newStartPageToken: String(ctx.ws.nextSeq), changes: out };
  sendJson(ctx.res, body, p.get('fields') ?? DEFAULT_CHANGE_FIELDS);
}

/** GET /drive/v3/drives */
export function listDrives(ctx: RouteContext): void {
  const p = ctx.url.searchParams;
  const admin = p.get('useDomainAdminAccess') === 'true';
  if (admin && !ctx.ws.users.find((u) => u.primaryEmail === ctx.user)?.isAdmin) throw new ApiError(403, 'forbidden', 'The user is not a domain administrator.');
  const drives = ctx.ws.drives.filter((d) => admin || d.members.includes(ctx.user));
  const size = pageSize(p.get('pageSize'), 10);
  const offset = pageOffset(p.get('pageToken'));
  const page = drives.slice(offset, offset + size);
  sendJson(ctx.res, {
    kind: 'drive#driveList',
    nextPageToken: offset + size < drives.length ? Buffer.from(String(offset + size)).toString('base64url') : undefined,
    drives: page.map((d) => ({ kind: 'drive#drive', id: d.id, name: d.name, createdTime: d.createdTime })),
  }, p.get('fields') ?? undefined);
}

export const isFolder = (f: SampleFile) => f.mimeType === FOLDER_MIME;
