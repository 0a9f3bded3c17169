/** Google Drive MIME types and the export formats xregion maps them to. */
import type { DriveSource } from '../config';

export const FOLDER_MIME = 'application/vnd.google-apps.folder';
export const SHORTCUT_MIME = 'application/vnd.google-apps.shortcut';
export const GOOGLE_APPS_PREFIX = 'application/vnd.google-apps.';

/** Google-native kinds that can be exported, keyed by their MIME type. */
export const EXPORTABLE: Record<string, keyof DriveSource['export_formats']> = {
  'application/vnd.google-apps.document': 'document',
  'application/vnd.google-apps.spreadsheet': 'spreadsheet',
  'application/vnd.google-apps.presentation': 'presentation',
  'application/vnd.google-apps.drawing': 'drawing',
};

/** Export format (config name) → MIME type Drive's exportLinks are keyed by. */
export const EXPORT_MIME: Record<string, string> = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  odt: 'application/vnd.oasis.opendocument.text',
  pdf: 'application/pdf',
  rtf: 'application/rtf',
  txt: 'text/plain',
  html: 'text/html',
  epub: 'application/epub+zip',
  md: 'text/markdown',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odp: 'application/vnd.oasis.opendocument.presentation',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
};

/** Export MIME types Drive offers per native kind (the sample server's exportLinks). */
export const EXPORT_CHOICES: Record<keyof DriveSource['export_formats'], string[]> = {
  document: ['docx', 'odt', 'pdf', 'rtf', 'txt', 'html', 'epub', 'md'],
  spreadsheet: ['xlsx', 'ods', 'pdf', 'csv', 'tsv'],
  presentation: ['pptx', 'odp', 'pdf', 'txt'],
  drawing: ['svg', 'png', 'jpg', 'pdf'],
};

/** True for Google-native types that have no downloadable bytes and no export (Forms, Sites, My Maps, ...). */
export function isRecordOnly(mimeType: string): boolean {
  return mimeType.startsWith(GOOGLE_APPS_PREFIX) && mimeType !== FOLDER_MIME && !(mimeType in EXPORTABLE);
}
