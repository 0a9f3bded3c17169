/**
 * Defaults of the stacks that are not part of replication_config.json: router sizing, alarm
 * thresholds, retention periods. Kept here, apart from the builders, so the README (Deploy) and the
 * code have one place to agree on.
 */
import { Duration } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { RECORD_RETENTION_DAYS } from '../shared/topology';

export const DEFAULTS = {
  /** The account used when neither `-c account=` nor CDK_DEFAULT_ACCOUNT is set (synth only; deploy refuses it). */
  placeholderAccount: '111111111111',
  /** SQS: receives before a message goes to the DLQ. */
  maxReceiveCount: 5,
  /** SQS visibility timeout; the services extend it while they work. */
  visibilityTimeout: Duration.minutes(15),
  /** DLQ retention: the maximum, to leave time to investigate. */
  dlqRetention: Duration.days(14),
  /** Router task size and scaling (an archive is one message, so the backlog per task is small). */
  router: { cpu: 1024, memory: 2048, backlogPerTask: 5 },
  /** drive-ingest task size. */
  driveIngest: { cpu: 1024, memory: 2048 },
  /** Seconds ECS waits after SIGTERM (Fargate Spot gives two minutes' notice). */
  stopTimeout: Duration.seconds(120),
  /** Container log retention. */
  logRetention: RetentionDays.ONE_MONTH,
  /** Alarm: oldest message older than this means the service is stuck or scaled to zero wrongly. */
  oldestMessageAlarm: Duration.hours(1),
  /**
   * An outbox archive not replicated this long after its upload is alarmed (the outbox-age check).
   * S3 replicates most objects within 15 minutes (RTC's SLA) and large ones within hours.
   */
  outboxUnreplicatedAfter: Duration.hours(6),
  /** How often the outbox-age check runs. */
  outboxCheckInterval: Duration.hours(1),
  /** Outbound staging archives are replicated within minutes; kept this long for re-replication. */
  outboxExpiration: Duration.days(14),
  /**
   * The compressor's batch records (outbox `_xregion/batches/`): it looks one up before uploading
   * an archive again, so a record must outlive any redelivery of its messages (SQS keeps a
   * message at most 14 days).
   */
  batchRecordExpiration: Duration.days(RECORD_RETENTION_DAYS.batches),
  /**
   * The router's delivery records (inbound staging `_xregion/deliveries/`): they tell a redelivered
   * archive event apart from a lost archive, so they outlive SQS's 14-day maximum retention.
   */
  deliveryRecordExpiration: Duration.days(RECORD_RETENTION_DAYS.deliveries),
  /** Noncurrent versions of staging objects. */
  noncurrentExpiration: Duration.days(7),
  /** Incomplete multipart uploads. */
  abortIncompleteUpload: Duration.days(1),
  /** Catalog rows and Athena results. */
  catalogExpiration: Duration.days(365),
  athenaResultsExpiration: Duration.days(30),
  /** S3 server access logs. */
  accessLogExpiration: Duration.days(90),
  /** Glue crawler schedule: daily 02:00 UTC. */
  crawlerSchedule: 'cron(0 2 * * ? *)',
  /** Metric namespace of the services' EMF metrics. */
  metricsNamespace: 'xregion',
} as const;
