/** replication: the Replicator port and its local adapter. */
export type { Replicator } from './port';
export { LocalReplicator } from './LocalReplicator';
