/**
 * A cache of folders (id → name, parents) that turns a file's parent chain into a path.
 * Seeded from the full listing of folders; folders it has not seen are fetched on demand.
 * A chain that leaves what the subject can see (someone else's folder) is rooted at `_orphaned`.
 */
import { FOLDER_MIME } from './mimeTypes';
import { escapeName } from './paths';

export interface FolderInfo {
  name: string;
  parents: string[];
}

export const ORPHANED_DIR = '_orphaned';

export class FolderTree {
  private readonly folders = new Map<string, FolderInfo>();
  private readonly paths = new Map<string, Promise<string>>();

  /**
   * @param rootId the subject's My Drive root (or the shared drive id): paths start below it.
   * @param fetch reads one folder's name and parents; undefined when it is not visible.
   */
  constructor(
    readonly rootId: string,
    private readonly fetch: (id: string) => Promise<FolderInfo | undefined>,
  ) {}

  /** Records a folder seen in a listing or a change (a rename invalidates cached paths). */
  add(id: string, info: FolderInfo): void {
    const prev = this.folders.get(id);
    this.folders.set(id, info);
    if (prev && (prev.name !== info.name || prev.parents[0] !== info.parents[0])) this.paths.clear();
  }

  static isFolder(mimeType: string | null | undefined): boolean {
    return mimeType === FOLDER_MIME;
  }

  /** The escaped path of a folder below the root ('' for the root itself). */
  folderPath(id: string): Promise<string> {
    let p = this.paths.get(id);
    if (!p) {
      p = this.resolve(id, new Set());
      this.paths.set(id, p);
    }
    return p;
  }

  private async resolve(id: string, seen: Set<string>): Promise<string> {
    if (id === this.rootId) return '';
    if (seen.has(id)) return ORPHANED_DIR; // a cycle: should not happen in Drive
    seen.add(id);
    let info = this.folders.get(id);
    if (!info) {
      info = await this.fetch(id);
      if (!info) return ORPHANED_DIR;
      this.folders.set(id, info);
    }
    const parent = info.parents[0];
    const name = escapeName(info.name);
    if (!parent) return `${ORPHANED_DIR}/${name}`; // someone else's root, or a parentless folder
    const up = parent === this.rootId ? '' : await this.resolve(parent, seen);
    return up ? `${up}/${name}` : name;
  }

  /** Path of a file with these parents and escaped name ('_orphaned/name' when it has none). */
  async filePath(parents: string[] | null | undefined, escapedName: string): Promise<string> {
    const parent = parents?.[0];
    if (!parent) return `${ORPHANED_DIR}/${escapedName}`;
    const dir = await this.folderPath(parent);
    return dir ? `${dir}/${escapedName}` : escapedName;
  }
}
