/**
 * cdk-nag (v3) acknowledgments. cdk-nag 3 runs as a CDK policy-validation plugin and each
 * finding is acknowledged by its exact id (`AwsSolutions-IAM5[Resource::arn:...]`) on the
 * construct or an ancestor, always with a reason. Wildcard resources are written as literal
 * ARNs (deterministic bucket names) so their finding ids are predictable.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** Acknowledges cdk-nag rule ids on a construct and its children, with one reason. */
export function acknowledge(scope: IConstruct, reason: string, ...ids: string[]): void {
  for (const id of ids) Validations.of(scope).acknowledge({ id, reason });
}

/** The AwsSolutions-IAM5 finding ids a statement produces (wildcard actions and resources). */
export function wildcardFindings(statement: iam.PolicyStatement): string[] {
  const json = statement.toStatementJson() as { Action?: string | string[]; Resource?: string | string[] };
  const list = (v?: string | string[]) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return [
    ...list(json.Action).filter((a) => a.includes('*')).map((a) => `AwsSolutions-IAM5[Action::${a}]`),
    ...list(json.Resource).filter((r) => typeof r === 'string' && r.includes('*')).map((r) => `AwsSolutions-IAM5[Resource::${r}]`),
  ];
}

/**
 * Adds statements to a principal's policy and acknowledges the wildcards they contain, with the
 * reason the scope is what it is (e.g. "the rule's prefix"). Use only for statements already
 * scoped as narrowly as the data layout allows.
 */
export function grantScoped(role: iam.IRole, reason: string, ...statements: iam.PolicyStatement[]): void {
  for (const statement of statements) {
    role.addToPrincipalPolicy(statement);
    const findings = wildcardFindings(statement);
    if (findings.length > 0) acknowledge(role, reason, ...findings);
  }
}

/**
 * S3 notifications are applied by CDK's BucketNotificationsHandler function (one per stack);
 * its role needs s3:PutBucketNotification on buckets it only learns at deploy time.
 */
export function acknowledgeBucketNotificationsHandler(stack: Stack): void {
  for (const child of stack.node.children) {
    if (!child.node.id.startsWith('BucketNotificationsHandler')) continue;
    acknowledge(child, "CDK's notification handler writes its own logs with AWSLambdaBasicExecutionRole.", 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]');
    acknowledge(child, "CDK's notification handler sets notifications on buckets named at deploy time (s3:PutBucketNotification has no narrower form here).", 'AwsSolutions-IAM5[Resource::*]');
  }
}
