/**
 * The zod schema of replication_config.json: every key, its type and its default.
 * Messages here describe only what is allowed; formatIssues() prefixes the JSON path and value.
 */
import { z } from 'zod';
import { AWS_REGIONS, S3_STORAGE_CLASSES, bucketNameProblem, closest } from './awsNames';
import { azureDestinationSchema, type AzureDestination } from './azureDestination';

function didYouMean(input: unknown, allowed: readonly string[]): string {
  const hint = typeof input === 'string' ? closest(input, allowed) : undefined;
  return hint ? ` (did you mean "${hint}"?)` : '';
}

const region = z.enum(AWS_REGIONS, {
  error: (iss) => `is not an AWS region code${didYouMean(iss.input, AWS_REGIONS)}; e.g. us-east-1, us-west-2, eu-central-1`,
});

const bucketName = z
  .string({ error: 'must be a bucket name (string)' })
  .superRefine((name, ctx) => {
    const problem = bucketNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: `is not a valid S3 bucket name: ${problem}` });
  });

const storageClass = z.enum(S3_STORAGE_CLASSES, {
  error: (iss) => `is not an S3 storage class${didYouMean(iss.input, S3_STORAGE_CLASSES)} (${S3_STORAGE_CLASSES.join(', ')})`,
});

/** An S3 key prefix: no leading slash, no `..` segment. Empty means the whole bucket. */
const keyPrefix = z
  .string()
  .refine((p) => !p.startsWith('/'), { message: 'must not start with "/" (S3 keys have no leading slash)' })
  .refine((p) => !p.split('/').includes('..'), { message: 'must not contain a ".." segment' });

const kmsKeyArn = z.string().default('');
const positiveInt = (max?: number) => (max ? z.number().int().positive().max(max) : z.number().int().positive());

export const batchSchema = z.strictObject({
  /** Close the batch at this many objects. */
  max_objects: positiveInt(100_000).default(1000),
  /** Close the batch once this many uncompressed bytes are in it (default 512 MiB). */
  max_bytes: positiveInt().default(536_870_912),
  /** Close the batch this long after its first object arrived. */
  max_wait_seconds: z.number().int().min(0).max(900).default(30),
});

export const compressionSchema = z.strictObject({
  /** zstd level: 1 (fastest) to 19 (smallest); 3 is zstd's default. */
  level: z.number().int().min(1).max(19).default(3),
  /** Uncompressed bytes per zstd frame before it closes at a member boundary (default 4 MiB). */
  frame_target_bytes: z.number().int().min(65_536).max(33_554_432).default(4_194_304),
  /** Compression worker threads per archive (0 = on the calling thread); 2 measured fastest on an idle 2-vCPU task. */
  threads: z.number().int().min(0).max(16).default(2),
});

export const scalingSchema = z.strictObject({
  min_tasks: z.number().int().min(0).max(1000).default(0),
  max_tasks: z.number().int().min(1).max(1000).default(20),
  /** Queue messages per running task before another task starts. */
  backlog_per_task: z.number().int().positive().default(200),
  /** Fargate task CPU units. */
  cpu: z.number().int().default(2048),
  /** Fargate task memory in MiB. */
  memory: z.number().int().default(4096),
});

export const sourceSchema = z.strictObject({
  region,
  bucket: bucketName,
  prefix_filter: keyPrefix.default(''),
  suffix_filter: z.string().default(''),
  /** KMS key of the source bucket (empty: SSE-S3 or bucket default). */
  kms_key_arn: kmsKeyArn,
  batch: batchSchema.prefault({}),
  compression: compressionSchema.prefault({}),
  scaling: scalingSchema.prefault({}),
  /** S3 Replication Time Control on this rule's replication (15-minute SLA, extra cost). */
  replication_time_control: z.boolean().default(false),
});

export const objectLockSchema = z.strictObject({
  mode: z.enum(['COMPLIANCE', 'GOVERNANCE'], { error: 'is not an Object Lock mode (COMPLIANCE, GOVERNANCE)' }),
  days: z.number().int().min(1).max(36_500),
});

export const destinationSchema = z.strictObject({
  /** S3 when absent. */
  cloud: z.literal('aws').optional(),
  region,
  bucket: bucketName,
  storage_class: storageClass.default('STANDARD'),
  /** true: keep the archive and write catalog rows; false: unpack every object to its original key. */
  backup: z.boolean().default(false),
  create_bucket: z.boolean().default(false),
  /** Only on buckets this deployment creates. */
  object_lock: objectLockSchema.optional(),
  kms_key_arn: kmsKeyArn,
});

