/**
 * The one price table of `xregion cost` and the compressor's savings metrics: AWS us-east-1 list
 * prices in USD, without free tiers or volume discounts (first pricing tier everywhere), as
 * written down on PRICES_DATE. Never fetched: an estimate must be reproducible and work offline;
 * other regions, later prices or negotiated rates come in through `--prices file.json`, which
 * overrides any subset of these keys. Units: GB = 2^30 bytes, as AWS bills; a month = 730 hours.
 */
import type { StorageClass } from '../config';

/** The date the table below was last checked against the AWS pricing pages. */
export const PRICES_DATE = '2026-12-03';

/** Per storage class: storage, requests, retrieval and the minimums S3 bills. */
export interface StorageClassPrices {
  /** USD per GB-month stored. */
  readonly storageGbMonth: number;
  /** USD per 1,000 PUT, COPY, POST or LIST requests (and per replicated object written into this class). */
  readonly putPer1000: number;
  /** USD per 1,000 GET, HEAD (and other) requests. */
  readonly getPer1000: number;
  /** USD per GB retrieved (0 where reads are free). */
  readonly retrievalGb: number;
  /** Days an object is billed at least, even when deleted earlier. */
  readonly minimumDays: number;
  /** Bytes an object is billed at least (IA and Glacier IR bill small objects as 128 KiB). */
  readonly minimumObjectBytes: number;
}

export interface PriceTable {
  readonly date: string;
  readonly region: string;
  readonly s3: {
    readonly classes: Readonly<Record<StorageClass, StorageClassPrices>>;
    /** Inter-region transfer (S3 replication or any S3 → another region), USD per GB. */
    readonly interRegionTransferGb: number;
    /** Transfer out to the internet (a restore to a machine outside AWS), USD per GB. */
    readonly internetTransferGb: number;
    /** Replication Time Control, USD per GB replicated. */
    readonly rtcGb: number;
    /** Intelligent-Tiering monitoring, USD per 1,000 objects per month. */
    readonly intelligentTieringMonitoringPer1000: number;
  };
  readonly fargate: {
    /** ARM64 (Graviton) on-demand, USD per vCPU-hour and per GB-hour. */
    readonly vcpuHour: number;
    readonly gbHour: number;
    /** ARM64 Fargate Spot. */
    readonly spotVcpuHour: number;
    readonly spotGbHour: number;
    /** A task's public IPv4 address, USD per hour (tasks get one: no NAT gateway). */
    readonly publicIpv4Hour: number;
  };
  /** SQS standard queue, USD per million requests (a request is up to 64 KiB). */
  readonly sqsPerMillion: number;
  readonly kms: {
    /** A customer-managed key, USD per month. */
    readonly keyMonth: number;
    /** USD per 10,000 requests. */
    readonly per10000: number;
  };
  readonly cloudwatch: {
    /** A custom metric (EMF metrics and S3 replication metrics are billed as such), USD per month. */
    readonly metricMonth: number;
    /** A standard-resolution alarm, USD per month. */
    readonly alarmMonth: number;
    /** A dashboard, USD per month. */
    readonly dashboardMonth: number;
    /** Log ingestion, USD per GB; storage, USD per GB-month. */
    readonly logsIngestGb: number;
    readonly logsStorageGbMonth: number;
  };
  readonly lambda: {
    /** USD per million invocations and per GB-second (ARM64). */
    readonly perMillion: number;
    readonly gbSecond: number;
  };
  readonly glue: {
    /** Crawler, USD per DPU-hour; each run is billed at least `crawlerMinimumMinutes`. */
    readonly crawlerDpuHour: number;
    readonly crawlerMinimumMinutes: number;
  };
  readonly athena: {
    /** USD per TB (2^40 bytes) scanned; each query is billed at least `minimumMbPerQuery`. */
    readonly perTbScanned: number;
    readonly minimumMbPerQuery: number;
  };
}

const KIB = 1024;

/** us-east-1 list prices (see PRICES_DATE). */
export const DEFAULT_PRICES: PriceTable = {
  date: PRICES_DATE,
  region: 'us-east-1',
  s3: {
    classes: {
      STANDARD: { storageGbMonth: 0.023, putPer1000: 0.005, getPer1000: 0.0004, retrievalGb: 0, minimumDays: 0, minimumObjectBytes: 0 },
      INTELLIGENT_TIERING: { storageGbMonth: 0.023, putPer1000: 0.005, getPer1000: 0.0004, retrievalGb: 0, minimumDays: 0, minimumObjectBytes: 0 },
      STANDARD_IA: { storageGbMonth: 0.0125, putPer1000: 0.01, getPer1000: 0.001, retrievalGb: 0.01, minimumDays: 30, minimumObjectBytes: 128 * KIB },
      ONEZONE_IA: { storageGbMonth: 0.01, putPer1000: 0.01, getPer1000: 0.001, retrievalGb: 0.01, minimumDays: 30, minimumObjectBytes: 128 * KIB },
      GLACIER_IR: { storageGbMonth: 0.004, putPer1000: 0.02, getPer1000: 0.01, retrievalGb: 0.03, minimumDays: 90, minimumObjectBytes: 128 * KIB },
      GLACIER: { storageGbMonth: 0.0036, putPer1000: 0.03, getPer1000: 0.0004, retrievalGb: 0.01, minimumDays: 90, minimumObjectBytes: 0 },
      DEEP_ARCHIVE: { storageGbMonth: 0.00099, putPer1000: 0.05, getPer1000: 0.0004, retrievalGb: 0.02, minimumDays: 180, minimumObjectBytes: 0 },
      REDUCED_REDUNDANCY: { storageGbMonth: 0.024, putPer1000: 0.005, getPer1000: 0.0004, retrievalGb: 0, minimumDays: 0, minimumObjectBytes: 0 },
    },
    interRegionTransferGb: 0.02,
    internetTransferGb: 0.09,
    rtcGb: 0.015,
    intelligentTieringMonitoringPer1000: 0.0025,
  },
  fargate: { vcpuHour: 0.03238, gbHour: 0.00356, spotVcpuHour: 0.01295, spotGbHour: 0.00142, publicIpv4Hour: 0.005 },
  sqsPerMillion: 0.4,
  kms: { keyMonth: 1, per10000: 0.03 },
  cloudwatch: { metricMonth: 0.3, alarmMonth: 0.1, dashboardMonth: 3, logsIngestGb: 0.5, logsStorageGbMonth: 0.03 },
  lambda: { perMillion: 0.2, gbSecond: 0.0000133334 },
  glue: { crawlerDpuHour: 0.44, crawlerMinimumMinutes: 10 },
  athena: { perTbScanned: 5, minimumMbPerQuery: 10 },
};

/** Bytes per GB and TB as AWS bills them. */
export const GB = 2 ** 30;
export const TB = 2 ** 40;
/** Hours in a billing month (AWS's convention). */
export const HOURS_PER_MONTH = 730;
/** Days in an average month. */
export const DAYS_PER_MONTH = 365.25 / 12;
