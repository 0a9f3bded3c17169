/** Turns zod issues into ConfigIssues that name the JSON path, the value found and what is allowed. */
import type { z } from 'zod';
import { closest } from './awsNames';
import type { ConfigIssue } from './errors';

type PathKey = PropertyKey;

/** `a.b[0]["x y"]` from ['a', 'b', 0, 'x y']. */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** The value at `path` inside the raw (unparsed) document. */
export function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key as never];
  }
  return cur;
}

/** Short JSON rendering of a value for an error message. */
export function showValue(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 0 ? '[]' : '[...]';
  if (value !== null && typeof value === 'object') return '{...}';
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}..."` : json;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  innerType?: z.ZodType;
  valueType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
}

function def(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { def: SchemaDef }).def;
}

/** Unwraps default/optional/pipe wrappers down to the structural schema. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let d = def(s); ; d = def(s)) {
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

/** The option of a discriminated union that `value` selects (destinations: S3 or Azure). */
function pickOption(s: z.ZodType, value: unknown): z.ZodType {
  const d = def(s);
  if (d.type !== 'union' || !d.discriminator || !d.options || value === null || typeof value !== 'object') return s;
  const tag = (value as Record<string, unknown>)[d.discriminator];
  return d.options.find((o) => def(unwrap(o)).shape?.[d.discriminator as string]?.safeParse(tag).success) ?? s;
}

/** The object keys the schema allows at `path` in `root`, when it is an object there. */
export function allowedKeysAt(schema: z.ZodType, path: readonly PathKey[], root?: unknown): string[] | undefined {
  let s: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    const d = def(s);
    if (d.type === 'object' && d.shape && typeof key === 'string') s = d.shape[key];
    else if (d.type === 'array' && d.element) s = d.element;
    else if (d.type === 'record' && d.valueType) s = d.valueType;
    else return undefined;
    if (!s) return undefined;
    s = unwrap(s);
  }
  s = unwrap(pickOption(s, valueAt(root, path)));
  const d = def(s);
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : undefined;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
};

function describe(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type': {
      const want = TYPE_NAMES[issue.expected] ?? issue.expected;
      return input === undefined ? `is required (${want})` : `must be ${want}`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array') return `must have at least ${min} item${min === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return `must be at least ${min} characters long`;
      return issue.inclusive ? `must be at least ${min}` : `must be greater than ${min}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'array') return `must have at most ${max} items`;
      if (issue.origin === 'string') return `must be at most ${max} characters long`;
      return issue.inclusive ? `must be at most ${max}` : `must be less than ${max}`;
    }
    case 'invalid_union':
      return issue.message.startsWith('Invalid input') ? 'has the wrong shape' : issue.message;
    default:
      return issue.message;
  }
}

/** Converts zod issues on `raw` into ConfigIssues (one per unknown key). */
export function formatIssues(schema: z.ZodType, raw: unknown, issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeysAt(schema, issue.path, raw) ?? [];
      for (const key of issue.keys) {
        const hint = closest(key, allowed);
        out.push({
          path: formatPath([...issue.path, key]),
          message: `is not a known key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed here: ${allowed.join(', ')}`,
        });
      }
      continue;
    }
    const input = valueAt(raw, issue.path);
    out.push({ path: formatPath(issue.path), value: showValue(input), message: describe(issue, input) });
  }
  return out;
}
