/**
 * Fault injection for the sample Drive: rules match requests by method+path regex (and user),
 * and fire a fixed number of times or with a seeded probability.
 */
import { mulberry32 } from '../../shared/random';

export type FaultKind =
  /** 403 userRateLimitExceeded with Retry-After. */
  | 'rateLimit'
  /** 429 rateLimitExceeded. */
  | 'tooManyRequests'
  /** 500 backendError. */
  | 'serverError'
  /** Media/export bodies: send part of the body, then destroy the socket. */
  | 'dropStream'
  /** Media/export bodies: send about half of the body, then nothing more (the socket stays open). */
  | 'stallStream'
  /** 403 downloadQuotaExceeded (does not clear by retrying). */
  | 'downloadQuota'
  /** 403 dailyLimitExceeded. */
  | 'dailyLimit'
  /** 403 with `reason` (no reason at all when omitted), e.g. a permission change mid-run. */
  | 'forbidden'
  /** Delay this response by delayMs. */
  | 'slow';

export interface FaultRule {
  kind: FaultKind;
  /** Regex tested against "METHOD /path?query" (default: every request). */
  match?: string;
  /** Only requests made as this user. */
  user?: string;
  /** Fire on at most this many matching requests. */
  times?: number;
  /** Fire with this probability (seeded PRNG); default 1. */
  probability?: number;
  /** Retry-After seconds for rateLimit/tooManyRequests (may be fractional). */
  retryAfterSeconds?: number;
  /** Error reason for 'forbidden' (default: none). */
  reason?: string;
  /** Delay for 'slow'. */
  delayMs?: number;
}

export interface FaultOptions {
  rules: FaultRule[];
  /** Seed of the PRNG behind `probability`. */
  seed?: number;
}


export class FaultInjector {
  private rules: { rule: FaultRule; re: RegExp; fired: number }[] = [];
  private rand: () => number;
  /** How many times each kind fired. */
  readonly fired: Record<string, number> = {};

  constructor(opts?: FaultOptions) {
    this.rand = mulberry32(opts?.seed ?? 1);
    this.set(opts?.rules ?? []);
  }

  /** Replaces the rule set. */
  set(rules: FaultRule[]): void {
    this.rules = rules.map((rule) => ({ rule, re: new RegExp(rule.match ?? '.*'), fired: 0 }));
  }

  /** The faults that apply to this request (at most one non-'slow' fault). */
  pick(method: string, pathAndQuery: string, user: string | undefined): FaultRule[] {
    const out: FaultRule[] = [];
    const target = `${method} ${pathAndQuery}`;
    for (const r of this.rules) {
      if (r.rule.user && r.rule.user !== user) continue;
      if (!r.re.test(target)) continue;
      if (r.rule.times !== undefined && r.fired >= r.rule.times) continue;
      if (r.rule.probability !== undefined && this.rand() >= r.rule.probability) continue;
      if (r.rule.kind !== 'slow' && out.some((f) => f.kind !== 'slow')) continue;
      r.fired += 1;
      this.fired[r.rule.kind] = (this.fired[r.rule.kind] ?? 0) + 1;
      out.push(r.rule);
    }
    return out;
  }
}
