/** The Queue contract against SQS on moto, with a real redrive policy. */
import { uniqueName, useMoto } from '../helpers/moto';
import { queueContract, type QueueHarness } from './queue.contract';

describe('Class: SqsQueue (moto)', () => {
  const moto = useMoto();
  const harness: QueueHarness = {
    newQueue: async ({ visibilityTimeoutSeconds, maxReceiveCount }) => {
      const { queueUrl, dlqUrl } = await moto().createQueue(uniqueName('q'), { visibilityTimeoutSeconds, deadLetter: { maxReceiveCount } });
      return { queue: moto().sqsQueue(queueUrl), dlq: moto().sqsQueue(dlqUrl as string) };
    },
  };

  queueContract(() => harness);
});
