/**
 * The queryable catalog of a target region: the catalog bucket (JSONL rows, kept 365 days),
 * a Glue database with one table per rule (OpenX JSON SerDe, partition projection on
 * year/month/day), a daily Glue crawler that adds partitions and never rewrites the schema, and
 * an Athena workgroup with its own results bucket (results kept 30 days, enforced settings).
 */
import { Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CATALOG_COLUMNS, CATALOG_PARTITION_KEYS, catalogBase as catalogBaseOf } from '../../shared/catalog/columns';
import { DEFAULTS } from '../defaults';
import { bucketArn, objectsArn } from '../iam';
import { grantScoped } from '../nag';
import { athenaWorkGroupName, catalogDatabaseName, catalogTableName } from '../names';
import { secureBucketProps } from './buckets';

/** One catalogued rule: where its rows live in the catalog bucket. */
export interface CatalogTableSpec {
  readonly sourceBucket: string;
  readonly sourcePrefix: string;
}

export interface CatalogProps {
  readonly stackName: string;
  readonly bucketName: string;
  readonly tables: readonly CatalogTableSpec[];
  readonly accessLogs: s3.IBucket;
  /** Key that encrypts the crawler's CloudWatch logs (its policy is extended for CloudWatch Logs). */
  readonly logKey: kms.Key;
}

/** Catalog folder of a rule, ending in `/` (shared/catalog's catalogBase, which the router's keys use). */
export const catalogBase = (t: CatalogTableSpec): string => catalogBaseOf(t.sourceBucket, t.sourcePrefix);

/** Partition projection parameters: year/month/day as zero-padded integers, read as strings. */
export function projectionParameters(bucketName: string, t: CatalogTableSpec): Record<string, string> {
  return {
    classification: 'json',
    'projection.enabled': 'true',
    'projection.year.type': 'integer',
    'projection.year.range': '2020,2099',
    'projection.month.type': 'integer',
    'projection.month.range': '1,12',
    'projection.month.digits': '2',
    'projection.day.type': 'integer',
    'projection.day.range': '1,31',
    'projection.day.digits': '2',
    'storage.location.template': `s3://${bucketName}/${catalogBase(t)}year=\${year}/month=\${month}/day=\${day}/`,
  };
}

export class Catalog extends Construct {
  readonly bucket: s3.Bucket;
  readonly bucketName: string;
  readonly resultsBucket: s3.Bucket;
  readonly database: glue.CfnDatabase;
  readonly tables: glue.CfnTable[] = [];
  readonly crawler: glue.CfnCrawler;
  readonly workGroup: athena.CfnWorkGroup;

