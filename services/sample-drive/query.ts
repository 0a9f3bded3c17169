/**
 * The subset of Drive's `q` search syntax the sample server understands:
 * `'ID' in parents`, `'EMAIL' in owners` ('me' too), `trashed = true|false`,
 * `mimeType = '...'` / `!=`, `name = '...'` / `!=` / `contains`, joined with and/or/not and parentheses.
 */
import type { SampleFile } from './Workspace';

export type Predicate = (f: SampleFile) => boolean;

/** A `q` the server does not understand: answered with 400 invalid. */
export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

type Tok = { t: 'str' | 'word' | 'op' | 'lp' | 'rp'; v: string };

function tokenize(q: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(') { out.push({ t: 'lp', v: c }); i++; continue; }
    if (c === ')') { out.push({ t: 'rp', v: c }); i++; continue; }
    if (c === "'" || c === '"') {
      let s = '';
      i++;
      while (i < q.length && q[i] !== c) {
        if (q[i] === '\\' && i + 1 < q.length) i++;
        s += q[i++];
      }
      if (i >= q.length) throw new QueryError('unterminated string');
      i++;
      out.push({ t: 'str', v: s });
      continue;
    }
    const op = /^(!=|<=|>=|=|<|>)/.exec(q.slice(i));
    if (op) { out.push({ t: 'op', v: op[1] }); i += op[1].length; continue; }
    const w = /^[A-Za-z_][\w.]*/.exec(q.slice(i));
    if (!w) throw new QueryError(`unexpected character '${c}'`);
    out.push({ t: 'word', v: w[0] });
    i += w[0].length;
  }
  return out;
}

/** Compiles a `q` string into a predicate for one user. */
export function compileQuery(q: string | undefined, user: string): Predicate {
  if (!q || !q.trim()) return () => true;
  const toks = tokenize(q);
  let p = 0;
  const peek = () => toks[p];
  const word = (w: string) => peek()?.t === 'word' && peek().v.toLowerCase() === w;

  const orExpr = (): Predicate => {
    let left = andExpr();
    while (word('or')) { p++; const l = left, r = andExpr(); left = (f) => l(f) || r(f); }
    return left;
  };
  const andExpr = (): Predicate => {
    let left = notExpr();
    while (word('and')) { p++; const l = left, r = notExpr(); left = (f) => l(f) && r(f); }
    return left;
  };
  const notExpr = (): Predicate => {
    if (word('not')) { p++; const inner = notExpr(); return (f) => !inner(f); }
    return atom();
  };
  const atom = (): Predicate => {
    const tok = peek();
    if (!tok) throw new QueryError('unexpected end of query');
    if (tok.t === 'lp') {
      p++;
      const inner = orExpr();
      if (peek()?.t !== 'rp') throw new QueryError('missing )');
      p++;
      return inner;
    }
    if (tok.t === 'str') {
      p++;
      if (!word('in')) throw new QueryError(`expected 'in' after '${tok.v}'`);
      p++;
      const field = toks[p++]?.v;
      const value = tok.v === 'me' ? user : tok.v;
      if (field === 'parents') return (f) => f.parents.includes(value);
      if (field === 'owners') return (f) => f.owners.includes(value);
      if (field === 'writers' || field === 'readers') return (f) => f.owners.includes(value) || f.sharedWith.includes(value);
      throw new QueryError(`unsupported collection '${field}'`);
    }
    if (tok.t === 'word') {
      p++;
      const field = tok.v;
      const opTok = toks[p++];
      const valTok = toks[p++];
      if (!opTok || !valTok) throw new QueryError(`incomplete term '${field}'`);
      const op = opTok.v.toLowerCase();
      const val = valTok.v;
      const get = (f: SampleFile): string | boolean | undefined => {
        switch (field) {
          case 'trashed': return f.trashed;
          case 'mimeType': return f.mimeType;
          case 'name': return f.name;
          case 'modifiedTime': return f.modifiedTime;
          case 'createdTime': return f.createdTime;
          default: throw new QueryError(`unsupported field '${field}'`);
        }
      };
      // Probe once so an unsupported field fails at compile time (400), not per file.
      get({ trashed: false, mimeType: '', name: '', modifiedTime: '', createdTime: '' } as SampleFile);
      const want = valTok.t === 'word' && (val === 'true' || val === 'false') ? val === 'true' : val;
      switch (op) {
        case '=': return (f) => get(f) === want;
        case '!=': return (f) => get(f) !== want;
        case '>': return (f) => String(get(f)) > String(want);
        case '>=': return (f) => String(get(f)) >= String(want);
        case '<': return (f) => String(get(f)) < String(want);
        case '<=': return (f) => String(get(f)) <= String(want);
        case 'contains': return (f) => String(get(f)).includes(String(want));
        default: throw new QueryError(`unsupported operator '${op}'`);
      }
    }
    throw new QueryError(`unexpected '${tok.v}'`);
  };
  const pred = orExpr();
  if (p < toks.length) throw new QueryError(`unexpected '${toks[p].v}'`);
  return pred;
}
