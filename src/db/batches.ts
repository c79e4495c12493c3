/**
 * Batches, or group commit (decision 0108): the same statement, asked for by many concurrent requests, run for
 * all of them in one database round trip (and, for a write, one commit). The first item of an idle queue is written at once; the items that arrive while a
 * batch is being written wait for it and form the next batch. So an idle engine adds no wait, and a busy one
 * writes as many items per statement (and per commit) as arrived in the time of one.
 *
 * `together(em, items)` writes a batch and answers one result per item, in order; it must keep nothing when it
 * fails (one statement, or one transaction). When it fails, each item of the batch is written again by
 * `alone(em, item)`, concurrently: the batch was an optimisation, and an item's error is then its own.
 *
 * Not a DataLoader: that library batches the loads of one event-loop tick (requests arrive on separate ticks,
 * so under load its batches stay small) and caches by key, which a write, or a read of money, must never do.
 */
import type { EntityManager } from '@mikro-orm/postgresql';

export interface Batched<I, O> {
  /** `item` written with the others waiting; never inside a caller's transaction */
  (em: EntityManager, item: I): Promise<O>;
}

interface Waiting<I, O> {
  item: I;
  em: EntityManager;
  resolve: (result: O) => void;
  reject: (error: unknown) => void;
}

export function inBatches<I, O>(
  together: (em: EntityManager, items: I[]) => Promise<O[]>,
  alone: (em: EntityManager, item: I) => Promise<O>,
  options: { maxBatch?: number } = {},
): Batched<I, O> {
  const maxBatch = options.maxBatch ?? 256;
  // one queue per database (the driver of its ORM)
  const queues = new WeakMap<object, { waiting: Waiting<I, O>[]; running: boolean }>();

  async function drain(queue: { waiting: Waiting<I, O>[]; running: boolean }): Promise<void> {
    queue.running = true;
    try {
      while (queue.waiting.length > 0) {
        const batch = queue.waiting.splice(0, maxBatch);
        let results: O[];
        try {
          results = await together(
            batch[0]!.em.fork(),
            batch.map((waiting) => waiting.item),
          );
          if (results.length !== batch.length) throw new Error(`a batch of ${batch.length} answered ${results.length} results`);
        } catch {
          for (const waiting of batch) alone(waiting.em.fork(), waiting.item).then(waiting.resolve, waiting.reject);
          continue;
        }
        batch.forEach((waiting, index) => waiting.resolve(results[index]!));
      }
    } finally {
      queue.running = false;
    }
  }

  return (em, item) => {
    const queue = queues.get(em.getDriver()) ?? { waiting: [], running: false };
    queues.set(em.getDriver(), queue);
    const promise = new Promise<O>((resolve, reject) => queue.waiting.push({ item, em, resolve, reject }));
    if (!queue.running) void drain(queue);
    return promise;
  };
}
