/**
 * What the pipeline does per object and per archive, as S3, SQS and KMS bill it, counted from the
 * services' code (services/compressor, services/router) rather than guessed, and the measured
 * throughput a task achieves. Change these when the services change their request pattern; the
 * cost tests compute their expectations from the same numbers by hand.
 */

/** The S3 multipart part size of the outbox upload (shared/storage/s3 DEFAULT_MULTIPART_THRESHOLD). */
export const UPLOAD_PART_BYTES = 16 * 1024 * 1024;

/** Compressor, per source object: HEAD pinned to the event's version, GetObjectTagging (withTags), GET of the bytes. */
export const COMPRESSOR_SOURCE_GETS_PER_OBJECT = 3;

/**
 * Compressor, per archive in the outbox: PUT-class = the batch intent, CreateMultipartUpload,
 * CompleteMultipartUpload and the batch record, plus one UploadPart per part; GET-class = the
 * batch-record lookup before uploading and the two ranged reads (seek table, manifest) of the
 * read-back.
 */
export const COMPRESSOR_OUTBOX_PUTS_PER_ARCHIVE = 4;
export const COMPRESSOR_OUTBOX_GETS_PER_ARCHIVE = 3;

/**
 * Router, per archive in its region's staging bucket: GET-class = the HEAD of the staged version,
 * two ranged GETs (seek table, manifest) and one GET of the whole archive (one download per
 * region), and per destination the delivery-record lookup; PUT-class = one delivery record per
 * destination. The final DELETE is free.
 */
export const ROUTER_STAGING_GETS_PER_ARCHIVE = 4;
export const ROUTER_STAGING_GETS_PER_DESTINATION = 1;
export const ROUTER_STAGING_PUTS_PER_DESTINATION = 1;

/** Router, per archive and backup destination: HEAD of an existing copy and of the staged archive (GET-class), one COPY (PUT-class). */
export const ROUTER_BACKUP_GETS_PER_ARCHIVE = 2;
export const ROUTER_BACKUP_COPIES_PER_ARCHIVE = 1;
/** Router, per archive and backup region: HEAD of the catalog file, then its PUT. */
export const ROUTER_CATALOG_GETS_PER_ARCHIVE = 1;
export const ROUTER_CATALOG_PUTS_PER_ARCHIVE = 1;
/** Router, per object and normal destination: HEAD of the destination key (skip identical), PUT of the object. */
export const ROUTER_NORMAL_GETS_PER_OBJECT = 1;
export const ROUTER_NORMAL_PUTS_PER_OBJECT = 1;

/**
 * SQS requests. Compressor queue, per object: the S3 event's send, a tenth of a receive and of a
 * DeleteMessageBatch (10 per call). Router queue, per archive: send, receive, delete. Heartbeats
 * (ChangeMessageVisibility every third of 300 s) are rare at these batch durations and left out.
 * While a task runs it long-polls an empty queue every 20 s.
 */
export const SQS_PER_OBJECT = 1.2;
export const SQS_PER_ARCHIVE = 3;
export const SQS_IDLE_POLLS_PER_TASK_HOUR = 3600 / 20;
/** SQS asks KMS for a data key at most every 5 minutes per principal (S3 sending, the consumer): per queue and month. */
export const SQS_KMS_REQUESTS_PER_QUEUE_MONTH = 2 * 12 * 730;

/**
 * KMS requests per archive, without S3 Bucket Key savings (so an upper bound: the buckets the
 * stacks create use Bucket Keys): outbox upload 1, read-back 2, replication decrypt 1 per region;
 * staging replica encrypt 1 per region and the router's 3 reads per region.
 */
export const KMS_OUTBOX_PER_ARCHIVE = 3;
export const KMS_PER_ARCHIVE_PER_REGION = 5;

/**
 * Throughput of a task, from `npm run bench:pipeline` (README Performance, 2026-12-03: the whole
 * embedded pipeline, compressor and two routers sharing 2 CPUs): 10,000 × 10 KB in 13.80 s and the
 * office corpus (4,003 files, 208.3 MB) in 8.81 s fit time = objects × 1.179 ms + MB × 19.64 ms.
 * Each service alone is charged that whole time (conservative: they shared the CPUs).
 */
export const TASK_SECONDS_PER_OBJECT = 0.0011789;
export const TASK_SECONDS_PER_MB = 0.019639;

/** The compression ratio last measured (README Performance, archive engine: office corpus, level 3). */
export const MEASURED_COMPRESSION_RATIO = 2.89;

/** The router's task size (stacks/defaults.ts DEFAULTS.router; a test keeps them equal). */
export const ROUTER_TASK = { cpu: 1024, memory: 2048 } as const;
/** Share of tasks on Fargate Spot with Spot on (stacks' capacity strategy: 4 of 5). */
export const SPOT_SHARE = 0.8;

/** Bytes of one catalog row (JSONL, ~27 columns), measured on the sample catalog: ~700. */
export const CATALOG_ROW_BYTES = 700;
/** Catalog rows are kept 365 days (stacks DEFAULTS.catalogExpiration). */
export const CATALOG_RETENTION_DAYS = 365;
/** Log bytes per archive per service (an info line and an EMF line), per router destination a little more. */
export const LOG_BYTES_PER_ARCHIVE = 3 * 1024;
export const LOG_BYTES_PER_DESTINATION = 1024;
/** Outbox: archives expire 14 days after upload, their noncurrent version 7 days later (versioned). */
export const OUTBOX_DAYS = 14 + 7;
/** The outbox-age check: hourly, HEADs archives older than 6 hours still in the outbox (14 days). */
export const OUTBOX_CHECK_RUNS_PER_MONTH = 730;
export const OUTBOX_CHECKED_DAYS = 14 - 0.25;
/** EMF metrics each service publishes (dimension set `service`): compressor 12 (incl. Failures, StaleReceipts and the four cost metrics), router 6 + 3 per destination, outbox check 2. */
export const COMPRESSOR_METRICS = 12;
export const ROUTER_METRICS = 6;
export const ROUTER_METRICS_PER_DESTINATION = 3;
export const OUTBOX_CHECK_METRICS = 2;
/** S3 Replication metrics per replication rule (bytes and operations pending, latency, operations failed). */
export const REPLICATION_METRICS_PER_RULE = 4;
/** Glue crawler: one daily run at its minimum billing, 1 DPU. */
export const CRAWLER_DPUS = 1;