  constructor(scope: Construct, id: string, props: CatalogProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.bucketName = props.bucketName;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...secureBucketProps(props.accessLogs, `${props.bucketName}/`),
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.S3_MANAGED,
      lifecycleRules: [{ id: 'expire-catalog-rows', expiration: DEFAULTS.catalogExpiration, abortIncompleteMultipartUploadAfter: DEFAULTS.abortIncompleteUpload }],
    });

    const databaseName = catalogDatabaseName(props.stackName);
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: stack.account,
      databaseInput: { name: databaseName, description: `${props.stackName}: one table per replication rule with a backup destination in ${stack.region}` },
    });
    for (const t of props.tables) {
      const name = catalogTableName(t.sourceBucket, t.sourcePrefix);
      const table = new glue.CfnTable(this, `Table-${name}`, {
        catalogId: stack.account,
        databaseName,
        tableInput: {
          name,
          description: `Catalog of s3://${t.sourceBucket}/${t.sourcePrefix}`,
          tableType: 'EXTERNAL_TABLE',
          parameters: projectionParameters(props.bucketName, t),
          partitionKeys: CATALOG_PARTITION_KEYS.map((k) => ({ name: k, type: 'string' })),
          storageDescriptor: {
            location: `s3://${props.bucketName}/${catalogBase(t)}`,
            inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
            serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe', parameters: { 'ignore.malformed.json': 'true' } },
            columns: CATALOG_COLUMNS.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
          },
        },
      });
      table.addResourceDependency(this.database);
      this.tables.push(table);
    }

    this.crawler = this.createCrawler(props, databaseName);
    this.resultsBucket = new s3.Bucket(this, 'AthenaResults', {
      ...secureBucketProps(props.accessLogs, 'athena-results/'),
      encryption: s3.BucketEncryption.S3_MANAGED,
      lifecycleRules: [{ id: 'expire-query-results', expiration: DEFAULTS.athenaResultsExpiration, abortIncompleteMultipartUploadAfter: DEFAULTS.abortIncompleteUpload }],
    });
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: athenaWorkGroupName(props.stackName),
      description: `${props.stackName}: queries over the backup catalog`,
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });
  }

  private createCrawler(props: CatalogProps, databaseName: string): glue.CfnCrawler {
    const stack = Stack.of(this);
    const arn = (resource: string) => `arn:aws:glue:${stack.region}:${stack.account}:${resource}`;
    const name = `${props.stackName}-catalog`;
    props.logKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'Allow CloudWatch Logs to encrypt the Glue crawler logs',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:/aws-glue/crawlers*` } },
      }),
    );
    const security = new glue.CfnSecurityConfiguration(this, 'CrawlerSecurity', {
      name: `${props.stackName}-crawler`,
      encryptionConfiguration: {
        cloudWatchEncryption: { cloudWatchEncryptionMode: 'SSE-KMS', kmsKeyArn: props.logKey.keyArn },
        s3Encryptions: [{ s3EncryptionMode: 'SSE-S3' }],
        jobBookmarksEncryption: { jobBookmarksEncryptionMode: 'DISABLED' },
      },
    });
    const role = new iam.Role(this, 'CrawlerRole', { assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'), description: `${name} crawler` });
    const logGroups = `arn:aws:logs:${stack.region}:${stack.account}:log-group:/aws-glue/crawlers*`;
    grantScoped(
      role,
      'The crawler reads the catalog objects and adds partitions to the tables of its own database; crawler log groups and streams are created per run under /aws-glue/crawlers.',
      new iam.PolicyStatement({
        actions: [
          'glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition',
          'glue:CreatePartition', 'glue:BatchCreatePartition', 'glue:UpdatePartition', 'glue:BatchUpdatePartition',
        ],
        resources: [arn('catalog'), arn(`database/${databaseName}`), arn(`table/${databaseName}/*`)],
      }),
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objectsArn(props.bucketName, '')] }),
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucketArn(props.bucketName)] }),
      new iam.PolicyStatement({ actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'], resources: [logGroups, `${logGroups}:*`] }),
    );
    grantScoped(
      role,
      'Glue security configurations have no ARN, so glue:GetSecurityConfiguration takes only "*".',
      new iam.PolicyStatement({ actions: ['glue:GetSecurityConfiguration'], resources: ['*'] }),
    );
    props.logKey.grant(role, 'kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey');

    const crawler = new glue.CfnCrawler(this, 'Crawler', {
      name,
      role: role.roleArn,
      description: 'Adds partitions to the catalog tables daily; never changes their schema',
      targets: { catalogTargets: [{ databaseName, tables: this.tables.map((t) => (t.tableInput as glue.CfnTable.TableInputProperty).name as string) }] },
      schedule: { scheduleExpression: DEFAULTS.crawlerSchedule },
      schemaChangePolicy: { updateBehavior: 'LOG', deleteBehavior: 'LOG' },
      recrawlPolicy: { recrawlBehavior: 'CRAWL_EVERYTHING' },
      configuration: JSON.stringify({ Version: 1.0, CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } } }),
      crawlerSecurityConfiguration: security.ref,
    });
    for (const t of this.tables) crawler.addResourceDependency(t);
    crawler.node.addDependency(role);
    return crawler;
  }
}
