/**
 * `--prices file.json`: any subset of the price table (same keys, same units), validated with a
 * strict zod schema so a typo or a string where a number belongs is an error naming its JSON path,
 * never a silently ignored key; merged over DEFAULT_PRICES.
 */
import * as fs from 'node:fs';
import { z } from 'zod';
import { S3_STORAGE_CLASSES } from '../config';
import { PricesFileError } from './errors';
import { DEFAULT_PRICES, type PriceTable } from './prices';

const usd = z.number().finite().nonnegative();
const classPrices = z
  .object({ storageGbMonth: usd, putPer1000: usd, getPer1000: usd, retrievalGb: usd, minimumDays: usd, minimumObjectBytes: usd })
  .partial()
  .strict();

const schema = z
  .object({
    date: z.string(),
    region: z.string(),
    s3: z
      .object({
        classes: z.object(Object.fromEntries(S3_STORAGE_CLASSES.map((c) => [c, classPrices])) as Record<(typeof S3_STORAGE_CLASSES)[number], typeof classPrices>).partial().strict(),
        interRegionTransferGb: usd,
        internetTransferGb: usd,
        rtcGb: usd,
        intelligentTieringMonitoringPer1000: usd,
      })
      .partial()
      .strict(),
    fargate: z.object({ vcpuHour: usd, gbHour: usd, spotVcpuHour: usd, spotGbHour: usd, publicIpv4Hour: usd }).partial().strict(),
    sqsPerMillion: usd,
    kms: z.object({ keyMonth: usd, per10000: usd }).partial().strict(),
    cloudwatch: z.object({ metricMonth: usd, alarmMonth: usd, dashboardMonth: usd, logsIngestGb: usd, logsStorageGbMonth: usd }).partial().strict(),
    lambda: z.object({ perMillion: usd, gbSecond: usd }).partial().strict(),
    glue: z.object({ crawlerDpuHour: usd, crawlerMinimumMinutes: usd }).partial().strict(),
    athena: z.object({ perTbScanned: usd, minimumMbPerQuery: usd }).partial().strict(),
  })
  .partial()
  .strict();

type Json = Record<string, unknown>;

/** Deep-merges plain objects (the override's leaves win). */
function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && base[k] && typeof base[k] === 'object' ? merge(base[k] as Json, v as Json) : v;
  }
  return out;
}

/** Validates a parsed override and merges it over `base`; throws PricesFileError listing every problem. */
export function applyPriceOverride(value: unknown, file = 'prices', base: PriceTable = DEFAULT_PRICES): PriceTable {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new PricesFileError(
      file,
      parsed.error.issues.map((i) => {
        const where = i.path.length > 0 ? i.path.join('.') : '(top level)';
        const keys = i.code === 'unrecognized_keys' ? ` (${i.keys.join(', ')})` : '';
        return `${where}: ${i.message}${keys}`;
      }),
    );
  }
  return merge(base as unknown as Json, parsed.data as Json) as unknown as PriceTable;
}

/** Reads `--prices file.json` and returns the merged table. */
export function readPriceFile(file: string): PriceTable {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new PricesFileError(file, [`cannot be read: ${(err as Error).message}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PricesFileError(file, [`is not JSON: ${(err as Error).message}`]);
  }
  return applyPriceOverride(value, file);
}
