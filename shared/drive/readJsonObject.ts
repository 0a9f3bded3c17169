/** Small JSON objects (state, leases) read whole from the store. */
import { NoSuchObjectError } from '../storage/errors';
import type { ObjectStore } from '../storage/port';

/** An object's parsed JSON and its ETag; undefined when there is no such object (bad JSON throws SyntaxError). */
export async function readJsonObject(store: ObjectStore, bucket: string, key: string): Promise<{ value: unknown; etag: string } | undefined> {
  try {
    const { info, body } = await store.get(bucket, key);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    return { value: JSON.parse(Buffer.concat(chunks).toString('utf8')), etag: info.etag };
  } catch (err) {
    if (err instanceof NoSuchObjectError) return undefined;
    throw err;
  }
}
