/**
 * GET /drive/v3/files/{id}/permissions of the sample server: a file's sharing, or a shared drive's
 * members (its id as fileId). As in Drive: a member (or, for a file, anyone who can see it) may
 * list them; with useDomainAdminAccess=true a domain administrator may list any shared drive's
 * members without being one (how xregion finds an organizer to impersonate).
 */
import { createHash } from 'node:crypto';
import type { RouteContext } from './driveApi';
import { visibleFile } from './driveApi';
import { ApiError, sendJson } from './http';

interface Permission {
  kind: 'drive#permission';
  id: string;
  type: 'user';
  emailAddress: string;
  role: string;
}

const DEFAULT_FIELDS = 'kind,nextPageToken,permissions(kind,id,type,role)';

function permission(email: string, role: string): Permission {
  // Drive's permission ids are opaque numbers per grantee; a hash of the address serves.
  const id = BigInt(`0x${createHash('sha1').update(email).digest('hex').slice(0, 15)}`).toString();
  return { kind: 'drive#permission', id, type: 'user', emailAddress: email, role };
}

/** The members of a shared drive or the grants of a file, as `ctx.user` may see them. */
export function listPermissions(ctx: RouteContext, fileId: string): void {
  const p = ctx.url.searchParams;
  const drive = ctx.ws.drives.find((d) => d.id === fileId);
  let perms: Permission[];
  if (drive) {
    const asAdmin = p.get('useDomainAdminAccess') === 'true';
    if (asAdmin && !ctx.ws.users.find((u) => u.primaryEmail === ctx.user)?.isAdmin) {
      throw new ApiError(403, 'insufficientAdministratorPrivileges', 'The user does not have sufficient administrator privileges for the shared drive.');
    }
    if (!asAdmin && !drive.members.includes(ctx.user)) throw new ApiError(404, 'notFound', `Shared drive not found: ${fileId}`);
    if (p.get('supportsAllDrives') !== 'true') throw new ApiError(404, 'notFound', `File not found: ${fileId}.`);
    perms = drive.members.map((m) => permission(m, drive.roles?.[m] ?? 'organizer'));
  } else {
    const f = visibleFile(ctx, fileId);
    perms = [...f.owners.map((o) => permission(o, 'owner')), ...f.sharedWith.map((u) => permission(u, f.writers?.includes(u) ? 'writer' : 'reader'))];
  }
  const size = Math.min(100, Number(p.get('pageSize') ?? 100));
  const offset = Number(p.get('pageToken') ?? 0);
  const page = perms.slice(offset, offset + size);
  sendJson(ctx.res, {
    kind: 'drive#permissionList',
    nextPageToken: offset + size < perms.length ? String(offset + size) : undefined,
    permissions: page,
  }, p.get('fields') ?? DEFAULT_FIELDS);
}