export const ruleSchema = z.strictObject({
  source: sourceSchema,
  /** S3 destinations and Azure ones ("cloud": "azure"); parseConfig moves the latter to `azure_destinations`. */
  destinations: z
    .array(
      z.discriminatedUnion('cloud', [destinationSchema, azureDestinationSchema], {
        error: (iss) => (iss.code === 'invalid_union' ? 'is not a destination cloud ("aws", the default, or "azure")' : undefined),
      }),
    )
    .min(1, { message: 'must list at least one destination' }),
});

const email = z.email({ error: 'is not an e-mail address' });

export const userOverrideSchema = z.strictObject({
  exclude_patterns: z.array(z.string()).optional(),
  max_file_size_mb: z.number().int().min(0).optional(),
  enabled: z.boolean().optional(),
});

export const EXPORT_FORMATS = {
  document: ['docx', 'odt', 'pdf', 'rtf', 'txt', 'html', 'epub', 'md'],
  spreadsheet: ['xlsx', 'ods', 'pdf', 'csv', 'tsv'],
  presentation: ['pptx', 'odp', 'pdf', 'txt'],
  drawing: ['svg', 'png', 'jpg', 'pdf'],
} as const;

const exportFormat = <K extends keyof typeof EXPORT_FORMATS>(kind: K, dflt: (typeof EXPORT_FORMATS)[K][number]) =>
  z.enum(EXPORT_FORMATS[kind], { error: `is not an export format for Google ${kind}s (${EXPORT_FORMATS[kind].join(', ')})` }).default(dflt);

export const driveSourceSchema = z.strictObject({
  /** Short name of this source (used in state keys and logs). */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'must be lower-case letters, digits and hyphens' }),
  domain: z.string().min(1),
  /** Admin impersonated to list users (Admin SDK Directory). */
  admin_subject: email.optional(),
  /** Secrets Manager secret name holding the service-account JSON key. */
  credentials_secret: z.string().min(1).default('xregion/drive'),
  users: z.union([z.literal('all'), z.array(email).min(1)], { error: 'must be "all" or a list of e-mail addresses' }).default('all'),
  /**
   * With users "all": which of the account's domains to list. "all" asks users.list for the whole
   * account (customer=my_customer, secondary domains included); a list asks once per domain.
   */
  user_domains: z.union([z.literal('all'), z.array(z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/, { message: 'is not a domain name (lower case, e.g. "acme.com")' })).min(1)], {
    error: 'must be "all" or a list of domain names',
  }).default('all'),
  /**
   * Files a backed-up user can see but that someone outside the backed-up set owns: "backup" (once,
   * under one subject that sees them) or "record" (listed as not_owned with the owner). Owners inside
   * the Workspace (suspended, departed, not listed) default to backup; outside (partners) to record.
   */
  not_owned: z
    .strictObject({
      internal: z.enum(['backup', 'record'], { error: 'must be "backup" or "record"' }).default('backup'),
      external: z.enum(['backup', 'record'], { error: 'must be "backup" or "record"' }).default('record'),
    })
    .prefault({}),
  shared_drives: z.boolean().default(false),
  key_layout: z.enum(['user_first', 'date_first'], { error: 'is not a key layout (user_first, date_first)' }).default('user_first'),
  export_formats: z
    .strictObject({
      document: exportFormat('document', 'docx'),
      spreadsheet: exportFormat('spreadsheet', 'xlsx'),
      presentation: exportFormat('presentation', 'pptx'),
      drawing: exportFormat('drawing', 'svg'),
    })
    .prefault({}),
  exclude_patterns: z.array(z.string()).default([]),
  /** Files larger than this are recorded, not copied; 0 means no limit. */
  max_file_size_mb: z.number().int().min(0).default(10_240),
  /** Parallel file transfers per run. */
  concurrency: z.number().int().min(1).max(64).default(8),
  /**
   * Users (and shared drives) worked on at once; they share `concurrency`. Each user starts with a
   * few sequential calls (token, root, start token, listings) during which its transfer slots idle,
   * so a domain of many small users needs several at once (default chosen with bench:drive).
   */
  user_concurrency: z.number().int().min(1).max(64).default(8),
  schedule: z
    .string()
    .regex(/^(cron\(\S+ \S+ \S+ \S+ \S+ \S+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/, {
      message: 'is not an EventBridge Scheduler expression, e.g. "cron(0 2 * * ? *)" or "rate(12 hours)"',
    })
    .default('cron(0 2 * * ? *)'),
  user_overrides: z.record(z.string(), userOverrideSchema).default({}),
  target: z.strictObject({
    region,
    bucket: bucketName,
    prefix: keyPrefix.default(''),
    create_bucket: z.boolean().default(false),
  }),
});

