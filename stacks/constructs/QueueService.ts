/**
 * A queue-driven Fargate service (ARM64): one container of the shared image running one
 * service, scaled on the queue's backlog per task, down to `minTasks` (0 when idle).
 *
 * Scaling: a target-tracking policy on `backlog / running tasks` (backlog = visible + in-flight
 * messages, so tasks still holding a batch are not scaled away) keeps about `backlogPerTask`
 * messages per task; target tracking cannot start the first task (0 tasks × anything = 0),
 * so a step policy adds one task when messages wait and no task runs.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULTS } from '../defaults';
import { acknowledge } from '../nag';
import { commonEnvironment, serviceCommand, type ServiceRole } from '../runtime';
import type { QueueWithDlq } from './QueueWithDlq';
import type { ServicePlatform } from './ServicePlatform';

export interface QueueServiceProps {
  readonly platform: ServicePlatform;
  readonly role: ServiceRole;
  readonly work: QueueWithDlq;
  /** Fargate CPU units and memory (MiB). */
  readonly cpu: number;
  readonly memory: number;
  readonly minTasks: number;
  readonly maxTasks: number;
  /** Messages per running task the scaling aims for. */
  readonly backlogPerTask: number;
  /** Service-specific environment (merged over the common one). */
  readonly environment: Record<string, string>;
  /** Run on Fargate Spot with an on-demand share. @default true */
  readonly spot?: boolean;
}

/** Capacity provider strategy: mostly Spot, one in five tasks on-demand so work continues when Spot is scarce. */
export function capacityStrategy(spot: boolean): ecs.CapacityProviderStrategy[] {
  return spot
    ? [
        { capacityProvider: 'FARGATE_SPOT', weight: 4 },
        { capacityProvider: 'FARGATE', weight: 1 },
      ]
    : [{ capacityProvider: 'FARGATE', weight: 1 }];
}

/** A Fargate task definition for one service of the shared image (ARM64, logs with retention). */
export function serviceTaskDefinition(
  scope: Construct,
  platform: ServicePlatform,
  role: ServiceRole,
  size: { cpu: number; memory: number },
  environment: Record<string, string>,
  secrets?: Record<string, ecs.Secret>,
): { taskDefinition: ecs.FargateTaskDefinition; logGroup: logs.LogGroup } {
  const region = Stack.of(scope).region;
  const logGroup = new logs.LogGroup(scope, 'Logs', { retention: DEFAULTS.logRetention, removalPolicy: RemovalPolicy.DESTROY });
  const taskDefinition = new ecs.FargateTaskDefinition(scope, 'TaskDefinition', {
    cpu: size.cpu,
    memoryLimitMiB: size.memory,
    runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
  });
  taskDefinition.addContainer(role, {
    image: platform.image,
    command: serviceCommand(role),
    environment: { ...commonEnvironment(role, region), ...environment },
    secrets,
    logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: role }),
    stopTimeout: DEFAULTS.stopTimeout,
  });
  acknowledge(taskDefinition, 'The environment holds only non-secret settings (names, URLs, the config slice); the Drive key is an ECS secret.', 'AwsSolutions-ECS2');
  acknowledge(taskDefinition.obtainExecutionRole(), 'ECS execution role: ecr:GetAuthorizationToken has no resource-level permissions.', 'AwsSolutions-IAM5[Resource::*]');
  return { taskDefinition, logGroup };
}

export class QueueService extends Construct {
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly taskRole: iam.IRole;
  readonly logGroup: logs.LogGroup;
  readonly scalableTarget: appscaling.ScalableTarget;
  private readonly work: QueueWithDlq;

