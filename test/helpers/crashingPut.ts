/**
 * Test helper process: puts an endless stream into a LocalObjectStore so a test can SIGKILL it
 * mid-write. Usage: tsx test/helpers/crashingPut.ts <root> <bucket> <key>
 */
import { Readable } from 'node:stream';
import { LocalObjectStore } from '../../shared/storage/local/LocalObjectStore';

const [root, bucket, key] = process.argv.slice(2);
const store = new LocalObjectStore({ root });
const chunk = Buffer.alloc(64 * 1024, 0x61);
const endless = new Readable({
  read() {
    setTimeout(() => this.push(chunk), 1);
  },
});
void store.put(bucket, key, endless);
