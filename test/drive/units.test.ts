/** Pure pieces of the Drive connector and the sample server: names, keys, metadata, backoff, pacing, fields, q. */
import fc from 'fast-check';
import { applyFields, parseFields } from '../../services/sample-drive/fields';
import { compileQuery } from '../../services/sample-drive/query';
import type { SampleFile } from '../../services/sample-drive';
import {
  backoffDelay, buildKey, classifyError, decodeMetadataValue, DriveQuotaError, encodeMetadataValue, escapeName, loadDriveCredentials,
  matchesPattern, Pacer, parseRetryAfter, withBackoff, withIdSuffix,
} from '../../shared/drive';

describe('Module: paths', () => {
  describe('Method: escapeName', () => {
    it('escapes slashes and names stores reject', () => {
      expect(escapeName('AC/DC')).toBe('AC%2FDC');
      expect(escapeName('..')).toBe('%2E%2E');
      expect(escapeName('.')).toBe('%2E');
      expect(escapeName('')).toBe('_');
      expect(escapeName('a\u0000b\nc')).toBe('abc');
      expect(escapeName('Résumé – Zoë.txt')).toBe('Résumé – Zoë.txt');
    });
  });

  describe('Method: withIdSuffix', () => {
    it('puts the id before the extension', () => {
      expect(withIdSuffix('notes.txt', 'abc')).toBe('notes [abc].txt');
      expect(withIdSuffix('Makefile', 'abc')).toBe('Makefile [abc]');
      expect(withIdSuffix('.bashrc', 'abc')).toBe('.bashrc [abc]');
    });
  });

  describe('Method: buildKey', () => {
    it('builds both layouts', () => {
      const d = new Date('2025-07-24T03:51:48Z');
      expect(buildKey('user_first', 'gdrive-backup/', 'a@x.com', 'Reports/q1.xlsx', d)).toBe('gdrive-backup/a@x.com/Reports/q1.xlsx');
      expect(buildKey('date_first', 'gdrive-backup/', 'a@x.com', 'Reports/q1.xlsx', d)).toBe('gdrive-backup/2025-07-24/a@x.com/Reports/q1.xlsx');
    });
  });

  describe('Method: matchesPattern', () => {
    it('matches names, and paths when the pattern has a slash', () => {
      expect(matchesPattern('*.tmp', 'x.tmp', 'a/x.tmp')).toBe(true);
      expect(matchesPattern('~$*', '~$doc.docx', '~$doc.docx')).toBe(true);
      expect(matchesPattern('*.tmp', 'x.tmpl', 'x.tmpl')).toBe(false);
      expect(matchesPattern('Projects/*', 'a.txt', 'Projects/a.txt')).toBe(true);
      expect(matchesPattern('Projects/*', 'a.txt', 'Projects/b/a.txt')).toBe(false);
      expect(matchesPattern('Projects/**', 'a.txt', 'Projects/b/a.txt')).toBe(true);
      expect(matchesPattern('file?.[ch]', 'file1.c', 'file1.c')).toBe(true);
    });
  });

  describe('Method: encodeMetadataValue', () => {
    it('is printable ASCII and round-trips any string', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme' }), (s) => {
          const enc = encodeMetadataValue(s);
          expect(enc).toMatch(/^[\x20-\x7e]*$/);
          expect(decodeMetadataValue(enc)).toBe(s);
        }),
      );
      expect(encodeMetadataValue('Zoë 100%')).toBe('Zo%C3%AB 100%25');
    });
  });
});

