/** ECS entry point of the router: environment → adapters → RouterService.run(). */
import { readRuntimeSettings } from '../../shared/config';
import { createLogger, PowertoolsMetrics } from '../../shared/observability';
import { createQueue } from '../../shared/queue';
import { createObjectStore } from '../../shared/storage';
import { RouterService } from './RouterService';

async function main(): Promise<void> {
  const settings = readRuntimeSettings(process.env, 'router');
  const connection = { region: settings.region, endpoint: settings.endpoint };
  const store = createObjectStore({ kind: 's3', ...connection });
  const service = new RouterService({
    queue: createQueue({ kind: 'sqs', ...connection, queueUrl: settings.queueUrl }),
    staging: store,
    stagingBucket: settings.stagingBucket,
    destinations: store,
    catalog: settings.catalogBucket ? { store, bucket: settings.catalogBucket } : undefined,
    config: settings.config,
    region: settings.region,
    metrics: new PowertoolsMetrics('router'),
    logger: createLogger('router'),
  });
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  await service.run(stop.signal);
}

main().catch((err: unknown) => {
  process.stderr.write(`router: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
