/**
 * The cost model against hand-computed cases: every expected number below is written out from the
 * price table (us-east-1, DEFAULT_PRICES) and the request pattern, not taken from the model.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig, type Config } from '../../shared/config';
import { applyPriceOverride, batchSavings, DEFAULT_PRICES, estimateCost, lineItems, PricesFileError, readPriceFile, WorkloadError, type LineItem } from '../../shared/cost';
import { ROUTER_TASK } from '../../shared/cost/pattern';
import { DEFAULTS } from '../../stacks/defaults';
import { runCostCommand } from '../../services/cli/commands/cost';

const MONTH_DAYS = 365.25 / 12;
const TIB = 2 ** 40;

/** One rule: us-east-1 → a created STANDARD backup bucket in us-west-2; defaults elsewhere (batch 1000 objects / 512 MiB). */
function smallConfig(destination: Record<string, unknown> = {}): Config {
  return parseConfig({
    stack_name: 'cost',
    replication_configuration: [
      {
        source: { region: 'us-east-1', bucket: 'cost-src', prefix_filter: 'docs/' },
        destinations: [{ region: 'us-west-2', bucket: 'cost-backup', backup: true, create_bucket: true, ...destination }],
      },
    ],
  }).config;
}

// 1 TiB in 2^20 files (1 MiB each), ratio 2: C = 512 GB; archives close at 512 MiB (2048 of them, 256 MiB compressed, 16 parts each).
const workload = { tbPerMonth: 1, filesPerMonth: 2 ** 20, compressionRatio: 2, athenaQueriesPerMonth: 0, spot: false };
const line = (lines: LineItem[], region: string, item: string): LineItem => {
  const found = lines.find((l) => l.region === region && l.item.startsWith(item));
  if (!found) throw new Error(`no line ${region} ${item}: ${lines.map((l) => `${l.region} ${l.item}`).join(', ')}`);
  return found;
};

