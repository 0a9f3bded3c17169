/**
 * Every bucket, queue and key-prefix name of a deployment, formatted in this one place. The AWS
 * stacks and the local appliance both take their names from here (through the topology model),
 * so the two renderings of one config cannot disagree.
 */
import { createHash } from 'node:crypto';
import type { ReplicationRule } from '../config/schema';

/** The region's inbound staging bucket: what other regions replicate into, and what its router reads. */
export function stagingBucketName(stackName: string, account: string, region: string): string {
  return `${stackName}-${account}-${region}-staging`;
}

/**
 * The region's outbound staging bucket (the outbox): where its compressors write and from which
 * S3 replicates. Separate from the inbound staging bucket so a region that is both a source and
 * a target never routes its own outbound archives nor replicates inbound ones again.
 */
export function outboxBucketName(stackName: string, account: string, region: string): string {
  return `${stackName}-${account}-${region}-outbox`;
}

/** The catalog bucket (JSONL rows) of a region with a backup destination. */
export function catalogBucketName(stackName: string, account: string, region: string): string {
  return `${stackName}-${account}-${region}-catalog`;
}

/** Inbound staging-bucket prefix under which the router parks archives it refuses to route. */
export const QUARANTINE_PREFIX = 'quarantine/';

/** Prefix (in staging and outbox buckets) of xregion's own records; never replicated, never routed. */
export const RECORDS_PREFIX = '_xregion/';

/** Inbound staging-bucket prefix of the router's delivery records (one per archive × destination). */
export const DELIVERY_RECORDS_PREFIX = `${RECORDS_PREFIX}deliveries/`;

/** Outbox prefix of the compressor's batch records (an intent before each upload, a record after it). */
export const BATCH_RECORDS_PREFIX = `${RECORDS_PREFIX}batches/`;

/**
 * Outbox key of the batch record of the archive at `stagingKey`: the compressor's commit, written
 * once the archive is uploaded and read back. The local replicator moves only committed archives.
 */
export function batchRecordKey(stagingKey: string): string {
  return `${BATCH_RECORDS_PREFIX}${stagingKey}.json`;
}

/** Outbox key of the batch intent of the archive at `stagingKey`: its event items, written before the upload starts. */
export function batchIntentKey(stagingKey: string): string {
  return `${BATCH_RECORDS_PREFIX}${stagingKey}.intent.json`;
}

/**
 * Days the records are kept (a lifecycle rule on AWS, a sweep at start locally): each must outlive
 * any redelivery of the messages it answers, and SQS keeps a message at most 14 days.
 */
export const RECORD_RETENTION_DAYS = { batches: 15, deliveries: 30 } as const;

/** Staging (outbox and inbound) key prefix of a rule's archives: `{source_bucket}/{prefix_filter}`, no double slashes. */
export function stagingPrefix(rule: ReplicationRule): string {
  return `${rule.source.bucket}/${rule.source.prefix_filter.replace(/^\/+/, '')}`.replace(/\/{2,}/g, '/');
}

/** A stable id of a rule for queue names: a short hash of (bucket, prefix, suffix), then the source bucket for people to read. */
export function ruleSlug(rule: ReplicationRule): string {
  const hash = createHash('sha256').update(`${rule.source.bucket}\u0000${rule.source.prefix_filter}\u0000${rule.source.suffix_filter}`).digest('hex').slice(0, 8);
  // SQS names allow [A-Za-z0-9_-]: bucket names may hold dots.
  return `${hash}-${rule.source.bucket.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/**
 * Queue name of a rule's compressor: unique per deployment (the hash comes first, so cutting a
 * long bucket name never makes two rules' names equal), at most 76 characters so that its
 * dead-letter queue's name stays within SQS's 80.
 */
export function compressorQueueName(stackName: string, rule: ReplicationRule): string {
  return `${stackName}-compressor-${ruleSlug(rule)}`.slice(0, 76);
}

/** Queue name of a region's router. */
export function routerQueueName(stackName: string, region: string): string {
  return `${stackName}-router-${region}`;
}

/** The dead-letter queue's name of a queue. */
export function deadLetterQueueName(queueName: string): string {
  return `${queueName}-dlq`;
}
