/** The audit report of `xregion verify`: what was checked and every finding. */

/** What a finding is about. */
export type FindingKind =
  | 'no-archives' // nothing to audit under the bucket/prefix (archive = the s3:// URL)
  | 'archive-unreadable' // seek table or manifest does not parse, or the archive cannot be read
  | 'member-corrupt' // a member's bytes disagree with the manifest (sha256, size, zstd, tar header)
  | 'catalog-row-missing' // a manifest object has no catalog row
  | 'catalog-row-extra' // a catalog row names an object the archive's manifest does not hold
  | 'catalog-row-differs' // a catalog row disagrees with the manifest
  | 'catalog-archive-missing' // catalog rows point at an archive that no longer exists
  | 'catalog-row-unreadable' // a catalog line is not a JSON object (archive = the catalog file, member = the line)

export interface Finding {
  kind: FindingKind;
  archive: string;
  member?: string;
  /** The failed check (ArchiveCheck or 'member-name' for archive findings; column names for catalog-row-differs). */
  check?: string;
  detail: string;
}

export interface VerifyReport {
  bucket: string;
  prefix: string;
  mode: 'full' | 'sample';
  startedAt: string;
  finishedAt: string;
  archives: number;
  membersChecked: number;
  bytesChecked: number;
  catalogRows: number;
  catalogChecked: boolean;
  findings: Finding[];
  ok: boolean;
}

/** One paragraph for humans: counts, then one line per finding. */
export function formatSummary(r: VerifyReport): string {
  const lines = [
    `verify s3://${r.bucket}/${r.prefix} (${r.mode}): ${r.archives} archives, ${r.membersChecked} members (${r.bytesChecked} bytes) checked` +
      (r.catalogChecked ? `, ${r.catalogRows} catalog rows compared` : ', catalog not checked'),
  ];
  if (r.ok) lines.push('OK: no findings');
  else {
    lines.push(`${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}:`);
    for (const f of r.findings) lines.push(`  ${f.kind}: ${f.archive}${f.member ? ` member ${f.member}` : ''}${f.check ? ` [${f.check}]` : ''}: ${f.detail}`);
  }
  return `${lines.join('\n')}\n`;
}
