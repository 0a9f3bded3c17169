/**
 * What every ECS task of a stack runs on: a small VPC, the cluster and the container image.
 *
 * The VPC has public subnets only and no NAT gateway: tasks get public IPs and reach SQS, ECR,
 * CloudWatch and Secrets Manager through the internet gateway (no NAT's hourly and per-GB
 * charges). A free S3 gateway endpoint keeps the bulk traffic (object reads and writes) on the
 * AWS network. No inbound traffic is allowed.
 */
import * as path from 'node:path';
import { Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULTS } from '../defaults';

/** The repo root: the Docker build context of the one image every service uses. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Files never sent to the Docker build context (also listed in .dockerignore). */
export const IMAGE_EXCLUDES = ['node_modules', 'cdk.out', '.xregion', 'bench', '.git', 'dist', 'test', 'coverage', '.cache', '*.log', 'docs', '.ci', '*.md'];

/** Two AZs by position, so synth needs no availability-zone lookup. */
export function tokenAvailabilityZones(): string[] {
  return [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())];
}

export interface ServicePlatformProps {
  /** @default '10.0.0.0/16' */
  readonly cidr?: string;
}

export class ServicePlatform extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly securityGroup: ec2.SecurityGroup;
  readonly image: ecs.ContainerImage;

  constructor(scope: Construct, id: string, props: ServicePlatformProps = {}) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr ?? '10.0.0.0/16'),
      maxAzs: 2,
      natGateways: 0,
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { retention: DEFAULTS.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.vpc.addFlowLog('RejectedFlows', { trafficType: ec2.FlowLogTrafficType.REJECT, destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) });

    this.securityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: `${Stack.of(this).stackName} tasks: no inbound, HTTPS out`,
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs and Google APIs over HTTPS');

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      enableFargateCapacityProviders: true,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.image = ecs.ContainerImage.fromAsset(REPO_ROOT, {
      file: 'Dockerfile',
      platform: Platform.LINUX_ARM64,
      exclude: IMAGE_EXCLUDES,
    });
  }

  /** Subnets tasks run in (public, with a public IP; see the class comment). */
  get taskSubnets(): ec2.SubnetSelection {
    return { subnetType: ec2.SubnetType.PUBLIC };
  }
}
