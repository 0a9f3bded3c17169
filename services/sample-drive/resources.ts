/** Drive v3 JSON resources (drive#file, drive#change, ...) built from the workspace model. */
import { FOLDER_MIME } from '../../shared/drive/mimeTypes';
import type { SampleFile, Workspace } from './Workspace';

/** The full drive#file resource as `user` sees it; `fields` trims it later. */
export function fileResource(ws: Workspace, f: SampleFile, user: string, baseUrl: string): Record<string, unknown> {
  const isBinary = !!f.content;
  const owner = ws.users.find((u) => f.owners.includes(u.primaryEmail));
  return {
    kind: 'drive#file',
    id: f.id,
    name: f.name,
    mimeType: f.mimeType,
    description: f.description,
    parents: f.parents.length ? f.parents : undefined,
    owners: f.owners.map((e) => ({ kind: 'drive#user', emailAddress: e, displayName: ws.users.find((u) => u.primaryEmail === e)?.fullName ?? e, me: e === user })),
    ownedByMe: f.owners.includes(user),
    createdTime: f.createdTime,
    modifiedTime: f.modifiedTime,
    trashed: f.trashed,
    explicitlyTrashed: f.trashed,
    version: String(f.version),
    size: isBinary ? String(f.size) : undefined,
    quotaBytesUsed: String(isBinary ? f.size : 0),
    md5Checksum: isBinary ? f.md5Checksum : undefined,
    headRevisionId: isBinary ? f.headRevisionId : undefined,
    driveId: f.driveId,
    teamDriveId: f.driveId,
    exportLinks: ws.exportLinks(f, baseUrl),
    webViewLink: f.mimeType === FOLDER_MIME ? `https://drive.google.com/drive/folders/${f.id}` : `https://drive.google.com/file/d/${f.id}/view`,
    shortcutDetails: f.shortcutDetails,
    capabilities: {
      canDownload: f.canDownload,
      canEdit: ws.canWrite(user, f),
      canCopy: f.canDownload,
      canListChildren: f.mimeType === FOLDER_MIME,
    },
    lastModifyingUser: owner ? { kind: 'drive#user', emailAddress: owner.primaryEmail, displayName: owner.fullName } : undefined,
  };
}

/** Default partial response when a request gives no `fields` (Drive v3 behaviour). */
export const DEFAULT_FILE_FIELDS = 'kind,id,name,mimeType';
export const DEFAULT_LIST_FIELDS = 'kind,incompleteSearch,nextPageToken,files(kind,id,name,mimeType)';
export const DEFAULT_CHANGE_FIELDS = 'kind,nextPageToken,newStartPageToken,changes(kind,changeType,time,removed,fileId,file(kind,id,name,mimeType))';
