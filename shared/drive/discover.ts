/**
 * Who a run backs up, as Google serves it: the Workspace account's users (Directory `users.list`
 * with customer=my_customer, so secondary domains are included, or once per configured domain),
 * or the configured list; and the shared drives (drives.list with domain-admin access), each read
 * as `admin_subject` when it is a member, otherwise as a member found through permissions.list
 * with useDomainAdminAccess (an organizer first), or recorded with the reason no one could be.
 */
import type { DriveSource } from '../config';
import type { AuthFactory } from './credentials';
import type { DriveApi } from './DriveApi';
import { DriveApiError, DriveAuthError } from './errors';
import { escapeName } from './paths';
import type { Subject } from './UserIngest';

/** What the Directory says about the account's people (undefined entries: not listed). */
export interface Directory {
  users: Map<string, { suspended: boolean; archived: boolean }>;
  /** The account's domains as seen in its users' addresses, and the source's own domain. */
  domains: Set<string>;
  /** False when the Directory could not be listed: inside/outside is then judged by domain alone. */
  listed: boolean;
}

export interface Discovery {
  subjects: Subject[];
  /** Users not backed up and why (suspended, archived, disabled by user_overrides). */
  skipped: { email: string; reason: string }[];
  /** Shared drives no one could be impersonated to read. */
  unreadable: { subject: Subject; reason: string }[];
  /** How a subject is read when that is worth saying (a shared drive read as one of its members). */
  notes: Map<string, string>;
  directory: Directory;
  /** Lower-case e-mails of every user the source backs up (before --user narrows the run). */
  backedUp: Set<string>;
}

/** Shared-drive roles in the order a reader is picked (an organizer can see everything). */
const ROLE_ORDER = ['organizer', 'fileOrganizer', 'writer', 'commenter', 'reader'];

const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

/** Why a person cannot be impersonated ('' when they can). */
export function whyNotImpersonable(email: string, dir: Directory): string {
  const u = dir.users.get(email.toLowerCase());
  if (u) return u.suspended ? 'suspended' : u.archived ? 'archived' : '';
  if (!dir.domains.has(domainOf(email))) return 'outside the Workspace';
  return dir.listed ? 'not in the Directory (deleted?)' : '';
}

async function listDirectory(s: DriveSource, admin: DriveApi | undefined): Promise<{ dir: Directory; all: { email: string; suspended: boolean; archived: boolean }[] }> {
  const dir: Directory = { users: new Map(), domains: new Set([s.domain.toLowerCase()]), listed: false };
  const all: { email: string; suspended: boolean; archived: boolean }[] = [];
  if (!admin) return { dir, all };
  try {
    const pages = s.user_domains === 'all' ? [await admin.listUsers()] : await Promise.all(s.user_domains.map((d) => admin.listUsers(d)));
    for (const u of pages.flat()) {
      if (!u.primaryEmail) continue;
      const entry = { email: u.primaryEmail, suspended: !!u.suspended, archived: !!u.archived };
      all.push(entry);
      dir.users.set(u.primaryEmail.toLowerCase(), entry);
      dir.domains.add(domainOf(u.primaryEmail));
    }
    dir.listed = true;
  } catch (err) {
    // With users "all" the listing is the run; with a list of users it only sharpens what is
    // inside the Workspace, so a Directory the admin may not read leaves the domain rule.
    if (s.users === 'all' || err instanceof DriveAuthError || !(err instanceof DriveApiError) || err.retryable) throw err;
  }
  return { dir, all };
}