describe('Function: estimateCost', () => {
  const lines = lineItems(smallConfig(), workload);

  it('charges inter-region transfer on the compressed bytes, native CRR on the uncompressed ones', () => {
    const l = line(lines, 'us-east-1', 'Inter-region transfer → us-west-2');
    expect(l.xregion).toBeCloseTo(512 * 0.02, 10); // $10.24
    expect(l.native).toBeCloseTo(1024 * 0.02, 10); // $20.48
  });

  it('counts the compressor requests: 3 GETs per source object, per archive 4 + 16 parts PUT-class and 3 GET-class', () => {
    expect(line(lines, 'us-east-1', 'S3 requests: compressor reads').xregion).toBeCloseTo(((3 * 2 ** 20) / 1000) * 0.0004, 10); // $1.2583
    expect(line(lines, 'us-east-1', 'S3 requests: outbox (').xregion).toBeCloseTo(((2048 * 20) / 1000) * 0.005 + ((2048 * 3) / 1000) * 0.0004, 10); // $0.2073
  });

  it('writes one replicated object per archive, where native CRR writes one per file', () => {
    const l = line(lines, 'us-west-2', 'S3 requests: replication writes');
    expect(l.xregion).toBeCloseTo((2048 / 1000) * 0.005, 10);
    expect(l.native).toBeCloseTo((2 ** 20 / 1000) * 0.005, 10); // $5.24
  });

  it('stores the outbox 21 days and the backup for the retention, compressed (native: uncompressed)', () => {
    expect(line(lines, 'us-east-1', 'S3 storage: outbox').xregion).toBeCloseTo(512 * 0.023 * (21 / MONTH_DAYS), 8);
    const backup = line(lines, 'us-west-2', 'S3 storage: cost-backup (STANDARD, 365 days)');
    expect(backup.xregion).toBeCloseTo(512 * 0.023 * (365 / MONTH_DAYS), 8); // $141.3
    expect(backup.native).toBeCloseTo(1024 * 0.023 * (365 / MONTH_DAYS), 8);
  });

  it('prices the backup copy: 2 HEADs and 1 COPY per archive, and the catalog rows', () => {
    expect(line(lines, 'us-west-2', 'S3 requests: cost-backup (backup copy)').xregion).toBeCloseTo(((2048 * 2) / 1000) * 0.0004 + (2048 / 1000) * 0.005, 10);
    const rows = 2 ** 20 * 700;
    expect(line(lines, 'us-west-2', 'S3: catalog rows').xregion).toBeCloseTo((2048 / 1000) * 0.0004 + (2048 / 1000) * 0.005 + (rows / 2 ** 30) * 0.023 * (365 / MONTH_DAYS), 10);
  });

  it('runs the compressor and the router at the measured throughput per task, on demand with --no-spot', () => {
    const hours = (2 ** 20 * 0.0011789 + (TIB / 1e6) * 0.019639) / 3600; // ≈ 6.34 h
    expect(line(lines, 'us-east-1', 'Fargate: compressor').xregion).toBeCloseTo(hours * (2 * 0.03238 + 4 * 0.00356 + 0.005), 10);
    expect(line(lines, 'us-west-2', 'Fargate: router').xregion).toBeCloseTo(hours * (1 * 0.03238 + 2 * 0.00356 + 0.005), 10);
    // Spot on (the default): 4 of 5 tasks at the Spot rate.
    const spot = line(lineItems(smallConfig(), { ...workload, spot: true }), 'us-east-1', 'Fargate: compressor').xregion;
    expect(spot).toBeCloseTo(hours * (0.8 * (2 * 0.01295 + 4 * 0.00142) + 0.2 * (2 * 0.03238 + 4 * 0.00356) + 0.005), 10);
  });

  it('bills fixed items once per stack: 2 KMS keys, a dashboard, the crawler where a backup lives', () => {
    expect(line(lines, 'us-east-1', 'KMS keys').xregion).toBe(2);
    expect(line(lines, 'us-west-2', 'CloudWatch: dashboard').xregion).toBe(3);
    expect(line(lines, 'us-west-2', 'Glue: daily catalog crawler').xregion).toBeCloseTo(MONTH_DAYS * (10 / 60) * 0.44, 10);
    // Alarms: source 3 per rule + compressor failures + outbox age + check errors, plus one replication-failure alarm; target 6.
    expect(line(lines, 'us-east-1', 'CloudWatch: alarms').xregion).toBeCloseTo(7 * 0.1, 10);
    expect(line(lines, 'us-east-1', 'CloudWatch: alarms').native).toBeCloseTo(0.1, 10);
  });

  it('keeps Object Lock retention (and the class minimums: 128 KiB per object in IA) in storage', () => {
    const locked = lineItems(smallConfig({ storage_class: 'GLACIER_IR', object_lock: { mode: 'COMPLIANCE', days: 2555 } }), workload);
    expect(line(locked, 'us-west-2', 'S3 storage: cost-backup (GLACIER_IR, 2555 days, Object Lock COMPLIANCE)').xregion).toBeCloseTo(512 * 0.004 * (2555 / MONTH_DAYS), 8);
    // 2^20 files of 10 KiB in a normal STANDARD_IA destination: each billed as 128 KiB, natively too.
    const small = lineItems(smallConfig({ backup: false, storage_class: 'STANDARD_IA' }), { ...workload, tbPerMonth: (2 ** 20 * 10 * 1024) / TIB });
    const ia = line(small, 'us-west-2', 'S3 storage: cost-backup (STANDARD_IA, 365 days)');
    expect(ia.xregion).toBeCloseTo(((2 ** 20 * 128 * 1024) / 2 ** 30) * 0.0125 * (365 / MONTH_DAYS), 8); // 128 GB billed, not 10
    expect(ia.native).toBeCloseTo(ia.xregion, 10);
  });

  it('prices restores on the compressed bytes read and sent out (native: uncompressed, one GET per file)', () => {
    const r = line(lineItems(smallConfig(), { ...workload, restoreTbPerMonth: 1 }), 'us-west-2', 'Restore: cost-backup');
    expect(r.xregion).toBeCloseTo(512 * 0.09 + ((2048 * 3) / 1000) * 0.0004, 8);
    expect(r.native).toBeCloseTo(1024 * 0.09 + (2 ** 20 / 1000) * 0.0004, 8);
  });

  it('finds the break-even volume where both totals are equal, and sums the regions', () => {
    const e = estimateCost(smallConfig(), workload);
    expect(e.total.xregion).toBeCloseTo(e.lines.reduce((s, l) => s + l.xregion, 0), 8);
    expect(e.regions.map((r) => r.region).sort()).toEqual(['us-east-1', 'us-west-2']);
    expect(e.breakEvenTbPerMonth).toBeGreaterThan(0);
    const at = estimateCost(smallConfig(), { ...workload, tbPerMonth: e.breakEvenTbPerMonth!, filesPerMonth: e.breakEvenTbPerMonth! * 2 ** 20 });
    // Linear up to the rounding of multipart parts and LIST pages: equal to within a cent.
    expect(Math.abs(at.total.xregion - at.total.native)).toBeLessThan(0.01);
    // Without compression xregion never gets cheaper per TB than native CRR on one destination.
    expect(estimateCost(smallConfig(), { ...workload, compressionRatio: 1 }).breakEvenTbPerMonth).toBeNull();
  });

  it('refuses a workload it cannot price, naming each problem', () => {
    expect(() => estimateCost(smallConfig(), { tbPerMonth: -1, filesPerMonth: 10, compressionRatio: 0.5 })).toThrow(WorkloadError);
    expect(() => estimateCost(smallConfig(), { tbPerMonth: -1, filesPerMonth: 10, compressionRatio: 0.5 })).toThrow(/tbPerMonth must be a number ≥ 0.*compressionRatio must be ≥ 1/);
  });
});

