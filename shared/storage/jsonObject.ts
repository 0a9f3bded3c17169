/** Small JSON objects (Drive state and leases, batch and delivery records) read whole and written back, conditionally where asked; and HEAD-if-present. */
import { buffer } from 'node:stream/consumers';
import { NoSuchObjectError } from './errors';
import type { ObjectInfo, ObjectStore, PutOptions } from './port';

/** An object's parsed JSON and its ETag; undefined when there is no such object (bad JSON throws SyntaxError). */
export async function readJsonObject(store: ObjectStore, bucket: string, key: string): Promise<{ value: unknown; etag: string } | undefined> {
  try {
    const { info, body } = await store.get(bucket, key);
    return { value: JSON.parse((await buffer(body)).toString('utf8')), etag: info.etag };
  } catch (err) {
    if (err instanceof NoSuchObjectError) return undefined;
    throw err;
  }
}

/**
 * Writes `value` as JSON under the S3 write condition given (PreconditionFailedError when it is
 * unmet); returns the new ETag. `indent` as in JSON.stringify.
 */
export async function writeJsonObject(
  store: ObjectStore,
  bucket: string,
  key: string,
  value: unknown,
  condition: Pick<PutOptions, 'ifMatch' | 'ifNoneMatch'>,
  indent?: number,
): Promise<string> {
  return (await store.put(bucket, key, Buffer.from(JSON.stringify(value, null, indent)), { contentType: 'application/json', ...condition })).etag;
}

/** HEAD of an object, or undefined when there is no such object (or version). */
export async function headIfExists(store: ObjectStore, bucket: string, key: string, opts?: { versionId?: string }): Promise<ObjectInfo | undefined> {
  try {
    return await store.head(bucket, key, opts);
  } catch (err) {
    if (err instanceof NoSuchObjectError) return undefined;
    throw err;
  }
}
