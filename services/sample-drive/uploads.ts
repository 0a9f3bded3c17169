/**
 * files.create and files.update on the sample Drive: metadata-only (folders, renames), uploadType=media,
 * multipart (multipart/related: JSON metadata part then the media part) and resumable sessions
 * (POST/PATCH metadata → Location with upload_id; PUT bytes, in one go or in Content-Range chunks).
 */
import { createHash, randomUUID } from 'node:crypto';
import { FOLDER_MIME } from '../../shared/drive/mimeTypes';
import type { RouteContext } from './driveApi';
import { visibleFile } from './driveApi';
import { ApiError, readBody, sendJson } from './http';
import { DEFAULT_FILE_FIELDS, fileResource } from './resources';

interface FileMeta {
  name?: string;
  mimeType?: string;
  parents?: string[];
  description?: string;
  modifiedTime?: string;
  trashed?: boolean;
}

interface Session {
  user: string;
  /** Set for a files.update session: the file that gets the new revision. */
  fileId?: string;
  meta: FileMeta;
  chunks: Buffer[];
  received: number;
  total?: number;
  fields?: string;
}

const sessions = new Map<string, Session>();

function parseMeta(buf: Buffer): FileMeta {
  if (buf.length === 0) return {};
  try {
    return JSON.parse(buf.toString('utf8')) as FileMeta;
  } catch {
    throw new ApiError(400, 'parseError', 'Parse Error');
  }
}

function createFile(ctx: RouteContext, user: string, meta: FileMeta, data: Buffer | undefined, mediaType: string | undefined, fields: string | null | undefined): void {
  const parent = meta.parents?.[0] ?? 'root';
  const parentFile = visibleFile({ ...ctx, user }, parent);
  const mimeType = meta.mimeType ?? (data ? mediaType ?? 'application/octet-stream' : 'application/octet-stream');
  if (data && mimeType === FOLDER_MIME) throw new ApiError(400, 'badContent', 'A folder cannot have content.');
  const file = ctx.ws.create({
    name: meta.name ?? 'Untitled',
    mimeType,
    owner: user,
    parent: parentFile.id,
    description: meta.description,
    driveId: parentFile.driveId,
  });
  if (data) {
    ctx.ws.update(file, (f) => ctx.ws.setContent(f, ctx.ws.storeUpload(data), createHash('md5').update(data).digest('hex')));
  }
  if (meta.modifiedTime) file.modifiedTime = meta.modifiedTime;
  sendJson(ctx.res, fileResource(ctx.ws, file, user, ctx.baseUrl), fields ?? DEFAULT_FILE_FIELDS);
}

/** files.update: new metadata and/or new content, as one new version with one change logged. */
function updateFile(ctx: RouteContext, user: string, id: string, meta: FileMeta, data: Buffer | undefined, fields: string | null | undefined): void {
  const uctx = { ...ctx, user };
  const file = visibleFile(uctx, id);
  if (!ctx.ws.canWrite(user, file)) throw new ApiError(403, 'insufficientFilePermissions', 'The user does not have sufficient permissions for this file.');
  if ((meta as { parents?: unknown }).parents !== undefined) {
    throw new ApiError(403, 'fieldNotWritable', 'The parents field is not directly writable in update requests. Use the addParents and removeParents parameters instead.');
  }
  if (data && (file.mimeType === FOLDER_MIME || !file.content)) throw new ApiError(400, 'badContent', 'The sample Drive only updates the content of binary files.');
  const add = ctx.url.searchParams.get('addParents')?.split(',').filter(Boolean).map((p) => visibleFile(uctx, p).id) ?? [];
  const remove = new Set(ctx.url.searchParams.get('removeParents')?.split(',').filter(Boolean) ?? []);
  ctx.ws.update(file, (f) => {
    if (meta.name !== undefined) f.name = meta.name;
    if (meta.mimeType !== undefined) f.mimeType = meta.mimeType;
    if (meta.description !== undefined) f.description = meta.description;
    if (meta.trashed !== undefined) f.trashed = meta.trashed;
    if (add.length || remove.size) f.parents = [...new Set([...f.parents.filter((p) => !remove.has(p)), ...add])];
    if (data) ctx.ws.setContent(f, ctx.ws.storeUpload(data), createHash('md5').update(data).digest('hex'));
  });
  if (meta.modifiedTime) file.modifiedTime = meta.modifiedTime;
  sendJson(ctx.res, fileResource(ctx.ws, file, user, ctx.baseUrl), fields ?? DEFAULT_FILE_FIELDS);
}

/** PATCH /drive/v3/files/{id} (metadata only). */
export async function updateMetadataOnly(ctx: RouteContext, id: string): Promise<void> {
  const meta = parseMeta(await readBody(ctx.req));
  updateFile(ctx, ctx.user, id, meta, undefined, ctx.url.searchParams.get('fields'));
}

/** POST /drive/v3/files (metadata only). */
export async function createMetadataOnly(ctx: RouteContext): Promise<void> {
  const meta = parseMeta(await readBody(ctx.req));
  createFile(ctx, ctx.user, meta, undefined, undefined, ctx.url.searchParams.get('fields'));
}

