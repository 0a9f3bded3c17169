/**
 * The soak's random topology of one seed: a config document from the topology property tests'
 * generator (test/topology/arbitraries.ts: 1–4 rules over 2–5 regions, regions both source and
 * target, backup and normal destinations, several rules on one bucket with disjoint or nested
 * prefixes, suffix filters, chains where a destination is another rule's source bucket), sampled
 * with the seed, then given random small batch and compression settings so that a run makes many
 * archives (more moments for a kill to land in). Drive sources are dropped: the soak feeds the
 * source buckets itself.
 */
import fc from 'fast-check';
import type { Config } from '../../shared/config';
import { buildTopology, type Topology } from '../../shared/topology';
import { rawConfigArbitrary, validated } from '../topology/arbitraries';
import { Rng } from './rng';

export interface SoakTopology {
  /** The document written as replication_config.json. */
  raw: Record<string, unknown>;
  config: Config;
  model: Topology;
  features: TopologyFeatures;
}

export interface TopologyFeatures {
  rules: number;
  regions: number;
  normal: number;
  backup: number;
  /** Regions holding both a rule's source and a destination. */
  bothWays: number;
  /** Most rules reading one source bucket. */
  rulesPerBucket: number;
  /** Destinations that are another rule's source bucket (objects travel on). */
  chained: number;
  /** Rules with a suffix filter. */
  suffixed: number;
}

const MiB = 1024 * 1024;

function tweak(raw: Record<string, unknown>, rng: Rng): Record<string, unknown> {
  const rules = (raw.replication_configuration as Array<{ source: Record<string, unknown> }>).map((r) => ({
    ...r,
    source: {
      ...r.source,
      batch: {
        max_objects: rng.pick([1, 3, 8, 8, 30, 30, 1000]),
        max_bytes: rng.pick([256 * 1024, 4 * MiB, 4 * MiB, 512 * MiB]),
        max_wait_seconds: rng.pick([0, 1, 30]),
      },
      compression: { level: rng.pick([1, 3]), frame_target_bytes: rng.pick([65_536, MiB, 4 * MiB]), threads: rng.pick([0, 1, 2]) },
    },
  }));
  return { ...raw, drive_sources: [], replication_configuration: rules };
}

export function featuresOf(config: Config, model: Topology): TopologyFeatures {
  const rules = config.replication_configuration;
  const dests = rules.flatMap((r) => r.destinations);
  const perBucket = new Map<string, number>();
  for (const r of rules) perBucket.set(r.source.bucket, (perBucket.get(r.source.bucket) ?? 0) + 1);
  const sources = new Set(rules.map((r) => r.source.bucket));
  return {
    rules: rules.length,
    regions: model.regions.length,
    normal: dests.filter((d) => !d.backup).length,
    backup: dests.filter((d) => d.backup).length,
    bothWays: model.regions.filter((r) => r.compressors.length > 0 && r.router).length,
    rulesPerBucket: Math.max(...perBucket.values()),
    chained: dests.filter((d) => sources.has(d.bucket)).length,
    suffixed: rules.filter((r) => r.source.suffix_filter !== '').length,
  };
}

/** The seed's topology: the first valid one of the generator's samples for this seed. */
export function soakTopology(seed: number): SoakTopology {
  const rng = new Rng(seed).fork(1);
  for (const candidate of fc.sample(rawConfigArbitrary(), { seed, numRuns: 50 })) {
    const raw = tweak(candidate, rng);
    const config = validated(raw);
    if (!config) continue;
    const model = buildTopology(config, 'local');
    return { raw, config, model, features: featuresOf(config, model) };
  }
  throw new Error(`seed ${seed}: no valid topology among 50 samples`);
}

/** One line describing a topology, for logs and the table. */
export function describeTopology(f: TopologyFeatures): string {
  const extras = [
    f.bothWays ? `${f.bothWays} region${f.bothWays > 1 ? 's' : ''} both ways` : '',
    f.rulesPerBucket > 1 ? `${f.rulesPerBucket} rules on one bucket` : '',
    f.chained ? `${f.chained} chained` : '',
    f.suffixed ? `${f.suffixed} suffix` : '',
  ].filter(Boolean);
  return `${f.rules} rule${f.rules > 1 ? 's' : ''}/${f.regions} regions, ${f.normal}N+${f.backup}B${extras.length ? `; ${extras.join(', ')}` : ''}`;
}
