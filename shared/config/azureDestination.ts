/**
 * Azure Blob Storage destinations in replication_config.json (`"cloud": "azure"`): their schema,
 * the checks that span them, and the split that keeps `rule.destinations` the S3 destinations
 * every consumer (topology, stacks, router) handles today, with Azure ones in `azure_destinations`.
 */
import { z } from 'zod';
import { AZURE_ACCESS_TIERS } from '../storage/azure/accessTier';
import { containerNameProblem } from '../storage/azure/names';
import { AWS_REGIONS } from './awsNames';
import { ConfigError, type ConfigIssue } from './errors';
import { showValue } from './formatIssues';

const SERVICE_HOST = /^([a-z0-9]{3,24})\.blob\.core\.(windows\.net|chinacloudapi\.cn|usgovcloudapi\.net)$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Why `url` is not an account URL we accept, or undefined. */
export function accountUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL; e.g. "https://ACCOUNT.blob.core.windows.net" or Azurite\'s "http://127.0.0.1:10000/devstoreaccount1"';
  }
  // A SAS in the URL would be a credential in the config file.
  if (u.search || u.hash || u.username || u.password) return 'must not carry a query, fragment or user info (a SAS token belongs in credentials_secret)';
  if (LOOPBACK_HOSTS.has(u.hostname)) {
    const segments = u.pathname.split('/').filter(Boolean);
    if (segments.length !== 1 || !/^[a-z0-9]{3,24}$/.test(segments[0])) return 'on a loopback host must be Azurite\'s path style, e.g. "http://127.0.0.1:10000/devstoreaccount1"';
    return undefined;
  }
  if (u.protocol !== 'https:') return 'must use https (only a loopback Azurite URL may use http)';
  if (!SERVICE_HOST.test(u.hostname)) return 'must be "https://ACCOUNT.blob.core.windows.net" (account: 3-24 lower-case letters and digits)';
  if (u.pathname !== '/' && u.pathname !== '') return 'must name the account only (no path; the container is its own key)';
  return undefined;
}

const tierList = AZURE_ACCESS_TIERS.join(', ');

export const azureDestinationSchema = z.strictObject({
  cloud: z.literal('azure'),
  /** `https://ACCOUNT.blob.core.windows.net`, or Azurite's `http://127.0.0.1:PORT/devstoreaccount1`. */
  account_url: z.string().superRefine((url, ctx) => {
    const problem = accountUrlProblem(url);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  container: z.string().superRefine((name, ctx) => {
    const problem = containerNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: `is not a valid Azure container name: ${problem}` });
  }),
  /** Key prefix inside the container (as S3 key prefixes: no leading slash, no ".." segment). */
  prefix: z
    .string()
    .refine((p) => !p.startsWith('/'), { message: 'must not start with "/"' })
    .refine((p) => !p.split('/').includes('..'), { message: 'must not contain a ".." segment' })
    .default(''),
  access_tier: z.enum(AZURE_ACCESS_TIERS, { error: `is not an Azure access tier (${tierList})` }).default('Hot'),
  /** true: keep the archive and its catalog rows; false: unpack every object to its original key. */
  backup: z.boolean().default(false),
  /** Secrets Manager secret holding an account key or SAS; absent: DefaultAzureCredential (Azurite's dev key on a loopback URL). */
  credentials_secret: z.string().min(1).optional(),
  /** AWS region whose router writes here (default: the rule's destination regions' routers decide when wired). */
  region: z.enum(AWS_REGIONS, { error: 'is not an AWS region code; e.g. us-east-1, eu-central-1' }).optional(),
});

export type AzureDestination = z.output<typeof azureDestinationSchema>;

/** True for a destination written with `"cloud": "azure"` (also on leniently parsed parts). */
export function isAzureDestination<T extends { cloud?: unknown }>(d: T | undefined): d is T & { cloud: 'azure' } {
  return d?.cloud === 'azure';
}

/** Moves each rule's Azure destinations out of `destinations` into `azure_destinations` (present only when it has some). */
export function splitDestinations<R extends { destinations: readonly ({ cloud?: unknown } & object)[] }, S, A>(
  rule: R,
): Omit<R, 'destinations'> & { destinations: S[]; azure_destinations?: A[] } {
  const azure = rule.destinations.filter((d) => isAzureDestination(d)) as unknown as A[];
  const s3 = rule.destinations.filter((d) => !isAzureDestination(d)) as unknown as S[];
  return { ...rule, destinations: s3, ...(azure.length > 0 ? { azure_destinations: azure } : {}) };
}

interface LenientAzure {
  account_url?: string;
  container?: string;
  prefix?: string;
}

/** The warning every Azure destination gets while nothing delivers to it. */
const NOT_DELIVERED = 'is an Azure destination: validated, but this version does not deliver to Azure yet (router, restore and verify are not wired)';

/**
 * For commands that run or deploy the pipeline (`start`, the stacks): the not-delivered warnings
 * become errors, since a destination nothing writes to must never pass for one that is served
 * (`config check` still only warns, so the file can be prepared ahead).
 */
export function refuseUndeliveredDestinations(file: string, warnings: readonly ConfigIssue[]): void {
  const issues = warnings.filter((w) => w.message === NOT_DELIVERED);
  if (issues.length) throw new ConfigError(file, issues.map((i) => ({ ...i, message: `${i.message}: remove it to run or deploy this config` })));
}

/**
 * Cross-checks on Azure destinations: one rule writing twice to overlapping prefixes of one
 * container is an error; every Azure destination gets a warning while nothing delivers to it yet.
 */
export function checkAzureDestinations(destinations: readonly (({ cloud?: unknown } & object) | undefined)[], rulePath: string, errors: ConfigIssue[], warnings: ConfigIssue[]): void {
  const seen: { at: number; url: string; container: string; prefix: string }[] = [];
  destinations.forEach((d, j) => {
    if (!d || !isAzureDestination(d)) return;
    const { account_url: url, container, prefix } = d as LenientAzure;
    const dp = `${rulePath}.destinations[${j}]`;
    warnings.push({ path: dp, message: NOT_DELIVERED });
    if (url === undefined || container === undefined || prefix === undefined) return;
    const other = seen.find((s) => s.url === url.replace(/\/+$/, '') && s.container === container && (s.prefix.startsWith(prefix) || prefix.startsWith(s.prefix)));
    if (other) {
      errors.push({ path: `${dp}.prefix`, value: showValue(prefix), message: `overlaps destination ${other.at} of this rule (same account and container "${container}")` });
    }
    seen.push({ at: j, url: url.replace(/\/+$/, ''), container, prefix });
  });
}