export const configSchema = z.strictObject({
  /** Prefix of every resource name; short, because bucket names embed it. */
  stack_name: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,23}$/, { message: 'must be 1-24 lower-case letters, digits or hyphens, starting with a letter' })
    .default('xregion'),
  notification_emails: z.array(email).default([]),
  tags: z.record(z.string(), z.string()).default({}),
  drive_sources: z.array(driveSourceSchema).default([]),
  replication_configuration: z.array(ruleSchema).min(1, { message: 'must contain at least one rule' }),
});

/** replication_config.json as the schema parses it: each rule's S3 and Azure destinations in one list. */
export type ParsedConfig = z.output<typeof configSchema>;
/** A rule as services see it: `destinations` are the S3 ones; `azure_destinations` only when it has some. */
export type ReplicationRule = Omit<z.output<typeof ruleSchema>, 'destinations'> & { destinations: Destination[]; azure_destinations?: AzureDestination[] };
/** A validated, defaulted replication_config.json (see ReplicationRule for its destinations). */
export type Config = Omit<ParsedConfig, 'replication_configuration'> & { replication_configuration: ReplicationRule[] };
export type { AzureDestination };
export type RuleSource = z.output<typeof sourceSchema>;
export type Destination = z.output<typeof destinationSchema>;
export type DriveSource = z.output<typeof driveSourceSchema>;
export type UserOverride = z.output<typeof userOverrideSchema>;
/** A config as written, with S3 destinations only (what most tests and tools build). */
export type ConfigInput = Omit<z.input<typeof configSchema>, 'replication_configuration'> & {
  replication_configuration: (Omit<z.input<typeof ruleSchema>, 'destinations'> & { destinations: z.input<typeof destinationSchema>[] })[];
};
/** A config as written, destinations of any cloud. */
export type AnyConfigInput = z.input<typeof configSchema>;

/** Key, on a leniently parsed object, of the set of its keys whose values did not parse. */
export const MALFORMED: unique symbol = Symbol('malformed');

/**
 * What lenientParse() makes of a config: every part that parsed, with its defaults; a part that
 * did not is absent (an object's key, an array's item left undefined at its index).
 */
export type Lenient<T> = T extends readonly (infer U)[]
  ? (Lenient<U> | undefined)[]
  : T extends object
    ? { [K in keyof T]?: Lenient<T[K]> } & { readonly [MALFORMED]?: ReadonlySet<string> }
    : T;

interface WalkDef {
  type: string;
  options?: z.ZodType[];
  discriminator?: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
}

const walkDef = (schema: z.ZodType): WalkDef => (schema as unknown as { def: WalkDef }).def;

/** Strips default/prefault/optional wrappers (not pipes: their output is another type). */
function structural(schema: z.ZodType): WalkDef {
  let d = walkDef(schema);
  while (d.innerType) d = walkDef(d.innerType);
  return d;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

type Parsed = { ok: true; value: unknown } | { ok: false };

function lenient(schema: z.ZodType, raw: unknown): Parsed {
  // A missing value is the wrapper's business (default, prefault, optional, or required).
  if (raw !== undefined) {
    const d = structural(schema);
    if (d.type === 'object' && d.shape && isPlainObject(raw)) {
      const out: Record<string | symbol, unknown> = {};
      const malformed = new Set<string>();
      for (const [key, field] of Object.entries(d.shape)) {
        const r = lenient(field, raw[key]);
        if (r.ok) out[key] = r.value;
        else malformed.add(key);
      }
      if (malformed.size > 0) out[MALFORMED] = malformed;
      return { ok: true, value: out };
    }
    if (d.type === 'array' && d.element && Array.isArray(raw)) {
      const element = d.element;
      return {
        ok: true,
        value: raw.map((item) => {
          const r = lenient(element, item);
          return r.ok ? r.value : undefined;
        }),
      };
    }
    // A discriminated union (destinations): walk the option its discriminator picks.
    const { discriminator, options } = d;
    if (d.type === 'union' && discriminator && options && isPlainObject(raw)) {
      const option = options.find((o) => structural(o).shape?.[discriminator]?.safeParse(raw[discriminator]).success);
      if (option) return lenient(option, raw);
    }
    if (d.type === 'record' && d.valueType && isPlainObject(raw)) {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(raw)) {
        const r = lenient(d.valueType, value);
        if (r.ok) out[key] = r.value;
      }
      return { ok: true, value: out };
    }
  }
  const parsed = schema.safeParse(raw);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false };
}

/**
 * Parses `raw` part by part: each object key, list item and record value on its own, so that one
 * malformed field costs only that field. Unknown keys are ignored, and a list's own length limits
 * and an object's own refinements are not applied (the strict parse reports those). Cross-checks
 * run on this when the strict parse fails, to report their findings in the same run.
 */
export function lenientParse<S extends z.ZodType>(schema: S, raw: unknown): Lenient<z.output<S>> | undefined {
  const r = lenient(schema, raw);
  return r.ok ? (r.value as Lenient<z.output<S>>) : undefined;
}
