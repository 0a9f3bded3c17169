/** bench:pipeline's replication config (JSON, as `xregion start -c` reads it): one rule, a backup and a normal destination in two other regions. */
export const BENCH_CONFIG = {
  stack_name: 'bench',
  replication_configuration: [
    {
      source: { region: 'us-west-2', bucket: 'bench-source', prefix_filter: 'data/', batch: { max_objects: 1000, max_bytes: 536870912, max_wait_seconds: 30 }, compression: { level: 3, threads: 2 } },
      destinations: [
        { region: 'eu-central-1', bucket: 'bench-backup', backup: true },
        { region: 'ca-central-1', bucket: 'bench-normal', storage_class: 'STANDARD_IA' },
      ],
    },
  ],
};
