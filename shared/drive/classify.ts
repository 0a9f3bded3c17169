/** What to do with one Drive file: download, export, write a JSON record, or record why not. */
import type { DriveSource } from '../config';
import type { DriveFile } from './DriveApi';
import { EXPORT_MIME, EXPORTABLE, SHORTCUT_MIME } from './mimeTypes';
import { escapeName, exportMime, exportName, matchesPattern } from './paths';

export type Plan =
  | { kind: 'binary'; name: string; contentType: string }
  | { kind: 'export'; name: string; contentType: string; link: string; format: string }
  | { kind: 'record'; name: string; contentType: string }
  | { kind: 'unavailable'; name: string; reason: string };

/** Record-only kinds and the suffix of their JSON record. */
const RECORD_SUFFIX: Record<string, string> = {
  'application/vnd.google-apps.form': 'form',
  'application/vnd.google-apps.site': 'site',
  'application/vnd.google-apps.map': 'map',
  'application/vnd.google-apps.shortcut': 'shortcut',
  'application/vnd.google-apps.jam': 'jam',
};

/** Decides the content kind and escaped stored name of a (non-folder) file. */
export function planFile(f: DriveFile, formats: DriveSource['export_formats']): Plan {
  const mime = f.mimeType ?? 'application/octet-stream';
  const name = escapeName(f.name ?? f.id ?? 'untitled');
  const kind = EXPORTABLE[mime];
  if (kind) {
    const format = formats[kind];
    const stored = exportName(name, format);
    if (f.capabilities?.canDownload === false) return { kind: 'unavailable', name: stored, reason: 'capabilities.canDownload is false' };
    const link = f.exportLinks?.[EXPORT_MIME[format]];
    if (!link) return { kind: 'unavailable', name: stored, reason: `no export link for ${format}` };
    return { kind: 'export', name: stored, contentType: exportMime(format), link, format };
  }
  if (mime.startsWith('application/vnd.google-apps.') || mime === SHORTCUT_MIME) {
    return { kind: 'record', name: `${name}.${RECORD_SUFFIX[mime] ?? 'gapps'}.json`, contentType: 'application/json' };
  }
  if (f.capabilities?.canDownload === false) return { kind: 'unavailable', name, reason: 'capabilities.canDownload is false' };
  return { kind: 'binary', name, contentType: mime };
}

export interface Rules {
  exclude: string[];
  /** 0 = no limit. */
  maxBytes: number;
}

/** The exclusion rule a file falls under, or undefined. */
export function ruleReason(f: DriveFile, path: string, rules: Rules): string | undefined {
  const name = f.name ?? '';
  for (const p of rules.exclude) if (matchesPattern(p, name, path)) return `excluded by pattern ${p}`;
  const size = Number(f.size ?? 0);
  if (rules.maxBytes > 0 && size > rules.maxBytes) return `larger than max_file_size_mb (${size} bytes)`;
  return undefined;
}

/** The small JSON record that stands in for a Form, Site, My Map or shortcut. */
export function recordBody(f: DriveFile): Buffer {
  return Buffer.from(
    JSON.stringify(
      {
        id: f.id, name: f.name, mimeType: f.mimeType, webViewLink: f.webViewLink, modifiedTime: f.modifiedTime,
        owners: f.owners?.map((o) => o.emailAddress), shortcutTarget: f.shortcutDetails ?? undefined,
        note: 'Google Drive offers no download or export for this type; xregion keeps this record of it.',
      },
      null,
      2,
    ),
  );
}

/** Revision marker of the stored copy: md5 for binaries, version for native files. */
export function revisionOf(f: DriveFile): string {
  return f.md5Checksum ?? f.headRevisionId ?? f.version ?? f.modifiedTime ?? '';
}
