/**
 * Alarms and the dashboard of one stack: an SNS topic (KMS-encrypted, with the config's e-mail
 * subscriptions) that CloudWatch alarms and EventBridge may publish to, alarms on queues, on the
 * services' EMF metrics and on ECS tasks that stop with an error, and one dashboard.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS } from '../defaults';
import type { QueueWithDlq } from './QueueWithDlq';

export interface MonitoringProps {
  /** Key of the topic; its policy is extended so CloudWatch and EventBridge can use it. */
  readonly key: kms.Key;
  readonly emails: readonly string[];
  readonly dashboardName: string;
}

/** A CloudWatch Metrics Insights query over the services' EMF metrics (any dimension set). */
export function insights(expression: string, label: string, period = Duration.minutes(5)): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({ expression, label, period });
}

export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];
  private readonly action: cwActions.SnsAction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      props.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Allow ${service} to publish to the encrypted alarm topic`,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
    }
    this.topic = new sns.Topic(this, 'Alarms', { masterKey: props.key, enforceSSL: true, displayName: `${stack.stackName} alarms` });
    for (const email of props.emails) this.topic.addSubscription(new subs.EmailSubscription(email));
    this.action = new cwActions.SnsAction(this.topic);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName, defaultInterval: Duration.hours(3) });
  }

  /** Alarms when the DLQ holds a message or the oldest message waits too long; adds queue widgets. */
  watchQueue(label: string, work: QueueWithDlq): void {
    const id = label.replace(/[^A-Za-z0-9]/g, '');
    const dlqDepth = work.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' });
    const age = work.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' });
    this.alarm(`${id}DlqNotEmpty`, dlqDepth, 1, `${label}: messages in the dead-letter queue (failed ${DEFAULTS.maxReceiveCount} times)`);
    this.alarm(`${id}OldestMessage`, age, DEFAULTS.oldestMessageAlarm.toSeconds(), `${label}: oldest message older than ${DEFAULTS.oldestMessageAlarm.toHumanString()}`);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `${label}: queue depth`,
        left: [
          work.queue.metricApproximateNumberOfMessagesVisible({ label: 'waiting', period: Duration.minutes(1) }),
          work.queue.metricApproximateNumberOfMessagesNotVisible({ label: 'in flight', period: Duration.minutes(1) }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: `${label}: oldest message (s)`, left: [age], width: 8 }),
      new cloudwatch.GraphWidget({ title: `${label}: dead-letter queue`, left: [dlqDepth], width: 8 }),
    );
  }

  /** Alarms when a plain dead-letter queue (e.g. the scheduler's) receives anything. */
  watchDeadLetterQueue(label: string, dlq: sqs.IQueue): void {
    const depth = dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' });
    this.alarm(`${label.replace(/[^A-Za-z0-9]/g, '')}DlqNotEmpty`, depth, 1, `${label}: messages in the dead-letter queue`);
  }

  /** Alarms when the sum of an EMF metric of one service is at least `threshold` in 5 minutes. */
  alarmOnServiceMetric(id: string, service: string, metricName: string, description: string, threshold = 1): void {
    const metric = insights(`SELECT SUM(${metricName}) FROM ${DEFAULTS.metricsNamespace} WHERE service = '${service}'`, `${service} ${metricName}`);
    this.alarm(id, metric, threshold, description);
  }

  /**
   * Alarms when S3 reports a failed replication operation on one replication rule of a bucket.
   * OperationsFailedReplication (AWS/S3, per source bucket, destination bucket and rule id) exists
   * only with S3 Replication metrics on the rule, which the stacks enable on every rule, with or
   * without RTC (metrics do not need RTC; S3 bills them as custom CloudWatch metrics).
   */
  alarmOnReplicationFailures(sourceBucket: string, rules: readonly { readonly ruleId: string; readonly destinationBucket: string }[]): void {
    rules.forEach((r, i) => {
      const metric = new cloudwatch.Metric({
        namespace: 'AWS/S3',
        metricName: 'OperationsFailedReplication',
        dimensionsMap: { SourceBucket: sourceBucket, DestinationBucket: r.destinationBucket, RuleId: r.ruleId },
        statistic: 'Sum',
        period: Duration.minutes(5),
      });
      this.alarm(`ReplicationFailed${i}`, metric, 1, `S3 replication of s3://${sourceBucket} (rule "${r.ruleId}") to s3://${r.destinationBucket} failed for an archive: it will not be retried by S3 (re-replicate with S3 Batch Replication before the outbox expires it)`);
    });
  }

  /** Alarms (to the topic) when `metric` reaches `threshold` in one period. */
  alarmOn(id: string, metric: cloudwatch.IMetric, threshold: number, description: string): cloudwatch.Alarm {
    return this.alarm(id, metric, threshold, description);
  }

  /** Publishes to the topic when a task of the cluster fails to start or its container exits non-zero. */
  watchClusterTasks(cluster: ecs.ICluster): void {
    const rule = new events.Rule(this, 'TaskFailures', {
      description: `${Stack.of(this).stackName}: ECS tasks that failed`,
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: [cluster.clusterArn],
          lastStatus: ['STOPPED'],
          $or: [{ stopCode: ['TaskFailedToStart'] }, { stopCode: ['EssentialContainerExited'], containers: { exitCode: [{ 'anything-but': 0 }] } }],
        },
      },
    });
    rule.addTarget(new targets.SnsTopic(this.topic));
  }

  /** Adds widgets to the dashboard. */
  addWidgets(...widgets: cloudwatch.IWidget[]): void {
    this.dashboard.addWidgets(...widgets);
  }

  /** Adds an alarm-status widget for every alarm created so far (call last). */
  finish(): void {
    if (this.alarms.length > 0) this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }));
  }

  private alarm(id: string, metric: cloudwatch.IMetric, threshold: number, description: string): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }
}
