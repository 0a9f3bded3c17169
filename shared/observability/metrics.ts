/** The metrics port the services use, with an EMF (Powertools) and an in-memory implementation. */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export type MetricUnitName = 'Count' | 'Bytes' | 'Milliseconds' | 'None';

/** What services record; `dimensions` add to the service dimension (e.g. destination, reason). */
export interface ServiceMetrics {
  add(name: string, unit: MetricUnitName, value: number, dimensions?: Record<string, string>): void;
  /** Emit whatever is buffered (call at the end of each unit of work). */
  flush(): void;
}

const UNITS: Record<MetricUnitName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  Count: MetricUnit.Count,
  Bytes: MetricUnit.Bytes,
  Milliseconds: MetricUnit.Milliseconds,
  None: MetricUnit.NoUnit,
};

/** CloudWatch EMF on stdout through Powertools (namespace `xregion`, dimension `service`). */
export class PowertoolsMetrics implements ServiceMetrics {
  private readonly metrics: Metrics;

  constructor(service: string, namespace = 'xregion') {
    this.metrics = new Metrics({ namespace, serviceName: service });
  }

  add(name: string, unit: MetricUnitName, value: number, dimensions?: Record<string, string>): void {
    if (dimensions && Object.keys(dimensions).length > 0) {
      // A metric with its own dimensions must be emitted on its own EMF record.
      const single = this.metrics.singleMetric();
      single.addDimensions(dimensions);
      single.addMetric(name, UNITS[unit], value);
      return;
    }
    this.metrics.addMetric(name, UNITS[unit], value);
  }

  flush(): void {
    this.metrics.publishStoredMetrics();
  }
}

/** Sums every metric by name and dimensions; for the local appliance's report and for tests. */
export class InMemoryMetrics implements ServiceMetrics {
  private readonly totals = new Map<string, number>();

  add(name: string, _unit: MetricUnitName, value: number, dimensions?: Record<string, string>): void {
    const key = InMemoryMetrics.key(name, dimensions);
    this.totals.set(key, (this.totals.get(key) ?? 0) + value);
  }

  flush(): void {}

  /** The sum recorded for a metric with exactly these dimensions (0 when none). */
  get(name: string, dimensions?: Record<string, string>): number {
    return this.totals.get(InMemoryMetrics.key(name, dimensions)) ?? 0;
  }

  /** The sum over every dimension combination of a metric. */
  total(name: string): number {
    let sum = 0;
    for (const [key, value] of this.totals) if (key === name || key.startsWith(`${name}|`)) sum += value;
    return sum;
  }

  private static key(name: string, dimensions?: Record<string, string>): string {
    if (!dimensions) return name;
    const dims = Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b));
    return dims.length ? `${name}|${dims.map(([k, v]) => `${k}=${v}`).join(',')}` : name;
  }
}
