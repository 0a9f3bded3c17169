/**
 * verify: audits of backup destinations for auditors. Owns checking archives against their own
 * seek tables and manifests (every member's sha256, or a random sample through ranged reads),
 * the catalog against the manifests, and the JSON report with its printed summary.
 */
export { verifyBackup, type VerifyOptions } from './verifyBackup';
export { formatSummary, type Finding, type FindingKind, type VerifyReport } from './report';
