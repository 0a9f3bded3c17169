/**
 * Aspects every xregion stack carries (applyStackAspects), each fixing something CDK leaves to
 * the app:
 * - ServicesAfterCapacityProviders: an ECS service depends on its cluster's
 *   AWS::ECS::ClusterCapacityProviderAssociations. CDK creates the association lazily (in its own
 *   aspect) and adds no dependency, so CloudFormation may create a service whose FARGATE_SPOT
 *   strategy names a provider not yet associated ("capacity provider not associated"), and on
 *   delete may remove the association while a service still uses it ("in use")
 *   (aws/aws-cdk#14732, aws/containers-roadmap#631).
 * - LogRetention: every log group has a retention, including the ones CDK's own functions (the
 *   BucketNotificationsHandler, custom-resource providers) would create on first invocation,
 *   never expiring: such a function gets an explicit log group and LoggingConfig pointing at it.
 * - NagAcknowledgementsInMetadata: the cdk-nag acknowledgements (kept by CDK in the construct
 *   tree, so only in the validation report) are also written into each resource's template
 *   Metadata as `cdk_nag.rules_to_suppress`, the form cdk-nag 2 used, so a reader of the template
 *   alone sees what was acknowledged and why.
 */
import { AspectPriority, Aspects, CfnResource, RemovalPolicy, Stack, Validations, type IAspect } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { DEFAULTS } from './defaults';

/** Adds the dependency of every ECS service on its cluster's capacity-provider association. */
export class ServicesAfterCapacityProviders implements IAspect {
  visit(node: IConstruct): void {
    // The association exists only once the cluster's own aspect ran; visiting it (not the
    // services) means this runs after it whatever the order, as CDK re-visits added nodes.
    if (!(node instanceof ecs.CfnClusterCapacityProviderAssociations)) return;
    const cluster = node.node.scope;
    for (const c of Stack.of(node).node.findAll()) {
      if (c instanceof ecs.BaseService && c.cluster === cluster) (c.node.defaultChild as ecs.CfnService).addResourceDependency(node);
    }
  }
}

const LAMBDA_FUNCTION = 'AWS::Lambda::Function';

/** Gives every log group a retention and every Lambda function (L1 or CDK's own) a log group with one. */
export class LogRetention implements IAspect {
  constructor(private readonly retention: logs.RetentionDays = DEFAULTS.logRetention) {}

  visit(node: IConstruct): void {
    if (node instanceof logs.CfnLogGroup) {
      if (node.retentionInDays === undefined) node.retentionInDays = this.retention;
      return;
    }
    if (!(node instanceof CfnResource) || node.cfnResourceType !== LAMBDA_FUNCTION) return;
    if (hasLogGroup(node)) return;
    // Next to the function, so its path says whose logs these are.
    const scope = node.node.scope!;
    const id = `${node.node.id}LogGroup`;
    if (scope.node.tryFindChild(id)) return;
    const group = new logs.LogGroup(scope, id, { retention: this.retention, removalPolicy: RemovalPolicy.DESTROY });
    node.addPropertyOverride('LoggingConfig.LogGroup', group.logGroupName);
  }
}

/** True when a Lambda function's LoggingConfig already names a log group. */
function hasLogGroup(fn: CfnResource): boolean {
  // CfnFunction keeps its props typed; CDK's singleton handlers are plain CfnResources with overrides.
  const rendered = (fn as unknown as { cfnProperties?: { loggingConfig?: { logGroup?: unknown }; LoggingConfig?: { LogGroup?: unknown } } }).cfnProperties;
  if (rendered?.loggingConfig?.logGroup !== undefined || rendered?.LoggingConfig?.LogGroup !== undefined) return true;
  const overrides = (fn as unknown as { rawOverrides?: { Properties?: { LoggingConfig?: { LogGroup?: unknown } } } }).rawOverrides;
  return overrides?.Properties?.LoggingConfig?.LogGroup !== undefined;
}

/** One acknowledged cdk-nag finding as written into a resource's metadata. */
export interface NagAcknowledgement {
  readonly id: string;
  readonly reason: string;
}

/** The cdk-nag acknowledgements recorded on a construct and its ancestors (the nearest reason wins on duplicate ids). */
export function acknowledgementsOf(node: IConstruct): NagAcknowledgement[] {
  const out = new Map<string, string>();
  for (const c of [...node.node.scopes].reverse()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [qualified, reason] of Object.entries(m.data as Record<string, string>)) {
        // CDK records them qualified by plugin (`Annotation::AwsSolutions-SQS3`); CDK's own
        // acknowledgements of CloudFormation-Validate rules are not cdk-nag's and stay out.
        const id = qualified.replace(/^Annotation::/, '');
        if (id.startsWith('AwsSolutions-') && !out.has(id)) out.set(id, reason);
      }
    }
  }
  return [...out].map(([id, reason]) => ({ id, reason }));
}

/** Writes each resource's cdk-nag acknowledgements into its template metadata (`cdk_nag.rules_to_suppress`). */
export class NagAcknowledgementsInMetadata implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof CfnResource)) return;
    const acks = acknowledgementsOf(node);
    if (acks.length > 0) node.addMetadata('cdk_nag', { rules_to_suppress: acks });
  }
}

/** Adds the stack aspects above; the metadata one last, after every acknowledgement was made. */
export function applyStackAspects(stack: Stack): void {
  Aspects.of(stack).add(new ServicesAfterCapacityProviders(), { priority: AspectPriority.MUTATING });
  Aspects.of(stack).add(new LogRetention(), { priority: AspectPriority.MUTATING });
  Aspects.of(stack).add(new NagAcknowledgementsInMetadata(), { priority: AspectPriority.READONLY });
}
