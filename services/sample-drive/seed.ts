/**
 * The seeded sample workspace behind `npm start` and the tests, and the scripted edits that
 * `--simulate-changes` applies so a second ingest run sees only changes.
 */
import { FOLDER_MIME, SHORTCUT_MIME } from '../../shared/drive/mimeTypes';
import { mulberry32 } from '../../shared/random';
import { Workspace, type SampleFile } from './Workspace';

export interface SeedOptions {
  seed?: number;
  domain?: string;
  dataDir?: string;
  /** Size of the big binary file (default 20 MiB). */
  largeFileBytes?: number;
  /** Extra small files for benchmarks: `count` files of `size` bytes in one folder of `user` (default the first user). */
  bulk?: { count: number; size: number; user?: string };
}

const G = 'application/vnd.google-apps.';

function bytes(rand: () => number, n: number, text?: string): Buffer {
  if (text !== undefined) return Buffer.from(text);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

/**
 * Builds the sample workspace: active users admin, alice, bob (acme.example) and erin (the secondary
 * domain labs.acme.example); dave suspended, olga archived; an external partner; shared drives
 * Engineering (admin a member) and Finance (admin not a member; bob organizes it).
 */
export function seedWorkspace(opts: SeedOptions = {}): Workspace {
  const rand = mulberry32(opts.seed ?? 42);
  const ws = new Workspace(opts.domain ?? 'acme.example', opts.dataDir);
  const admin = ws.addUser('admin', 'Ada Admin', { isAdmin: true }).primaryEmail;
  const alice = ws.addUser('alice', 'Alice Ångström').primaryEmail;
  const bob = ws.addUser('bob', 'Bob Builder').primaryEmail;
  ws.addUser('dave', 'Dave Departed', { suspended: true });

  const folder = (owner: string, name: string, parent?: string) => ws.create({ name, mimeType: FOLDER_MIME, owner, parent });
  const bin = (owner: string, name: string, mimeType: string, parent: string | undefined, size: number, text?: string, extra: Partial<SampleFile> = {}) =>
    ws.create({ name, mimeType, owner, parent, content: { kind: 'buffer', data: bytes(rand, size, text) }, ...extra });
  const native = (owner: string, name: string, kind: string, parent?: string, extra: Partial<SampleFile> = {}) =>
    ws.create({ name, mimeType: `${G}${kind}`, owner, parent, ...extra });

  // alice: nested folders, duplicates, multiple parents, every content kind
  const projects = folder(alice, 'Projects');
  const reports = folder(alice, 'Reports', projects.id);
  const design = folder(alice, 'Design', projects.id);
  bin(alice, 'q1.pdf', 'application/pdf', reports.id, 3000);
  bin(alice, 'notes.txt', 'text/plain', reports.id, 0, 'first notes\n');
  bin(alice, 'notes.txt', 'text/plain', reports.id, 0, 'second notes, same name\n');
  native(alice, 'Budget 2025', 'spreadsheet', reports.id);
  const roadmap = native(alice, 'Roadmap', 'document', design.id);
  native(alice, 'Pitch', 'presentation', design.id);
  native(alice, 'Architecture', 'drawing', design.id);
  const shared = bin(alice, 'logo.png', 'image/png', reports.id, 1500);
  shared.parents.push(design.id); // a legacy file in two folders
  native(alice, 'Customer Survey', 'form', projects.id);
  ws.create({ name: 'Shortcut to Roadmap', mimeType: SHORTCUT_MIME, owner: alice, parent: projects.id, shortcutDetails: { targetId: roadmap.id, targetMimeType: roadmap.mimeType } });
  ws.create({ name: 'big-video.mp4', mimeType: 'video/mp4', owner: alice, content: { kind: 'generated', size: opts.largeFileBytes ?? 20 * 1024 * 1024, seed: opts.seed ?? 42 } });
  bin(alice, 'Confidential.pdf', 'application/pdf', undefined, 800, undefined, { canDownload: false });
  native(alice, 'Huge Export', 'document', undefined, { exportTooLarge: true });
  bin(alice, 'Résumé – Zoë Ünïcødé.txt', 'text/plain', undefined, 0, 'unicode name\n');
  bin(alice, 'my notes 2025.txt', 'text/plain', undefined, 0, 'spaces in the name\n');
  bin(alice, 'AC/DC lyrics.txt', 'text/plain', undefined, 0, 'a slash in the name\n');
  bin(alice, 'scratch.tmp', 'application/octet-stream', undefined, 100);
  const trashed = bin(alice, 'old-draft.txt', 'text/plain', undefined, 0, 'already trashed\n');
  trashed.trashed = true;

  // bob: photos, a file flagged as abusive (its owner may still download it), a Site and a My Map,
  // and a file shared with alice (backed up once, for bob)
  const photos = folder(bob, 'Photos');
  const y2024 = folder(bob, '2024', photos.id);
  for (let i = 1; i <= 3; i++) bin(bob, `IMG_00${i}.jpg`, 'image/jpeg', y2024.id, 2000 + i * 100);
  bin(bob, 'flagged.zip', 'application/zip', undefined, 600, undefined, { abusive: true });
  native(bob, 'Team Site', 'site');
  native(bob, 'Office Map', 'map');
  const plan = native(bob, 'Plan', 'spreadsheet');
  plan.sharedWith.push(alice);

  // admin: a handbook and a shared drive
  const policies = folder(admin, 'Policies');
  bin(admin, 'handbook.pdf', 'application/pdf', policies.id, 4000);
  const eng = ws.addDrive('Engineering', [admin, alice]);
  const specs = ws.create({ name: 'Specs', mimeType: FOLDER_MIME, owner: admin, parent: eng.id, driveId: eng.id });
  ws.create({ name: 'api-spec.yaml', mimeType: 'application/x-yaml', owner: admin, parent: specs.id, driveId: eng.id, content: { kind: 'buffer', data: Buffer.from('openapi: 3.0.0\n') } });
  ws.create({ name: 'Design Doc', mimeType: `${G}document`, owner: admin, parent: specs.id, driveId: eng.id });

  // Files owned outside the backed-up set, a secondary domain, shared drives the admin is not in.
  // Created after everything above, so the ids of the earlier files stay as they were.
  const erin = ws.addUser('erin', 'Erin Labs', { domain: `labs.${ws.domain}` }).primaryEmail; // a secondary domain
  bin(erin, 'experiment.csv', 'text/csv', undefined, 0, 'trial,result\n1,ok\n');
  const partner = ws.addExternal('pat@partner.example'); // a partner outside the Workspace
  bin(partner, 'Partner contract.pdf', 'application/pdf', undefined, 900).sharedWith.push(alice);
  const dave = `dave@${ws.domain}`; // suspended: cannot be impersonated
  bin(dave, 'handover.txt', 'text/plain', undefined, 0, 'what dave left for bob\n').sharedWith.push(bob);
  bin(dave, 'private-notes.txt', 'text/plain', undefined, 0, 'only dave can see this\n');
  ws.addUser('olga', 'Olga Archived', { archived: true });
  const finance = ws.addDrive('Finance', [bob, alice], { [bob]: 'organizer', [alice]: 'reader' }); // admin not a member
  ws.create({ name: 'ledger.csv', mimeType: 'text/csv', owner: bob, parent: finance.id, driveId: finance.id, content: { kind: 'buffer', data: Buffer.from('account,amount\n4000,12.50\n') } });

  if (opts.bulk) {
    const owner = opts.bulk.user ?? admin;
    const dir = folder(owner, 'bulk');
    for (let i = 0; i < opts.bulk.count; i++) bin(owner, `file-${String(i).padStart(5, '0')}.bin`, 'application/octet-stream', dir.id, opts.bulk.size);
  }
  return ws;
}

/**
 * Applies the next round of scripted edits: alice's notes and Roadmap change, a file is added,
 * one is trashed, one deleted for good, a photo renamed, the shared-drive spec edited.
 */
export function simulateChanges(ws: Workspace, round: number): string[] {
  const done: string[] = [];
  const by = (name: string, owner?: string) =>
    [...ws.files.values()].find((f) => f.name === name && !f.trashed && (!owner || f.owners.includes(owner) || (owner === 'drive' && !!f.driveId)));
  const alice = `alice@${ws.domain}`;
  const bob = `bob@${ws.domain}`;
  const notes = by('notes.txt', alice);
  if (notes) {
    ws.update(notes, (f) => ws.setContent(f, { kind: 'buffer', data: Buffer.from(`notes edited in round ${round}\n`) }));
    done.push(`edited ${notes.name}`);
  }
  const roadmap = by('Roadmap', alice);
  if (roadmap) { ws.update(roadmap, () => undefined); done.push('edited Roadmap'); }
  const reports = by('Reports', alice);
  ws.create({ name: `added-${round}.csv`, mimeType: 'text/csv', owner: alice, parent: reports?.id, content: { kind: 'buffer', data: Buffer.from(`round,${round}\n`) } });
  done.push(`added added-${round}.csv`);
  const q1 = by('q1.pdf', alice);
  if (q1) { ws.update(q1, (f) => { f.trashed = true; }); done.push('trashed q1.pdf'); }
  const spaces = by('my notes 2025.txt', alice);
  if (spaces) { ws.remove(spaces); done.push('deleted my notes 2025.txt'); }
  const img = by('IMG_001.jpg', bob);
  if (img) { ws.update(img, (f) => { f.name = `IMG_001-renamed-${round}.jpg`; }); done.push('renamed IMG_001.jpg'); }
  const spec = by('api-spec.yaml', 'drive');
  if (spec) { ws.update(spec, (f) => ws.setContent(f, { kind: 'buffer', data: Buffer.from(`openapi: 3.0.${round}\n`) })); done.push('edited api-spec.yaml'); }
  return done;
}
