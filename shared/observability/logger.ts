/** Structured JSON logging through Powertools; quiet by default outside ECS. */
import { Logger } from '@aws-lambda-powertools/logger';

export type ServiceLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** A Powertools logger for one service; `level` defaults to POWERTOOLS_LOG_LEVEL or INFO. */
export function createLogger(service: string, level?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT'): ServiceLogger {
  return new Logger({ serviceName: service, ...(level ? { logLevel: level } : {}) });
}
