/** Registers `xregion archive create|list|extract|cat`; the actions live in ./archive, loaded when one runs. */
import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_THREADS } from '../../../shared/archive';

/** The actions pull in the archive engine's readers and writers: loaded only when one runs. */
const actions = () => require('./archive') as typeof import('./archive');

function intOption(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer ${min}..${max}`);
    return n;
  };
}

export function registerArchiveCommands(program: Command): void {
  const archive = program.command('archive').description('create, list, extract and read seekable .tar.zst archives');
  archive
    .command('create <dir>')
    .description('pack every file under <dir> (relative keys, sorted) into a seekable .tar.zst')
    .requiredOption('-o, --output <file>', 'archive to write (.tar.zst)')
    .option('--level <n>', 'zstd level', intOption('--level', -7, 22), 3)
    .option('--threads <n>', 'compression threads (0 = main thread)', intOption('--threads', 0, 64), DEFAULT_THREADS)
    .option('--frame-target <bytes>', 'frame target size', intOption('--frame-target', 1, 32 * 1024 * 1024))
    .action((dir, opts) => actions().create(dir, opts));
  archive
    .command('list <file>')
    .description('members from the manifest: key, size, sha256 (no decompression)')
    .action((file) => actions().list(file));
  archive
    .command('extract <file> [member...]')
    .description('extract (all or the named) members by relative key under -C dir, verifying sha256')
    .option('-C, --directory <dir>', 'destination directory', '.')
    .action((file, members, opts) => actions().extract(file, members, opts));
  archive
    .command('cat <file> <member>')
    .description('write one member to stdout, fetching only its frames')
    .option('--stats', 'print bytes read vs archive size to stderr')
    .action((file, member, opts) => actions().cat(file, member, opts));
}
