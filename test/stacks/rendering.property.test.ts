/**
 * The CDK rendering of random valid configs (test/topology/arbitraries.ts): the synthesized stacks
 * carry exactly the topology model's queue names, bucket names, notifications and replication
 * rules, keep the records prefixes out of replication and expire them. A synth takes seconds, so
 * only a few configs; the model's own properties run on many (test/topology/model.property.test.ts).
 */
import fc from 'fast-check';
import { BATCH_RECORDS_PREFIX, DELIVERY_RECORDS_PREFIX, RECORDS_PREFIX } from '../../shared/topology';
import { configArbitrary } from '../topology/arbitraries';
import { expectAppRendersModel, expirationsOf, renderedReplications } from './modelRendering';
import { synthConfig } from './synthVariant';

describe('Function: buildApp (rendering of random valid configs)', () => {
  it('renders the topology model of each config, with the records expired and never replicated', () => {
    fc.assert(
      fc.property(configArbitrary(), (config) => {
        // cdk-nag runs during the synth: an unacknowledged finding fails it.
        const v = synthConfig(config);
        expectAppRendersModel(v);
        for (const stack of v.sourceStacks) {
          const outbox = stack.plan.outbox;
          if (!outbox) continue;
          const t = v.template(stack);
          expect(expirationsOf(t, outbox)).toContainEqual({ prefix: BATCH_RECORDS_PREFIX, days: 15 });
          // No expiration without a prefix: it would cut the batch records' 15 days short.
          expect(expirationsOf(t, outbox).filter((e) => e.prefix === '' || BATCH_RECORDS_PREFIX.startsWith(e.prefix)).map((e) => e.days)).toEqual([15]);
          for (const r of renderedReplications(t, outbox)) expect(r.prefix.startsWith(RECORDS_PREFIX) || `${BATCH_RECORDS_PREFIX}x`.startsWith(r.prefix)).toBe(false);
        }
        for (const stack of v.targetStacks) {
          expect(expirationsOf(v.template(stack), stack.plan.staging)).toEqual([{ prefix: DELIVERY_RECORDS_PREFIX, days: 30 }]);
        }
      }),
      { numRuns: 3 },
    );
  });
});
