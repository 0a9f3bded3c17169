/**
 * Files a subject can see but does not own. Left out, they were never backed up nor recorded
 * (partners' files, suspended or departed staff's, users left out of `users`). Now each ends in
 * one state:
 * - owned by a subject this source backs up: stored under that owner (its own run covers it);
 * - owned by someone else: backed up once, under one subject that can see it, with the real owner
 *   in the metadata (`not_owned.internal`/`external` = "backup"), or recorded as `not_owned` with
 *   the owner ("record"). Inside the Workspace (suspended, departed, unlisted) the default is
 *   backup: it is the organisation's data. Outside (partners) it is record: copying another
 *   organisation's data is a privacy decision for the administrator.
 * Subjects running at once agree on one copy per file id through a claim object created with
 * If-None-Match: * in the state store; a claim whose subject is no longer backed up is taken over.
 */
import type { DriveSource } from '../config';
import { readJsonObject, writeJsonObject } from '../storage/jsonObject';
import { NoSuchObjectError, PreconditionFailedError } from '../storage/errors';
import type { ObjectStore } from '../storage/port';
import type { Directory } from './discover';
import type { DriveFile } from './DriveApi';
import { DriveStateError } from './errors';
import { STATE_ROOT } from './UserState';

export type OwnerDecision =
  | { kind: 'own' }
  /** Backed up under its owner, another subject of this source (or under the subject holding its claim). */
  | { kind: 'elsewhere'; owner: string; by: string }
  | { kind: 'backup'; owner: string }
  | { kind: 'record'; owner: string; reason: string };

interface Claim {
  subject: string;
  owner: string;
  runId: string;
  claimedAt: string;
}

/** Where the claim of one not-owned file lives (outside any subject's state folder). */
export const claimKey = (source: string, fileId: string): string => `${STATE_ROOT}${source}/_claims/${encodeURIComponent(fileId)}.json`;

const domainOf = (email: string): string => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

/** One run's view of who owns what: the policy, the backed-up set and the claims it made. */
export class OwnerSelection {
  private readonly claims = new Map<string, Promise<string>>();

  constructor(
    private readonly source: DriveSource,
    private readonly store: ObjectStore,
    private readonly directory: Directory,
    /** Lower-case e-mails of every user this source backs up (whatever --user limits this run to). */
    private readonly backedUp: Set<string>,
    private readonly runId: string,
    private readonly dryRun: boolean,
  ) {}

  /** Whether an owner belongs to the Workspace account (a user, or an address in one of its domains). */
  inside(owner: string): boolean {
    return this.directory.users.has(owner.toLowerCase()) || this.directory.domains.has(domainOf(owner));
  }

  /** What `subject` (a user) does with a file it sees. */
  async decide(f: DriveFile, subject: string): Promise<OwnerDecision> {
    const owner = f.owners?.[0]?.emailAddress ?? '';
    if (f.driveId) {
      // A shared drive's files belong to the drive (its own subject), never to a member's My Drive.
      if (this.source.shared_drives) return { kind: 'elsewhere', owner: `shared-drive:${f.driveId}`, by: `shared-drive:${f.driveId}` };
      return { kind: 'record', owner: `shared-drive:${f.driveId}`, reason: `in shared drive ${f.driveId}; shared_drives is false, so no shared drive is backed up` };
    }
    if (f.ownedByMe || owner.toLowerCase() === subject.toLowerCase()) return { kind: 'own' };
    if (!owner) return { kind: 'record', owner: 'unknown', reason: 'Drive names no owner for this file' };
    if (this.backedUp.has(owner.toLowerCase())) return { kind: 'elsewhere', owner, by: owner };
    const inside = this.inside(owner);
    const policy = inside ? this.source.not_owned.internal : this.source.not_owned.external;
    if (policy === 'record') {
      const who = inside ? `${owner}, inside the Workspace but not backed up (${this.why(owner)})` : `${owner}, outside the Workspace`;
      return { kind: 'record', owner, reason: `owned by ${who}; not_owned.${inside ? 'internal' : 'external'} is "record"` };
    }
    const holder = await this.claim(f.id ?? '', subject, owner);
    return holder === subject ? { kind: 'backup', owner } : { kind: 'elsewhere', owner, by: holder };
  }

  private why(owner: string): string {
    const u = this.directory.users.get(owner.toLowerCase());
    if (u) return u.suspended ? 'suspended' : u.archived ? 'archived' : 'not among users';
    return this.directory.listed ? 'not in the Directory: departed?' : 'not among users';
  }

  /** The subject that backs this file up: this one if its claim wins (cached per run). */
  private claim(fileId: string, subject: string, owner: string): Promise<string> {
    let p = this.claims.get(fileId);
    if (!p) {
      p = this.dryRun ? Promise.resolve(subject) : this.claimInStore(fileId, subject, owner);
      this.claims.set(fileId, p);
    }
    return p;
  }

  private async claimInStore(fileId: string, subject: string, owner: string): Promise<string> {
    const bucket = this.source.target.bucket;
    const key = claimKey(this.source.name, fileId);
    const mine: Claim = { subject, owner, runId: this.runId, claimedAt: new Date().toISOString() };
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await writeJsonObject(this.store, bucket, key, mine, { ifNoneMatch: '*' });
          return subject;
        } catch (err) {
          if (!(err instanceof PreconditionFailedError)) throw err;
        }
        const held = await readJsonObject(this.store, bucket, key);
        if (!held) continue; // removed meanwhile: claim again
        const other = (held.value as Claim).subject;
        if (other === subject || this.backedUp.has(other.toLowerCase())) return other;
        // Its subject is no longer backed up (removed from users, suspended): take the file over.
        try {
          await writeJsonObject(this.store, bucket, key, mine, { ifMatch: held.etag });
          return subject;
        } catch (err) {
          if (!(err instanceof PreconditionFailedError || err instanceof NoSuchObjectError)) throw err;
        }
      }
      throw new Error('the claim changed hands three times');
    } catch (err) {
      throw new DriveStateError(`cannot claim not-owned file ${fileId} (s3://${bucket}/${key}): ${(err as Error).message}`, { cause: err });
    }
  }
}
