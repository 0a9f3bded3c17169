/** Drive/Google partial responses: applies a `fields` selector (`a,b(c,d),e/f`) to a JSON value. */

export type FieldTree = Map<string, FieldTree | true>;

/** Parses a fields selector; '*' or empty selects everything (returns undefined). */
export function parseFields(fields: string | undefined): FieldTree | undefined {
  if (!fields || fields.trim() === '*' || fields.trim() === '') return undefined;
  let i = 0;
  const parseList = (): FieldTree => {
    const tree: FieldTree = new Map();
    for (;;) {
      while (fields[i] === ' ' || fields[i] === ',') i++;
      if (i >= fields.length || fields[i] === ')') return tree;
      let name = '';
      while (i < fields.length && !',()'.includes(fields[i])) name += fields[i++];
      name = name.trim();
      let sub: FieldTree | true = true;
      if (fields[i] === '(') {
        i++;
        sub = parseList();
        i++; // ')'
      }
      // a/b/c is a(b(c))
      const parts = name.split('/');
      for (let k = parts.length - 1; k > 0; k--) sub = new Map([[parts[k], sub]]);
      const prev = tree.get(parts[0]);
      if (prev instanceof Map && sub instanceof Map) for (const [k, v] of sub) prev.set(k, v);
      else tree.set(parts[0], prev === true ? true : sub);
    }
  };
  return parseList();
}

/** Keeps only the selected fields (arrays are filtered element by element). */
export function applyFields(value: unknown, tree: FieldTree | true | undefined): unknown {
  if (tree === undefined || tree === true || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => applyFields(v, tree));
  const out: Record<string, unknown> = {};
  const obj = value as Record<string, unknown>;
  if (tree.has('*')) return value;
  for (const [k, sub] of tree) if (obj[k] !== undefined) out[k] = applyFields(obj[k], sub);
  return out;
}