/** Resolves which subjects to back up, and which users and drives are left out and why. */
export async function discoverSubjects(s: DriveSource, userFilter: string | undefined, auth: AuthFactory, api: (subject: string) => DriveApi): Promise<Discovery> {
  const skipped: { email: string; reason: string }[] = [];
  const unreadable: { subject: Subject; reason: string }[] = [];
  const notes = new Map<string, string>();
  if (!auth.singleUser && s.users === 'all' && !s.admin_subject) throw new Error(`drive source ${s.name}: users "all" needs admin_subject to list the domain's users`);
  const admin = !auth.singleUser && s.admin_subject ? api(s.admin_subject) : undefined;
  const { dir, all } = await listDirectory(s, admin);
  let emails: string[];
  if (auth.singleUser) {
    emails = [userFilter ?? (s.users !== 'all' ? s.users[0] : await api('me').whoAmI())];
  } else if (s.users === 'all') {
    emails = [];
    for (const u of all) {
      if (u.suspended || u.archived) skipped.push({ email: u.email, reason: u.suspended ? 'suspended' : 'archived' });
      else emails.push(u.email);
    }
  } else {
    emails = [...s.users];
  }
  const backedUp = new Set(emails.filter((e) => s.user_overrides[e]?.enabled !== false).map((e) => e.toLowerCase()));
  if (userFilter) {
    if (!emails.includes(userFilter) && !auth.singleUser) throw new Error(`user ${userFilter} is not among the users of drive source ${s.name}`);
    emails = [userFilter];
    skipped.length = 0;
  }
  const subjects: Subject[] = [];
  for (const email of emails) {
    if (s.user_overrides[email]?.enabled === false) skipped.push({ email, reason: 'disabled by user_overrides' });
    else subjects.push({ id: email, email, ownerSegment: email, label: email });
  }
  if (s.shared_drives && admin && !userFilter && s.admin_subject) {
    const drives = (await admin.listSharedDrives(true)).filter((d) => !!d.id);
    const memberOf = new Set((await admin.listSharedDrives(false)).map((d) => d.id));
    // Shared-drive names are not unique: two drives of one name get their ids appended, so their
    // keys never collide (a unique name keeps the plain segment, so existing keys do not move).
    const seen = new Map<string, number>();
    const seg = (d: { id?: string | null; name?: string | null }) => escapeName(d.name ?? d.id!);
    for (const d of drives) seen.set(seg(d), (seen.get(seg(d)) ?? 0) + 1);
    for (const d of drives) {
      const name = d.name ?? d.id!;
      const segment = (seen.get(seg(d)) ?? 0) > 1 ? `${name} [${d.id}]` : name;
      const subject: Subject = { id: `shared-drive:${d.id}`, email: s.admin_subject, driveId: d.id!, ownerSegment: `shared-drives/${escapeName(segment)}`, label: `shared drive ${segment}` };
      if (memberOf.has(d.id)) { subjects.push(subject); continue; }
      const reader = await driveReader(d.id!, s.admin_subject, admin, dir);
      if ('reason' in reader) unreadable.push({ subject, reason: reader.reason });
      else {
        subjects.push({ ...subject, email: reader.email });
        notes.set(subject.id, reader.note);
      }
    }
  }
  return { subjects, skipped, unreadable, notes, directory: dir, backedUp };
}

/** A member to read a shared drive as, when the admin is not one; or why there is none. */
async function driveReader(driveId: string, adminEmail: string, admin: DriveApi, dir: Directory): Promise<{ email: string; note: string } | { reason: string }> {
  let members;
  try {
    members = await admin.listDriveMembers(driveId, true);
  } catch (err) {
    if (err instanceof DriveApiError && !err.retryable && !(err instanceof DriveAuthError)) {
      return { reason: `${adminEmail} is not a member and its members cannot be listed with domain-admin access (${err.message})` };
    }
    throw err;
  }
  const people = members
    .filter((m) => m.type === 'user' && m.emailAddress && !m.deleted)
    .sort((a, b) => ROLE_ORDER.indexOf(a.role ?? '') - ROLE_ORDER.indexOf(b.role ?? ''));
  const refused: string[] = [];
  for (const m of people) {
    const why = whyNotImpersonable(m.emailAddress!, dir);
    if (!why) return { email: m.emailAddress!, note: `read as ${m.emailAddress} (${m.role}): ${adminEmail} is not a member` };
    refused.push(`${m.emailAddress} (${m.role}, ${why})`);
  }
  return {
    reason: people.length === 0
      ? `no member of this shared drive can be impersonated: it has no user members (${adminEmail} is not a member); add one, or make ${adminEmail} a member`
      : `no member of this shared drive can be impersonated: ${refused.join(', ')}; add an active member of the Workspace, or make ${adminEmail} a member`,
  };
}