describe('Function: applyPriceOverride', () => {
  it('overrides any subset of the table (deep), leaving the rest', () => {
    const prices = applyPriceOverride({ s3: { interRegionTransferGb: 0.09, classes: { STANDARD: { storageGbMonth: 0.05 } } } });
    expect(prices.s3.interRegionTransferGb).toBe(0.09);
    expect(prices.s3.classes.STANDARD).toEqual({ ...DEFAULT_PRICES.s3.classes.STANDARD, storageGbMonth: 0.05 });
    expect(prices.fargate).toEqual(DEFAULT_PRICES.fargate);
    expect(line(lineItems(smallConfig(), workload, prices), 'us-east-1', 'Inter-region transfer').xregion).toBeCloseTo(512 * 0.09, 10);
  });

  it('lists every problem with its JSON path: unknown keys, wrong types, negative prices', () => {
    let error: unknown;
    try {
      applyPriceOverride({ s3: { clases: {}, rtcGb: 'cheap' }, fargate: { vcpuHour: -1 } }, 'p.json');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PricesFileError);
    const problems = (error as PricesFileError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.startsWith('s3:'))).toContain('clases');
    expect(problems.find((p) => p.startsWith('s3.rtcGb:'))).toMatch(/number/);
    expect(problems.find((p) => p.startsWith('fargate.vcpuHour:'))).toBeDefined();
    expect((error as Error).message).toMatch(/^p\.json: 3 problems:/);
  });

  it('reads a file, and says so when it is not JSON', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xregion-prices-'));
    fs.writeFileSync(path.join(dir, 'ok.json'), JSON.stringify({ sqsPerMillion: 0.5 }));
    fs.writeFileSync(path.join(dir, 'bad.json'), '{ nope');
    expect(readPriceFile(path.join(dir, 'ok.json')).sqsPerMillion).toBe(0.5);
    expect(() => readPriceFile(path.join(dir, 'bad.json'))).toThrow(/bad\.json: a problem:\n {2}is not JSON/);
  });
});

describe('Function: batchSavings', () => {
  it('saves the transfer of bytes in − bytes out once per target region, against the task time at the rule size', () => {
    const rule = parseConfig({
      replication_configuration: [{ source: { region: 'us-east-1', bucket: 'bucket-b' }, destinations: [{ region: 'us-west-2', bucket: 'bucket-x' }, { region: 'eu-west-1', bucket: 'bucket-y' }, { region: 'us-west-2', bucket: 'bucket-z', backup: true }] }],
    }).config.replication_configuration[0];
    const s = batchSavings(rule, 3 * 2 ** 30, 2 ** 30, 60_000);
    expect(s.transferBytesSaved).toBe(2 * 2 * 2 ** 30); // 2 GiB saved × 2 regions
    expect(s.transferDollarsSaved).toBeCloseTo(4 * 0.02, 10);
    expect(s.taskSeconds).toBe(60);
    expect(s.taskDollars).toBeCloseTo((60 / 3600) * (0.8 * (2 * 0.01295 + 4 * 0.00142) + 0.2 * (2 * 0.03238 + 4 * 0.00356) + 0.005), 10);
  });
});

describe('Command: xregion cost', () => {
  const out: string[] = [];
  const err: string[] = [];
  beforeEach(() => {
    out.length = 0;
    err.length = 0;
    jest.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    jest.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
  });
  afterEach(() => jest.restoreAllMocks());
  const config = path.resolve(__dirname, '..', '..', 'replication_config.json');

  it('prints a table per region with totals and the break-even, or the same estimate as JSON', () => {
    expect(runCostCommand({ config, tbPerMonth: 1, filesPerMonth: 1_000_000 })).toBe(0);
    const text = out.join('');
    expect(text).toContain('compression 2.89×');
    expect(text).toMatch(/TOTAL per month/);
    expect(text).toMatch(/break-even: /);
    out.length = 0;
    expect(runCostCommand({ config, tbPerMonth: 1, filesPerMonth: 1_000_000, json: true })).toBe(0);
    const json = JSON.parse(out.join(''));
    expect(json.workload.compressionRatio).toBe(2.89);
    expect(json.lines.length).toBeGreaterThan(10);
    expect(json.pricesDate).toBe(DEFAULT_PRICES.date);
  });

  it('exits 2 with every problem for a bad prices file', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'xregion-prices-')), 'p.json');
    fs.writeFileSync(file, JSON.stringify({ kms: { keyMonth: 'one' } }));
    expect(runCostCommand({ config, tbPerMonth: 1, filesPerMonth: 10, prices: file })).toBe(2);
    expect(err.join('')).toContain('kms.keyMonth');
  });

  it("prices the router at the stacks' router task size", () => {
    expect(ROUTER_TASK).toEqual({ cpu: DEFAULTS.router.cpu, memory: DEFAULTS.router.memory });
  });
});
