/**
 * observability: logs and metrics for every service. On ECS, Powertools writes structured JSON
 * logs and CloudWatch EMF metrics to stdout; locally (the appliance, the CLI, tests) metrics are
 * aggregated in memory so reports and tests can read them, and logs stay quiet unless asked.
 */
export { type ServiceMetrics, type MetricUnitName, InMemoryMetrics, PowertoolsMetrics } from './metrics';
export { createLogger, type ServiceLogger } from './logger';
