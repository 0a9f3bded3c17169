/** ECS entry point of the compressor: environment → adapters → CompressorService.run(). */
import { readRuntimeSettings } from '../../shared/config';
import { createLogger, PowertoolsMetrics } from '../../shared/observability';
import { createQueue } from '../../shared/queue';
import { createObjectStore } from '../../shared/storage';
import { CompressorService } from './CompressorService';

async function main(): Promise<void> {
  const settings = readRuntimeSettings(process.env, 'compressor');
  const connection = { region: settings.region, endpoint: settings.endpoint };
  const store = createObjectStore({ kind: 's3', ...connection });
  const service = new CompressorService({
    queue: createQueue({ kind: 'sqs', ...connection, queueUrl: settings.queueUrl }),
    source: store,
    staging: store,
    stagingBucket: settings.stagingBucket,
    rules: settings.config.replication_configuration.filter((r) => r.source.region === settings.region),
    region: settings.region,
    metrics: new PowertoolsMetrics('compressor'),
    logger: createLogger('compressor'),
  });
  const stop = new AbortController();
  // ECS sends SIGTERM before stopping a task: stop taking work; held messages simply redeliver.
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  await service.run(stop.signal);
}

main().catch((err: unknown) => {
  process.stderr.write(`compressor: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