function splitMultipart(body: Buffer, contentType: string): { meta: FileMeta; data: Buffer; mediaType?: string } {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) throw new ApiError(400, 'badContent', 'Missing multipart boundary');
  const delim = Buffer.from(`--${m[1]}`);
  const parts: Buffer[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delim, start);
    if (next < 0) break;
    parts.push(body.subarray(start, next));
    pos = next;
  }
  const parsed = parts.map((p) => {
    const text = p.subarray(0, Math.min(p.length, 4096)).toString('latin1');
    const headerEnd = text.indexOf('\r\n\r\n');
    const headers = text.slice(0, headerEnd).toLowerCase();
    let bodyPart = p.subarray(headerEnd + 4);
    if (bodyPart.subarray(-2).toString() === '\r\n') bodyPart = bodyPart.subarray(0, -2);
    return { type: /content-type:\s*([^\r\n]+)/.exec(headers)?.[1]?.trim(), body: bodyPart };
  });
  if (parsed.length < 2) throw new ApiError(400, 'badContent', 'A multipart upload needs a metadata part and a media part');
  return { meta: parseMeta(parsed[0].body), data: parsed[1].body, mediaType: parsed[1].type };
}

/** Ends an upload: files.create, or files.update when the upload names an existing file. */
function finish(ctx: RouteContext, user: string, fileId: string | undefined, meta: FileMeta, data: Buffer, mediaType: string | undefined, fields: string | null | undefined): void {
  if (fileId) updateFile(ctx, user, fileId, meta, data, fields);
  else createFile(ctx, user, meta, data, mediaType, fields);
}

/** POST /upload/drive/v3/files, or PATCH /upload/drive/v3/files/{fileId} (update), ?uploadType=multipart|media|resumable */
export async function startUpload(ctx: RouteContext, fileId?: string): Promise<void> {
  const type = ctx.url.searchParams.get('uploadType');
  const fields = ctx.url.searchParams.get('fields');
  const body = await readBody(ctx.req);
  if (type === 'multipart') {
    const { meta, data, mediaType } = splitMultipart(body, ctx.req.headers['content-type'] ?? '');
    finish(ctx, ctx.user, fileId, meta, data, mediaType, fields);
  } else if (type === 'media') {
    finish(ctx, ctx.user, fileId, {}, body, ctx.req.headers['content-type'], fields);
  } else if (type === 'resumable') {
    // Check the target now, as Drive does, rather than after the bytes arrived.
    if (fileId) {
      const f = visibleFile(ctx, fileId);
      if (!ctx.ws.canWrite(ctx.user, f)) throw new ApiError(403, 'insufficientFilePermissions', 'The user does not have sufficient permissions for this file.');
    }
    const id = randomUUID();
    const total = ctx.req.headers['x-upload-content-length'];
    sessions.set(id, { user: ctx.user, fileId, meta: parseMeta(body), chunks: [], received: 0, total: total ? Number(total) : undefined, fields: fields ?? undefined });
    const path = fileId ? `upload/drive/v3/files/${encodeURIComponent(fileId)}` : 'upload/drive/v3/files';
    ctx.res.writeHead(200, { location: `${ctx.baseUrl}${path}?uploadType=resumable&upload_id=${id}`, 'content-length': 0 });
    ctx.res.end();
  } else {
    throw new ApiError(400, 'invalid', `Invalid value for uploadType: ${type}`);
  }
}

/** PUT (or POST) /upload/drive/v3/files[/{fileId}]?upload_id=... : bytes of a resumable session. */
export async function continueUpload(ctx: RouteContext, id: string): Promise<void> {
  const s = sessions.get(id);
  if (!s) throw new ApiError(404, 'notFound', 'Upload session not found or expired.');
  const body = await readBody(ctx.req);
  const cr = ctx.req.headers['content-range'];
  let total = s.total;
  if (cr) {
    const m = /^bytes (\*|(\d+)-(\d+))\/(\*|\d+)$/.exec(cr.trim());
    if (!m) throw new ApiError(400, 'badContent', `Bad Content-Range: ${cr}`);
    if (m[4] !== '*') total = Number(m[4]);
    if (m[2] !== undefined && Number(m[2]) !== s.received) throw new ApiError(400, 'badContent', `Chunk starts at ${m[2]}, expected ${s.received}`);
  } else {
    total = s.received + body.length;
  }
  if (body.length) { s.chunks.push(body); s.received += body.length; }
  s.total = total;
  if (total === undefined || s.received < total) {
    const headers: Record<string, string | number> = { 'content-length': 0 };
    if (s.received > 0) headers.range = `bytes=0-${s.received - 1}`;
    ctx.res.writeHead(308, headers);
    ctx.res.end();
    return;
  }
  sessions.delete(id);
  finish(ctx, s.user, s.fileId, s.meta, Buffer.concat(s.chunks), ctx.req.headers['content-type'], ctx.url.searchParams.get('fields') ?? s.fields);
}
