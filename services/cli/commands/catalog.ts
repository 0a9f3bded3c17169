/**
 * `xregion catalog query "<SQL>"`: SQL over the backup catalog. Locally (default) DuckDB over
 * the embedded default's catalog folders; with `--athena`, Athena in a workgroup. Also the
 * shared plumbing of `restore` and `verify`: which stores, which catalog, which region.
 * ./catalogCommand registers the command and loads this module (DuckDB, the AWS SDK) when it runs.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AthenaCatalogQuery, catalogBase, catalogTableName, DuckDbCatalogQuery, formatResult, type CatalogQuery, type DuckDbTable } from '../../../shared/catalog';
import { readConfig, targetRegions, type Config } from '../../../shared/config';
import { S3ObjectStore, type ObjectStore } from '../../../shared/storage';
import { LocalTopology } from '../appliance/LocalTopology';
import type { AthenaOptions, EnvOptions } from './options';

/** Where data lives: the embedded default's region folders, or S3 (`--aws`, optionally an endpoint). */
export class CliEnv {
  readonly config: Config;
  readonly topology: LocalTopology;
  private readonly s3 = new Map<string, S3ObjectStore>();

  constructor(readonly opts: EnvOptions) {
    this.config = readConfig(resolve(opts.config)).config;
    this.topology = new LocalTopology(this.config, resolve(opts.dataDir));
  }

  get aws(): boolean {
    return Boolean(this.opts.aws || this.opts.endpoint);
  }

  /** Region of a bucket named in the config (sources, destinations, Drive targets, local catalogs/staging). */
  bucketRegion(bucket: string): string | undefined {
    const c = this.config;
    for (const r of c.replication_configuration) {
      if (r.source.bucket === bucket) return r.source.region;
      for (const d of r.destinations) if (d.bucket === bucket) return d.region;
    }
    for (const d of c.drive_sources) if (d.target.bucket === bucket) return d.target.region;
    for (const r of this.topology.model.regions) {
      if ([r.outbox, r.router?.staging, r.router?.catalog].includes(bucket)) return r.region;
    }
    return this.opts.region;
  }

  /** The store holding `bucket` (by `region` when given, else looked up in the config). */
  storeFor(where: { bucket: string; region?: string }): ObjectStore {
    const region = where.region ?? this.bucketRegion(where.bucket);
    if (this.aws) {
      const r = region ?? process.env.AWS_REGION ?? 'us-east-1';
      let s = this.s3.get(r);
      if (!s) {
        s = new S3ObjectStore({ region: r, ...(this.opts.endpoint !== undefined && { endpoint: this.opts.endpoint }) });
        this.s3.set(r, s);
      }
      return s;
    }
    if (!region) throw new Error(`bucket ${bucket(where)} is not in ${this.opts.config}; give --region`);
    return this.topology.store(region);
  }

  /** Regions holding a backup destination (and so a catalog), sorted; `--region` first when given. */
  backupRegions(): string[] {
    const all = targetRegions(this.config).filter((r) => this.topology.hasBackupDestination(r));
    if (this.opts.region) {
      if (!all.includes(this.opts.region)) throw new Error(`region ${this.opts.region} has no backup destination in ${this.opts.config} (regions with one: ${all.join(', ') || 'none'})`);
      return [this.opts.region];
    }
    return all;
  }

  /** The catalog region: `--region`, else the first region with a backup destination. */
  catalogRegion(): string {
    const r = this.backupRegions()[0];
    if (!r) throw new Error(`no backup destination in ${this.opts.config}: there is no catalog`);
    return r;
  }

  /** One view per rule with a backup destination in the region, over `<dir>/{catalogBase}` (the router's folder for the rule). */
  catalogTables(region: string, root: string): DuckDbTable[] {
    return this.config.replication_configuration
      .filter((r) => r.destinations.some((d) => d.backup && d.region === region))
      .map((r) => ({ name: catalogTableName(r.source.bucket, r.source.prefix_filter), dir: join(root, catalogBase(r.source.bucket, r.source.prefix_filter)) }));
  }

  /** DuckDB over the local catalog folder of the catalog region. */
  async localCatalog(): Promise<DuckDbCatalogQuery> {
    const region = this.catalogRegion();
    const root = join(this.topology.regionDir(region), this.topology.catalogBucket(region));
    return DuckDbCatalogQuery.open({ tables: this.catalogTables(region, root) });
  }

  /** DuckDB over a copy of an S3 catalog bucket's JSONL files (for restores on AWS without Athena). */
  async s3Catalog(url: { bucket: string; key: string }): Promise<CatalogQuery> {
    const store = this.storeFor({ bucket: url.bucket });
    const dir = await mkdtemp(join(tmpdir(), 'xregion-catalog-'));
    for await (const o of store.list(url.bucket, url.key)) {
      if (!o.key.endsWith('.jsonl') || o.key.split('/').includes('..')) continue;
      const { body } = await store.get(url.bucket, o.key);
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      const file = join(dir, o.key);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, Buffer.concat(chunks));
    }
    const region = this.opts.region ?? this.backupRegions()[0];
    const q = await DuckDbCatalogQuery.open({ tables: region ? this.catalogTables(region, join(dir, url.key)) : [{ name: 'catalog', dir }] });
    return {
      query: (sql) => q.query(sql),
      close: async () => {
        await q.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}

const bucket = (w: { bucket: string }) => w.bucket;

/** The Athena adapter for these options. */
export function athenaQuery(opts: AthenaOptions & { region?: string; endpoint?: string }): AthenaCatalogQuery {
  if (!opts.workgroup) throw new Error('--athena needs --workgroup');
  const endpoint = opts.athenaEndpoint ?? opts.endpoint;
  return new AthenaCatalogQuery({
    region: opts.region ?? process.env.AWS_REGION ?? 'us-east-1',
    workGroup: opts.workgroup,
    ...(endpoint !== undefined && { endpoint }),
    ...(opts.database !== undefined && { database: opts.database }),
    ...(opts.table !== undefined && { table: opts.table }),
  });
}

export interface QueryOptions extends EnvOptions, AthenaOptions {
  json?: boolean;
  csv?: boolean;
}

export async function runQuery(sql: string, opts: QueryOptions): Promise<void> {
  let q: CatalogQuery;
  if (opts.athena) q = athenaQuery(opts);
  else q = await new CliEnv(opts).localCatalog();
  try {
    const result = await q.query(sql);
    process.stdout.write(formatResult(result, opts.json ? 'json' : opts.csv ? 'csv' : 'table'));
  } finally {
    await q.close();
  }
}