describe('Module: backoff', () => {
  describe('Method: backoffDelay', () => {
    it('draws full jitter under an exponential cap, never below Retry-After', () => {
      const o = { baseMs: 100, capMs: 1000 };
      expect(backoffDelay(0, { ...o, random: () => 0.999 })).toBeLessThan(100);
      expect(backoffDelay(3, { ...o, random: () => 0.5 })).toBe(400);
      expect(backoffDelay(10, { ...o, random: () => 0.999 })).toBeLessThan(1000);
      expect(backoffDelay(0, { ...o, random: () => 0 }, 2500)).toBe(2500);
    });
  });

  describe('Method: parseRetryAfter', () => {
    it('reads seconds and HTTP dates', () => {
      expect(parseRetryAfter('3')).toBe(3000);
      expect(parseRetryAfter('0.5')).toBe(500);
      expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
      expect(parseRetryAfter(undefined)).toBeUndefined();
    });
  });

  describe('Method: classifyError', () => {
    const gaxios = (status: number, reason: string, headers: Record<string, string> = {}) => ({
      message: 'x', response: { status, headers: new Headers(headers), data: { error: { code: status, message: reason, errors: [{ reason }] } } },
    });
    it('retries rate limits and 5xx, stops on quotas, fails fast otherwise', () => {
      expect(classifyError(gaxios(403, 'userRateLimitExceeded', { 'retry-after': '2' }), 'x')).toMatchObject({ retryable: true, retryAfterMs: 2000 });
      expect(classifyError(gaxios(429, 'rateLimitExceeded'), 'x').retryable).toBe(true);
      expect(classifyError(gaxios(503, 'backendError'), 'x').retryable).toBe(true);
      expect(classifyError(gaxios(403, 'dailyLimitExceeded'), 'x')).toBeInstanceOf(DriveQuotaError);
      // Per file: that file fails, the user goes on
      expect(classifyError(gaxios(403, 'downloadQuotaExceeded'), 'x')).not.toBeInstanceOf(DriveQuotaError);
      expect(classifyError(gaxios(403, 'downloadQuotaExceeded'), 'x').retryable).toBe(false);
      expect(classifyError(gaxios(403, 'cannotDownloadFile'), 'x').retryable).toBe(false);
      expect(classifyError(gaxios(404, 'notFound'), 'x').retryable).toBe(false);
      expect(classifyError(Object.assign(new Error('terminated'), { name: 'TypeError' }), 'x').retryable).toBe(true);
    });
  });

  describe('Method: withBackoff', () => {
    it('retries until success and gives up after maxAttempts', async () => {
      let n = 0;
      await expect(withBackoff('t', async () => { if (++n < 3) throw { response: { status: 500, data: {} } }; return 'ok'; }, { baseMs: 1 })).resolves.toBe('ok');
      n = 0;
      await expect(withBackoff('t', async () => { n++; throw { response: { status: 500, data: {} } }; }, { baseMs: 1, maxAttempts: 4 })).rejects.toMatchObject({ status: 500 });
      expect(n).toBe(4);
    });
  });
});

describe('Class: Pacer', () => {
  describe('Method: take', () => {
    it('holds the average rate after the burst', async () => {
      const p = new Pacer(200, 5);
      const t = Date.now();
      for (let i = 0; i < 45; i++) await p.take();
      expect(Date.now() - t).toBeGreaterThanOrEqual(190); // 40 beyond the burst at 200/s
    });
  });
});

describe('Function: loadDriveCredentials', () => {
  it('never echoes key material in errors', () => {
    const secret = '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----SECRET';
    expect(() => loadDriveCredentials({ env: { XREGION_DRIVE_CREDENTIALS: secret } })).toThrow(/is not valid JSON$/);
    expect(() => loadDriveCredentials({ env: { XREGION_DRIVE_CREDENTIALS: '{"type":"service_account","private_key":"SECRET"}' } })).toThrow(/needs client_email and private_key/);
    try {
      loadDriveCredentials({ env: { XREGION_DRIVE_CREDENTIALS: secret } });
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('SECRET');
    }
    expect(() => loadDriveCredentials({ env: {} })).toThrow(/XREGION_DRIVE_CREDENTIALS/);
  });
});

describe('Module: sample-drive fields and q', () => {
  it('applies partial-response selectors', () => {
    const v = { kind: 'k', nextPageToken: 't', files: [{ id: '1', name: 'a', owners: [{ emailAddress: 'e', displayName: 'd' }], capabilities: { canDownload: true, canEdit: false } }] };
    expect(applyFields(v, parseFields('nextPageToken,files(id,owners(emailAddress),capabilities/canDownload)'))).toEqual({
      nextPageToken: 't', files: [{ id: '1', owners: [{ emailAddress: 'e' }], capabilities: { canDownload: true } }],
    });
    expect(applyFields(v, parseFields('*'))).toEqual(v);
  });

  it('compiles q with and/or/not and parentheses', () => {
    const f = { id: '1', name: "it's", mimeType: 'text/plain', parents: ['p'], owners: ['me@x'], sharedWith: [], trashed: false } as unknown as SampleFile;
    expect(compileQuery("'p' in parents and trashed = false", 'me@x')(f)).toBe(true);
    expect(compileQuery("'me' in owners and not (mimeType = 'text/plain' or name contains 'zz')", 'me@x')(f)).toBe(false);
    expect(compileQuery("name = 'it\\'s'", 'me@x')(f)).toBe(true);
    expect(() => compileQuery("size > '3'", 'me@x')).toThrow(/unsupported field/);
  });
});