  constructor(scope: Construct, id: string, props: QueueServiceProps) {
    super(scope, id);
    const { platform, work } = props;
    this.work = work;
    const stack = Stack.of(this);
    const env = { XREGION_QUEUE_URL: work.queue.queueUrl, ...props.environment };
    const { taskDefinition, logGroup } = serviceTaskDefinition(this, platform, props.role, props, env);
    this.taskDefinition = taskDefinition;
    this.taskRole = taskDefinition.taskRole;
    this.logGroup = logGroup;
    work.queue.grantConsumeMessages(this.taskRole);

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: platform.cluster,
      taskDefinition,
      assignPublicIp: true,
      vpcSubnets: platform.taskSubnets,
      securityGroups: [platform.securityGroup],
      capacityProviderStrategies: capacityStrategy(props.spot ?? true),
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      platformVersion: ecs.FargatePlatformVersion.VERSION1_4,
    });

    this.scalableTarget = new appscaling.ScalableTarget(this, 'TaskCount', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${platform.cluster.clusterName}/${this.service.serviceName}`,
      minCapacity: props.minTasks,
      maxCapacity: props.maxTasks,
      role: iam.Role.fromRoleArn(
        this,
        'ScalingRole',
        `arn:${stack.partition}:iam::${stack.account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService`,
      ),
    });
    this.scalableTarget.node.addDependency(this.service);
    this.addBacklogScaling(props.backlogPerTask);
  }

  /** Running tasks of this service (Container Insights). */
  runningTasks(period = Duration.minutes(1)): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: this.service.cluster.clusterName, ServiceName: this.service.serviceName },
      statistic: 'Average',
      period,
    });
  }

  private addBacklogScaling(backlogPerTask: number): void {
    const queueName = this.work.queue.queueName;
    const sqsMetric = (metricName: string) => ({ metric: { namespace: 'AWS/SQS', metricName, dimensions: [{ name: 'QueueName', value: queueName }] }, stat: 'Average' });
    new appscaling.CfnScalingPolicy(this, 'BacklogPerTask', {
      policyName: `${Stack.of(this).stackName}-${this.node.id}-backlog-per-task`.slice(0, 256),
      policyType: 'TargetTrackingScaling',
      scalingTargetId: this.scalableTarget.scalableTargetId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: backlogPerTask,
        scaleOutCooldown: 60,
        scaleInCooldown: 300,
        customizedMetricSpecification: {
          metrics: [
            { id: 'visible', metricStat: sqsMetric('ApproximateNumberOfMessagesVisible'), returnData: false },
            { id: 'inflight', metricStat: sqsMetric('ApproximateNumberOfMessagesNotVisible'), returnData: false },
            {
              id: 'tasks',
              metricStat: {
                metric: {
                  namespace: 'ECS/ContainerInsights',
                  metricName: 'RunningTaskCount',
                  dimensions: [
                    { name: 'ClusterName', value: this.service.cluster.clusterName },
                    { name: 'ServiceName', value: this.service.serviceName },
                  ],
                },
                stat: 'Average',
              },
              returnData: false,
            },
            {
              id: 'backlogpertask',
              label: 'messages per running task',
              expression: 'IF(FILL(tasks, 0) > 0, (FILL(visible, 0) + FILL(inflight, 0)) / FILL(tasks, 0), FILL(visible, 0) + FILL(inflight, 0))',
              returnData: true,
            },
          ],
        },
      },
    });

    const wake = new appscaling.StepScalingAction(this, 'WakeFromZero', {
      scalingTarget: this.scalableTarget,
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      cooldown: Duration.minutes(1),
    });
    wake.addAdjustment({ lowerBound: 0, adjustment: 1 });
    const waiting = new cloudwatch.MathExpression({
      label: 'messages waiting and no task running',
      expression: 'IF(FILL(tasks, 0) == 0 AND FILL(visible, 0) > 0, 1, 0)',
      usingMetrics: { tasks: this.runningTasks(), visible: this.queueMetric('ApproximateNumberOfMessagesVisible') },
      period: Duration.minutes(1),
    });
    const alarm = new cloudwatch.Alarm(this, 'WakeAlarm', {
      metric: waiting,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `Starts the first ${this.node.id} task when messages wait`,
    });
    alarm.addAlarmAction(new cwActions.ApplicationScalingAction(wake));
  }

  private queueMetric(metricName: string): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: 'AWS/SQS', metricName, dimensionsMap: { QueueName: this.work.queue.queueName }, statistic: 'Average', period: Duration.minutes(1) });
  }
}
