/** Drive ingestion end to end: the real googleapis client against the sample Drive, into the local store. */
import { decodeMetadataValue, formatRunReport, type DriveRunReport } from '../../shared/drive';
import { InMemoryMetrics } from '../../shared/observability';
import { BUCKET, CountingStore, driveTestEnv, keys } from './helpers';

const P = 'gdrive-backup/';
const A = `${P}alice@acme.example/`;

describe('Function: runDriveIngest', () => {
  const env = driveTestEnv(256 * 1024, { backoff: { baseMs: 5, capMs: 50 } });
  const run = env.run;


  describe('Method: full run', () => {
    it('stores every content kind under user_first keys and records what it cannot store', async () => {
      // Act
      const metrics = new InMemoryMetrics();
      const r = await run({ metrics });
      const all = await keys(env.t.store, P);

      // Assess
      expect(r.subjects.map((s) => [s.label, s.mode, s.status])).toEqual([
        ['admin@acme.example', 'full', 'ok'], ['alice@acme.example', 'full', 'ok'], ['bob@acme.example', 'full', 'ok'], ['erin@labs.acme.example', 'full', 'ok'],
        ['shared drive Engineering', 'full', 'ok'], ['shared drive Finance', 'full', 'ok'],
      ]);
      expect(r.skippedUsers).toEqual([{ email: 'dave@acme.example', reason: 'suspended' }, { email: 'olga@acme.example', reason: 'archived' }]);
      expect(all).toEqual(expect.arrayContaining([
        `${A}Projects/Reports/q1.pdf`, // binary
        `${A}Projects/Reports/Budget 2025.xlsx`, `${A}Projects/Design/Roadmap.docx`, `${A}Projects/Design/Pitch.pptx`, `${A}Projects/Design/Architecture.svg`, // exports
        `${A}Projects/Customer Survey.form.json`, `${A}Projects/Shortcut to Roadmap.shortcut.json`, // records
        `${A}big-video.mp4`, `${A}Résumé – Zoë Ünïcødé.txt`, `${A}my notes 2025.txt`, `${A}AC%2FDC lyrics.txt`,
        `${P}bob@acme.example/Team Site.site.json`, `${P}bob@acme.example/Office Map.map.json`, `${P}bob@acme.example/Plan.xlsx`,
        `${P}shared-drives/Engineering/Specs/api-spec.yaml`, `${P}shared-drives/Engineering/Specs/Design Doc.docx`,
      ]));
      expect(all.filter((k) => k.includes('Plan.xlsx'))).toEqual([`${P}bob@acme.example/Plan.xlsx`]); // shared with alice, stored once for its owner
      expect(all.some((k) => k.includes('old-draft') || k.includes('scratch.tmp') || k.includes('Confidential') || k.includes('Huge Export'))).toBe(false);
      const alice = r.subjects[1];
      expect(alice.events).toEqual(expect.arrayContaining([
        expect.objectContaining({ type: 'unavailable', path: 'Confidential.pdf', reason: 'capabilities.canDownload is false' }),
        expect.objectContaining({ type: 'unavailable', path: 'Huge Export.docx', reason: expect.stringContaining('exportSizeLimitExceeded') }),
        expect.objectContaining({ type: 'excluded', path: 'scratch.tmp', reason: 'excluded by pattern *.tmp' }),
      ]));
      expect(r.stats).toMatchObject({ total: 31, downloaded: 17, exported: 6, records: 4, uploaded: 27, notOwned: 1, unavailable: 2, skippedByRule: 1, failed: 0 });
      expect(all).toContain(`${P}bob@acme.example/flagged.zip`); // flagged as abusive: the owner acknowledges and downloads it
      expect(formatRunReport(r)).toContain('alice@acme.example');
      expect(metrics.get('DriveFilesUploaded', { source: 'acme' })).toBe(27);
      expect(metrics.get('DriveBytesUploaded', { source: 'acme' })).toBe(r.stats.bytes);
      const record = JSON.parse((await env.t.store.getRange(BUCKET, r.recordKey, 0, 1e6)).toString()) as DriveRunReport;
      expect(record.stats).toEqual(r.stats);
      const form = JSON.parse((await env.t.store.getRange(BUCKET, `${A}Projects/Shortcut to Roadmap.shortcut.json`, 0, 1e6)).toString());
      expect(form).toMatchObject({ mimeType: 'application/vnd.google-apps.shortcut', shortcutTarget: { targetMimeType: 'application/vnd.google-apps.document' } });
    });

    it('suffixes duplicate names with the file id and stores a multi-parent file once', async () => {
      // Act
      const r = await run();
      const reports = (await keys(env.t.store, `${A}Projects/`)).filter((k) => /notes|logo/.test(k));

      // Assess
      const dup = [...env.sd.server.ws.files.values()].filter((f) => f.name === 'notes.txt');
      expect(reports.sort()).toEqual([`${A}Projects/Reports/logo.png`, `${A}Projects/Reports/notes [${dup[1].id}].txt`, `${A}Projects/Reports/notes.txt`].sort());
      expect(r.subjects[1].events).toContainEqual(expect.objectContaining({ type: 'also_at', path: 'Projects/Reports/logo.png', reason: 'also in Projects/Design' }));
      const first = await env.t.store.getRange(BUCKET, `${A}Projects/Reports/notes.txt`, 0, 100);
      expect(first.toString()).toBe('first notes\n');
    });

    it('writes the design metadata, percent-encoding non-ASCII values, and the sha256', async () => {
      // Act
      await run({ now: new Date('2025-03-04T05:06:07Z') }, { key_layout: 'date_first' });

      // Assess
      const key = `${P}2025-03-04/alice@acme.example/Résumé – Zoë Ünïcødé.txt`;
      const info = await env.t.store.head(BUCKET, key);
      const file = [...env.sd.server.ws.files.values()].find((f) => f.name.startsWith('Résumé'))!;
      expect(info.metadata).toMatchObject({
        'drive-file-id': file.id, 'drive-owner': 'alice@acme.example', 'drive-user': 'alice@acme.example',
        'drive-mime-type': 'text/plain', 'drive-modified-time': file.modifiedTime, 'drive-md5': file.md5Checksum, 'backup-timestamp': '2025-03-04T05:06:07.000Z',
      });
      expect(info.metadata['drive-path']).toMatch(/^[\x20-\x7e]+$/);
      expect(decodeMetadataValue(info.metadata['drive-path'])).toBe('Résumé – Zoë Ünïcødé.txt');
      expect(info.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(info.contentType).toBe('text/plain');
      const doc = await env.t.store.head(BUCKET, `${P}2025-03-04/alice@acme.example/Projects/Design/Roadmap.docx`);
      expect(doc.contentType).toBe('application/vnd.openxmlformats-officedocument.wordprocessingml.document');
      expect(doc.metadata['drive-mime-type']).toBe('application/vnd.google-apps.document');
    });

    it('applies exclude patterns, max size and per-user overrides', async () => {
      // Act
      const r = await run({}, {
        exclude_patterns: ['*.jpg', 'Projects/Design/*'], max_file_size_mb: 0,
        user_overrides: { 'alice@acme.example': { max_file_size_mb: 0, exclude_patterns: ['*.mp4'] }, 'admin@acme.example': { enabled: false } },
        users: ['alice@acme.example', 'bob@acme.example', 'admin@acme.example'],
      });
      const all = await keys(env.t.store, P);

      // Assess
      expect(r.skippedUsers).toEqual([{ email: 'admin@acme.example', reason: 'disabled by user_overrides' }]);
      expect(all.some((k) => k.endsWith('.jpg'))).toBe(false); // bob: source patterns
      expect(all.some((k) => k.endsWith('.mp4'))).toBe(false); // alice: her own patterns replace the source's
      expect(all).toContain(`${A}Projects/Design/Roadmap.docx`); // alice's override drops the Design pattern
      expect(all).toContain(`${A}scratch.tmp`);
      expect(all.some((k) => k.includes('admin@'))).toBe(false);
    });

    it('after a change of exclude rules or export formats, the next (incremental) run re-checks the files they affect', async () => {
      // Prepare: alice backed up without her videos, documents as docx
      const src = { users: ['alice@acme.example'], user_overrides: { 'alice@acme.example': { exclude_patterns: ['*.mp4'] } } };
      await run({}, src);
      const before = await keys(env.t.store, A);

      // Act: the exclusion is dropped and documents become PDF; nothing changed in Drive
      const r = await run({}, { users: ['alice@acme.example'], export_formats: { document: 'pdf' } });
      const after = await keys(env.t.store, A);

      // Assess
      expect(new Set(r.subjects.map((s) => s.mode))).toEqual(new Set(['incremental']));
      expect(before.some((k) => k.endsWith('.mp4'))).toBe(false);
      expect(after).toContain(`${A}big-video.mp4`);
      expect(after).toContain(`${A}Projects/Design/Roadmap.pdf`);
      expect(after).toContain(`${A}Projects/Design/Roadmap.docx`); // earlier backups stay
      // A third run with the same rules looks at nothing again; a fourth with only a new size
      // limit looks at the excluded files only (none are left), not at the exports.
      const again = await run({}, { users: ['alice@acme.example'], export_formats: { document: 'pdf' } });
      const sizeOnly = await run({}, { users: ['alice@acme.example'], export_formats: { document: 'pdf' }, max_file_size_mb: 1000 });
      expect(again.stats.total).toBe(0);
      expect(sizeOnly.stats.total).toBe(0);
    });

    it('parks a file whose key would pass 1024 bytes under its id, keeping the path in metadata', async () => {
      // Prepare
      const long = `${'ü'.repeat(520)}.txt`;
      const f = env.sd.server.ws.create({ name: long, mimeType: 'text/plain', owner: 'bob@acme.example', content: { kind: 'buffer', data: Buffer.from('long\n') } });

      // Act
      await run({ userFilter: 'bob@acme.example' });

      // Assess
      const key = `${P}bob@acme.example/_long-paths/file [${f.id}].txt`;
      const info = await env.t.store.head(BUCKET, key);
      expect(info.metadata['drive-path-truncated']).toBe('true');
      expect(decodeMetadataValue(info.metadata['drive-path'])).toBe(long.slice(0, 170)); // 1024 encoded bytes ≈ 170 'ü'
    });

    it('skips files over max_file_size_mb', async () => {
      // Prepare
      env.sd.server.ws.setContent([...env.sd.server.ws.files.values()].find((f) => f.name === 'big-video.mp4')!, { kind: 'generated', size: 1024 * 1024 + 1, seed: 1 });

      // Act
      const r = await run({ userFilter: 'alice@acme.example' }, { max_file_size_mb: 1 });

      // Assess
      expect(await keys(env.t.store, `${A}big`)).toEqual([]);
      expect(r.subjects[0].events).toContainEqual(expect.objectContaining({ type: 'excluded', path: 'big-video.mp4', reason: expect.stringContaining('max_file_size_mb') }));
    });

    it('writes nothing in a dry run', async () => {
      // Act
      const r = await run({ dryRun: true });

      // Assess
      expect(r.stats.uploaded).toBe(28); // a dry run cannot know that one export is too large
      expect(await keys(env.t.store)).toEqual([]);
    });
  });

  describe('Method: incremental run', () => {
    it('picks up only changes, records deletions and keeps the backups', async () => {
      // Prepare
      const counting = new CountingStore(env.t.store);
      await run({ store: counting });
      const before = new Map(counting.contentPuts());
      const done = env.sd.simulateChanges();

      // Act
      const r = await run({ store: counting });

      // Assess
      expect(done.length).toBeGreaterThan(5);
      expect(r.subjects.every((s) => s.mode === 'incremental' && s.status === 'ok')).toBe(true);
      const changed = [...counting.contentPuts()].filter(([k, n]) => n !== (before.get(k) ?? 0)).map(([k]) => k).sort();
      expect(changed).toEqual([
        `${A}Projects/Design/Roadmap.docx`, `${A}Projects/Reports/added-1.csv`, `${A}Projects/Reports/notes.txt`,
        `${P}shared-drives/Engineering/Specs/api-spec.yaml`,
      ].sort());
      expect(await keys(env.t.store, `${P}bob@acme.example/Photos/2024/IMG_001-renamed-1.jpg`)).toHaveLength(1); // renamed: server-side copy
      expect(r.stats.deleted).toBe(2);
      expect(r.subjects[1].events.filter((e) => e.type === 'deleted').map((e) => [e.path, e.reason])).toEqual([['Projects/Reports/q1.pdf', 'trashed'], ['my notes 2025.txt', 'removed']]);
      expect(await keys(env.t.store, `${A}Projects/Reports/q1.pdf`)).toHaveLength(1); // backup kept
      expect(await keys(env.t.store, `${A}my notes 2025.txt`)).toHaveLength(1);
      expect((await env.t.store.getRange(BUCKET, `${A}Projects/Reports/notes.txt`, 0, 100)).toString()).toBe('notes edited in round 1\n');

      // Act: a file changed twice shows up twice in one changes page; it is uploaded once
      const notes = [...env.sd.server.ws.files.values()].find((f) => f.name === 'notes.txt')!;
      env.sd.server.ws.update(notes, (f) => env.sd.server.ws.setContent(f, { kind: 'buffer', data: Buffer.from('v2\n') }));
      env.sd.server.ws.update(notes, (f) => env.sd.server.ws.setContent(f, { kind: 'buffer', data: Buffer.from('v3\n') }));
      const putsBefore = counting.puts.get(`${A}Projects/Reports/notes.txt`);
      const twice = await run({ store: counting });
      expect(twice.stats).toMatchObject({ uploaded: 1, skippedUnchanged: 1 });
      expect(counting.puts.get(`${A}Projects/Reports/notes.txt`)).toBe(putsBefore! + 1);

      // Act: a third run with no changes does nothing
      const r3 = await run({ store: counting });
      expect(r3.stats.uploaded).toBe(0);
      expect(r3.stats.total).toBe(0);
    });
  });
});
