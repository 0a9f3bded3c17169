/** Typed errors of the archive engine. Every error names the archive/member and the check that failed. */

/** Which integrity check an archive failed. */
export type ArchiveCheck =
  | 'sha256'
  | 'size'
  | 'zstd'
  | 'seek-table'
  | 'manifest'
  | 'index'
  | 'tar-header'
  | 'truncated';

/** Base class of every archive error. */
export class ArchiveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArchiveError';
  }
}

/** The archive's bytes disagree with themselves (checksums, sizes, structure). Permanent. */
export class ArchiveCorruptError extends ArchiveError {
  readonly archive: string | undefined;
  readonly member: string | undefined;
  readonly check: ArchiveCheck;

  constructor(
    ctx: { archive?: string; member?: string; check: ArchiveCheck },
    detail: string,
    options?: { cause?: unknown },
  ) {
    const where = [ctx.archive, ctx.member !== undefined ? `member ${ctx.member}` : undefined]
      .filter((s): s is string => s !== undefined)
      .join(': ');
    super(`${where ? `${where}: ` : ''}${detail}`, options);
    this.name = 'ArchiveCorruptError';
    this.archive = ctx.archive;
    this.member = ctx.member;
    this.check = ctx.check;
  }
}

/** A member name is absolute, has a `..` segment, a NUL, or is empty: refused on write and on read. */
export class UnsafeMemberNameError extends ArchiveError {
  constructor(
    readonly memberName: string,
    readonly reason: string,
    readonly archive?: string,
  ) {
    super(`${archive ? `${archive}: ` : ''}unsafe member name ${JSON.stringify(memberName)}: ${reason}`);
    this.name = 'UnsafeMemberNameError';
  }
}

/** A member body delivered a different number of bytes than the size declared up front. */
export class MemberSizeMismatchError extends ArchiveError {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`member ${key}: body has ${actual > expected ? 'more than ' : ''}${actual} bytes, declared size ${expected}`);
    this.name = 'MemberSizeMismatchError';
  }
}

/** A second member with a key or relative key the archive already holds: every reader refuses such a manifest, so the writer does too. */
export class DuplicateMemberError extends ArchiveError {
  constructor(
    readonly archive: string,
    readonly field: 'key' | 'relative_key',
    readonly value: string,
  ) {
    super(`${archive}: ${field} ${JSON.stringify(value)} is already in the archive`);
    this.name = 'DuplicateMemberError';
  }
}

/** The writer was used out of order (after finish, concurrently, or after an earlier failure). */
export class ArchiveWriterStateError extends ArchiveError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArchiveWriterStateError';
  }
}

/** A member asked for by name is not in the archive's manifest. */
export class NoSuchMemberError extends ArchiveError {
  constructor(
    readonly archive: string | undefined,
    readonly member: string,
  ) {
    super(`${archive ? `${archive}: ` : ''}no member ${JSON.stringify(member)} in the manifest`);
    this.name = 'NoSuchMemberError';
  }
}
