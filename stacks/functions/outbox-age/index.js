/**
 * The outbox-age check (a scheduled Lambda of each source stack; plain CommonJS on the Lambda
 * runtime's bundled AWS SDK, so synth needs no bundler). It lists the archives under each rule
 * prefix of the outbox and HEADs those older than MIN_AGE_HOURS: an archive whose replication
 * status is not COMPLETED by then (PENDING, FAILED, or none: created before a rule covered it)
 * has not reached every target region, and the outbox expires it after 14 days. The count is
 * emitted as an EMF metric in the function's own log (no cloudwatch:PutMetricData permission),
 * and the first keys are logged for the operator.
 */
'use strict';

const SUFFIX = '.tar.zst';
const DONE = new Set(['COMPLETED', 'COMPLETE']);
const LOGGED_KEYS = 20;

/**
 * Checks the outbox with an S3 client (`send(command)`) and command constructors; returns the
 * archives checked and those not replicated. Pure apart from the client, for the tests.
 */
async function check(s3, commands, { bucket, prefixes, minAgeHours, now }) {
  const cutoff = now - minAgeHours * 3600 * 1000;
  const unreplicated = [];
  let checked = 0;
  for (const prefix of prefixes) {
    let token;
    do {
      const page = await s3.send(new commands.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        if (!o.Key.endsWith(SUFFIX) || new Date(o.LastModified).getTime() > cutoff) continue;
        checked++;
        const head = await s3.send(new commands.HeadObjectCommand({ Bucket: bucket, Key: o.Key }));
        if (!DONE.has(head.ReplicationStatus ?? '')) {
          unreplicated.push({ key: o.Key, status: head.ReplicationStatus ?? 'NONE', ageHours: Math.floor((now - new Date(o.LastModified).getTime()) / 3600000) });
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  return { checked, unreplicated };
}

/** The EMF log line of one run (namespace xregion, dimensions service and bucket). */
function emf(bucket, result, now) {
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: 'xregion',
          Dimensions: [['service', 'bucket']],
          Metrics: [
            { Name: 'OutboxArchivesUnreplicated', Unit: 'Count' },
            { Name: 'OutboxArchivesChecked', Unit: 'Count' },
          ],
        },
      ],
    },
    service: 'outbox-check',
    bucket,
    OutboxArchivesUnreplicated: result.unreplicated.length,
    OutboxArchivesChecked: result.checked,
    unreplicated: result.unreplicated.slice(0, LOGGED_KEYS),
  });
}

/** Lambda entry: settings from the environment (OUTBOX_BUCKET, ARCHIVE_PREFIXES as JSON, MIN_AGE_HOURS). */
async function handler() {
  const commands = require('@aws-sdk/client-s3');
  const bucket = process.env.OUTBOX_BUCKET;
  const prefixes = JSON.parse(process.env.ARCHIVE_PREFIXES);
  const now = Date.now();
  const result = await check(new commands.S3Client({}), commands, { bucket, prefixes, minAgeHours: Number(process.env.MIN_AGE_HOURS), now });
  console.log(emf(bucket, result, now));
  return { checked: result.checked, unreplicated: result.unreplicated.length };
}

module.exports = { check, emf, handler };
