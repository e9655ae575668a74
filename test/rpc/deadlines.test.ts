import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { cancelExpiry, deadlineStats, scheduleExpiry, type DeadlineQueue, type Expirable } from '../../lib/rpc/deadlines.js'

/** An item that records when it expired. */
class Item implements Expirable {
  deadline = 0
  expiryQueue: DeadlineQueue | undefined = undefined
  expiredAt: number | undefined = undefined
  constructor(readonly onExpire: (item: Item) => void = () => {}) {}
  expire(): void {
    this.expiredAt = performance.now()
    this.onExpire(this)
  }
}

/** Waits until `done()` holds, up to 2 s. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await sleep(10)
}

t.test('deadlines - items expire once, not before their deadline, in order; cancelled ones never', async (t) => {
  const start = performance.now()
  const items = Array.from({ length: 20 }, () => new Item())
  for (const [index, item] of items.entries()) scheduleExpiry(item, 20 + (index % 2) * 20)
  for (const item of items.filter((_, index) => index % 4 === 0)) cancelExpiry(item)
  await until(() => items.every((item, index) => index % 4 === 0 || item.expiredAt !== undefined))
  for (const [index, item] of items.entries()) {
    if (index % 4 === 0) t.equal(item.expiredAt, undefined, `item ${index} was cancelled`)
    else t.ok((item.expiredAt ?? 0) >= start + (index % 2 === 0 ? 20 : 40) - 1, `item ${index} expired at or after its deadline`)
  }
  cancelExpiry(items[1] as Item)
  t.same(deadlineStats(), { queues: 0, items: 0, live: 0 }, 'expired queues are released')
})

t.test('deadlines - calls finishing in order or out of order keep the queue small', async (t) => {
  const items = Array.from({ length: 10_000 }, () => new Item())
  for (const item of items) scheduleExpiry(item, 60_000)
  // Out of order: three in four, leaving the first of each four (the head stays).
  for (const [index, item] of items.entries()) if (index % 4 !== 0) cancelExpiry(item)
  t.equal(deadlineStats().live, 2_500)
  t.ok(deadlineStats().items <= 2 * 2_500 + 32, `compacted: ${deadlineStats().items} held for 2500 scheduled`)
  for (const [index, item] of items.entries()) if (index % 4 === 0) cancelExpiry(item)
  t.same(deadlineStats(), { queues: 1, items: 0, live: 0 }, 'nothing held once all are cancelled')
  // The queue's timer is unref'd, so it does not keep this test alive; it goes when it fires.
})

t.test('deadlines - many distinct timeouts do not leave idle queues behind', async (t) => {
  const before = deadlineStats().queues
  const items = Array.from({ length: 200 }, () => new Item())
  for (const [index, item] of items.entries()) scheduleExpiry(item, 30_000 + index)
  t.equal(deadlineStats().queues, before + 200)
  for (const item of items) cancelExpiry(item)
  t.ok(deadlineStats().queues <= 64 + before, `idle queues released down to the cap (${deadlineStats().queues})`)
})

t.test('deadlines - an expiry may schedule and cancel others of its own queue', async (t) => {
  const later = new Item()
  const cancelled = new Item()
  const first = new Item(() => {
    scheduleExpiry(later, 10)
    cancelExpiry(cancelled)
  })
  scheduleExpiry(first, 10)
  await sleep(2)
  scheduleExpiry(cancelled, 10)
  await until(() => later.expiredAt !== undefined)
  t.ok(first.expiredAt !== undefined && later.expiredAt !== undefined && later.expiredAt >= first.expiredAt + 9)
  t.equal(cancelled.expiredAt, undefined)
})
