/**
 * S3 event notification JSON (the body S3 sends to SQS): parse it, and build it (the local
 * ObjectStore emits the same JSON so consumers cannot tell the two apart).
 * Format: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
import { MalformedEventError } from './errors';

/** One decoded record of an S3 event notification. */
export interface S3EventRecord {
  /** Without the `s3:` prefix, e.g. `ObjectCreated:Put`. */
  eventName: string;
  eventTime: string;
  awsRegion: string;
  bucket: string;
  /** Decoded key (`+` is a space, `%XX` decoded). */
  key: string;
  /** Absent on delete events. */
  size?: number;
  /** Without quotes; absent on delete events. */
  etag?: string;
  versionId?: string;
  sequencer?: string;
  configurationId?: string;
}

/** What an adapter needs to build one record. */
export interface S3EventInput {
  eventName: string;
  eventTime?: Date;
  awsRegion: string;
  bucket: string;
  key: string;
  size: number;
  etag: string;
  versionId?: string;
  sequencer?: string;
  configurationId?: string;
}

/** Encode a key as S3 does in events: form-encoding (space → `+`), `/` kept. */
export function encodeEventKey(key: string): string {
  return key
    .split('/')
    .map((seg) => encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+'))
    .join('/');
}

/** Decode an event key: `+` is a space, then percent-decoding. */
export function decodeEventKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/** Build the JSON body S3 would send for these records. */
export function buildS3Event(records: S3EventInput[]): string {
  return JSON.stringify({
    Records: records.map((r) => ({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: r.awsRegion,
      eventTime: (r.eventTime ?? new Date()).toISOString(),
      eventName: r.eventName,
      userIdentity: { principalId: 'local' },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: {},
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: r.configurationId ?? 'local',
        bucket: { name: r.bucket, ownerIdentity: { principalId: 'local' }, arn: `arn:aws:s3:::${r.bucket}` },
        object: {
          key: encodeEventKey(r.key),
          size: r.size,
          eTag: r.etag,
          ...(r.versionId !== undefined ? { versionId: r.versionId } : {}),
          ...(r.sequencer !== undefined ? { sequencer: r.sequencer } : {}),
        },
      },
    })),
  });
}

/** Build the `s3:TestEvent` body S3 sends when a notification configuration is saved. */
export function buildS3TestEvent(bucket: string, time = new Date()): string {
  return JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Time: time.toISOString(), Bucket: bucket });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/**
 * Parse an SQS message body holding an S3 event: its records with decoded keys, or
 * 'test-event' for `s3:TestEvent`. Throws MalformedEventError for anything else.
 */
export function parseS3Event(body: string): S3EventRecord[] | 'test-event' {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw new MalformedEventError('not JSON', body, { cause });
  }
  if (!isObject(json)) throw new MalformedEventError('not a JSON object', body);
  if (json.Event === 's3:TestEvent') return 'test-event';
  if (!Array.isArray(json.Records)) throw new MalformedEventError('no Records array', body);
  return json.Records.map((rec: unknown, i: number): S3EventRecord => {
    if (!isObject(rec) || !isObject(rec.s3)) throw new MalformedEventError(`Records[${i}] has no s3 object`, body);
    const s3 = rec.s3;
    const bucket = isObject(s3.bucket) ? str(s3.bucket.name) : undefined;
    const obj = isObject(s3.object) ? s3.object : undefined;
    const rawKey = obj ? str(obj.key) : undefined;
    const eventName = str(rec.eventName);
    if (!bucket || rawKey === undefined || !eventName || !obj) {
      throw new MalformedEventError(`Records[${i}] lacks eventName, bucket name or object key`, body);
    }
    let key: string;
    try {
      key = decodeEventKey(rawKey);
    } catch (cause) {
      throw new MalformedEventError(`Records[${i}] key is not URL-encoded`, body, { cause });
    }
    if (obj.size !== undefined && typeof obj.size !== 'number') {
      throw new MalformedEventError(`Records[${i}] size is not a number`, body);
    }
    const etag = str(obj.eTag);
    return {
      eventName: eventName.replace(/^s3:/, ''),
      eventTime: str(rec.eventTime) ?? '',
      awsRegion: str(rec.awsRegion) ?? '',
      bucket,
      key,
      size: obj.size as number | undefined,
      etag: etag?.replace(/"/g, ''),
      versionId: str(obj.versionId),
      sequencer: str(obj.sequencer),
      configurationId: str(s3.configurationId),
    };
  });
}

/**
 * Orders two sequencers of events for one key as S3 documents it: the longer string's extra
 * digits count against zero-padding of the shorter (right-padded), then plain string order.
 * Negative when `a` is older.
 */
export function compareSequencers(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  const pa = a.toUpperCase().padEnd(n, '0');
  const pb = b.toUpperCase().padEnd(n, '0');
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}
