/**
 * The stacks' access to the topology model (shared/topology): buildApp builds it once and hands it
 * to every stack; a stack constructed on its own (tests) builds its own.
 */
import type { Config } from '../shared/config';
import { buildTopology, type Topology } from '../shared/topology';

/** The topology of stack props: the one given (checked against the config and account) or a new one. */
export function topologyOf(props: { readonly config: Config; readonly account: string; readonly topology?: Topology }): Topology {
  const topology = props.topology ?? buildTopology(props.config, props.account);
  if (topology.stackName !== props.config.stack_name || topology.account !== props.account) {
    throw new Error(`internal: the topology of ${topology.stackName}/${topology.account} does not belong to ${props.config.stack_name}/${props.account}`);
  }
  assertDistinctNames(topology);
  return topology;
}

/**
 * Fails the synth when the model gives two buckets (anywhere) or two queues (in one region) the
 * same name: CloudFormation would accept the template and fail the deploy on the second resource.
 */
export function assertDistinctNames(topology: Topology): void {
  const buckets = new Map<string, string>();
  for (const r of topology.regions) {
    const queues = new Set<string>();
    for (const q of [...r.compressors.map((c) => c.queue), ...(r.router ? [r.router.queue] : [])]) {
      for (const name of [q.name, q.deadLetter]) {
        if (queues.has(name)) throw new Error(`internal: the topology names two queues of ${r.region} "${name}"`);
        queues.add(name);
      }
    }
    for (const bucket of [r.outbox, r.router?.staging, r.router?.catalog]) {
      if (bucket === undefined) continue;
      if (buckets.has(bucket)) throw new Error(`internal: the topology names two buckets "${bucket}" (${buckets.get(bucket)} and ${r.region})`);
      buckets.set(bucket, r.region);
    }
  }
}
