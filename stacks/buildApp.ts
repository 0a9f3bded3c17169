/**
 * Builds the CDK app from a validated config: the topology model once (shared/topology), then one
 * target stack per region with a router and one source stack per region with compressors or Drive
 * sources (which depends on the target stacks it replicates to, so `cdk deploy --all` deploys
 * targets first), tags from the config, cdk-nag on everything.
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig, refuseUndeliveredDestinations, type Config, type ConfigIssue } from '../shared/config';
import { buildTopology, type Topology } from '../shared/topology';
import { DEFAULTS } from './defaults';
import { SourceStack } from './SourceStack';
import { TargetStack } from './TargetStack';

export interface BuildOptions {
  /** AWS account of every stack (12 digits). @default the placeholder account, with a warning */
  readonly account?: string;
  /** App to add the stacks to. @default a new App */
  readonly app?: App;
  /** Fargate Spot for the compressor and router services. @default true */
  readonly spot?: boolean;
}

export interface BuiltApp {
  readonly app: App;
  readonly account: string;
  /** True when no account was given and the placeholder was used (synth works, deploy refuses). */
  readonly placeholderAccount: boolean;
  /** The topology model every stack renders. */
  readonly topology: Topology;
  readonly sourceStacks: SourceStack[];
  readonly targetStacks: TargetStack[];
}

/** Thrown for deployment options that are not part of the config (e.g. a malformed account). */
export class BuildOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildOptionsError';
  }
}

/** Creates the source and target stacks of a validated config in an app. */
export function buildApp(config: Config, options: BuildOptions = {}): BuiltApp {
  const placeholderAccount = !options.account;
  const account = options.account ?? DEFAULTS.placeholderAccount;
  if (!/^\d{12}$/.test(account)) throw new BuildOptionsError(`account: "${account}" is not a 12-digit AWS account id (pass -c account=123456789012)`);
  const app = options.app ?? new App();
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

  const topology = buildTopology(config, account);
  const targetStacks = topology.regions.filter((plan) => plan.router).map((plan) => new TargetStack(app, { config, account, region: plan.region, topology, spot: options.spot }));
  const byRegion = new Map(targetStacks.map((s) => [s.region, s]));
  const sourceStacks = topology.regions
    .filter((plan) => plan.compressors.length > 0 || plan.driveSources.length > 0)
    .map((plan) => {
      const stack = new SourceStack(app, { config, account, region: plan.region, topology, spot: options.spot });
      for (const r of new Set(plan.replications.map((x) => x.toRegion))) stack.addStackDependency(byRegion.get(r)!, 'replicates into its staging bucket');
      return stack;
    });

  for (const stack of [...targetStacks, ...sourceStacks]) {
    Tags.of(stack).add('xregion:stack', config.stack_name);
    for (const [key, value] of Object.entries(config.tags)) Tags.of(stack).add(key, value);
  }
  return { app, account, placeholderAccount, topology, sourceStacks, targetStacks };
}

/** Reads and validates a config file (throws the config module's ConfigError) and builds the app. */
export function buildAppFromFile(configPath: string, options: BuildOptions = {}): BuiltApp & { warnings: ConfigIssue[] } {
  const { config, warnings } = readConfig(configPath);
  refuseUndeliveredDestinations(configPath, warnings);
  return { ...buildApp(config, options), warnings };
}
