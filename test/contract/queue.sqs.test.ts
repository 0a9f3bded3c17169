/** The Queue contract against SQS on moto, with a real redrive policy. */
import { createQueue } from '../../shared/queue';
import { uniqueName, useMoto } from '../helpers/moto';
import { queueContract, type QueueHarness } from './queue.contract';

describe('Class: SqsQueue (moto)', () => {
  const moto = useMoto();
  const harness: QueueHarness = {
    newQueue: async ({ visibilityTimeoutSeconds, maxReceiveCount }) => {
      const { queueUrl, dlqUrl } = await moto().createQueue(uniqueName('q'), { visibilityTimeoutSeconds, deadLetter: { maxReceiveCount } });
      const queue = createQueue({ kind: 'sqs', ...moto().connection(), queueUrl });
      return { queue, dlq: moto().sqsQueue(dlqUrl as string) };
    },
  };

  queueContract(() => harness);
});
