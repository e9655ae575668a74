/**
 * Deadlines for many short-lived items (pending RPC calls) without a Node
 * timer each. Items with the same timeout (rounded up to the millisecond)
 * share a FIFO queue: their deadlines come in the order they were set, so
 * one timer per queue, armed for its head, is enough. Scheduling is a push;
 * cancelling drops finished items from the head, which is where they are
 * when calls complete in order (the usual case).
 *
 * A per-call `setTimeout`/`clearTimeout` pair costs an object, a timer-list
 * insertion and a native `unref` per call; at tens of thousands of calls a
 * second that was a measurable share of a call's cost.
 *
 * Every queue's timer is unref'd: a pending deadline alone never keeps the
 * process alive. An item expires at most about a millisecond after its
 * deadline (the rounding into queues, and timer granularity).
 */

/** Something a deadline queue can expire. Each item is scheduled at most once. */
export interface Expirable {
  /** The `performance.now()` time it expires at; set by {@link scheduleExpiry}. */
  deadline: number
  /** The queue holding it while it is scheduled; undefined once cancelled or expired. */
  expiryQueue: DeadlineQueue | undefined
  /** Called once, when the deadline passes before {@link cancelExpiry}. */
  expire(): void
}

/** Above this many queues, a queue that empties is released at once rather than when its timer next fires. */
const MAX_IDLE_QUEUES = 64
/** Slack allowed in a queue's array (cancelled items not yet dropped) before it is compacted. */
const COMPACT_SLACK = 32

/** @internal One FIFO of items sharing a timeout. */
export class DeadlineQueue {
  items: Array<Expirable | undefined> = []
  head = 0
  live = 0
  timer: NodeJS.Timeout | undefined = undefined
  constructor(readonly key: number) {}
}

const queues = new Map<number, DeadlineQueue>()

/** Expires `item` after `ms` milliseconds (a finite number above 0) unless it is cancelled first. */
export function scheduleExpiry(item: Expirable, ms: number): void {
  const key = Math.ceil(ms)
  let queue = queues.get(key)
  if (queue === undefined) {
    queue = new DeadlineQueue(key)
    queues.set(key, queue)
  }
  item.deadline = performance.now() + ms
  item.expiryQueue = queue
  queue.items.push(item)
  queue.live++
  if (queue.timer === undefined) arm(queue, ms)
}

/** Stops `item` from expiring; does nothing if it already expired or was cancelled. */
export function cancelExpiry(item: Expirable): void {
  const queue = item.expiryQueue
  if (queue === undefined) return
  item.expiryQueue = undefined
  queue.live--
  dropFinishedHead(queue)
  if (queue.items.length - queue.head > 2 * queue.live + COMPACT_SLACK) compact(queue)
  if (queue.live === 0 && queues.size > MAX_IDLE_QUEUES) release(queue)
}

/** Queues and items currently held, for tests and diagnostics. */
export function deadlineStats(): { queues: number; items: number; live: number } {
  let items = 0
  let live = 0
  for (const queue of queues.values()) {
    items += queue.items.length - queue.head
    live += queue.live
  }
  return { queues: queues.size, items, live }
}

function arm(queue: DeadlineQueue, delay: number): void {
  queue.timer = setTimeout(onQueueTimer, Math.max(1, Math.ceil(delay)), queue)
  queue.timer.unref()
}

function dropFinishedHead(queue: DeadlineQueue): void {
  const { items } = queue
  while (queue.head < items.length && items[queue.head]?.expiryQueue !== queue) items[queue.head++] = undefined
  if (queue.head === items.length) {
    items.length = 0
    queue.head = 0
  }
}

/** Keeps only the scheduled items: bounds the array when calls finish out of order. */
function compact(queue: DeadlineQueue): void {
  const kept: Expirable[] = []
  for (let index = queue.head; index < queue.items.length; index++) {
    const item = queue.items[index]
    if (item?.expiryQueue === queue) kept.push(item)
  }
  queue.items = kept
  queue.head = 0
}

function release(queue: DeadlineQueue): void {
  if (queue.timer !== undefined) clearTimeout(queue.timer)
  queue.timer = undefined
  queue.items = []
  queue.head = 0
  if (queues.get(queue.key) === queue) queues.delete(queue.key)
}

/** Expires the items whose deadline has passed, then re-arms for the next one or lets the queue go. */
function onQueueTimer(queue: DeadlineQueue): void {
  queue.timer = undefined
  const now = performance.now()
  // `queue.items` and `queue.head` are read afresh each turn: expire() may
  // schedule or cancel other items of this queue.
  while (queue.head < queue.items.length) {
    const item = queue.items[queue.head] as Expirable
    const scheduled = item.expiryQueue === queue
    if (scheduled && item.deadline > now) {
      if (queue.timer === undefined) arm(queue, item.deadline - now)
      return
    }
    queue.items[queue.head++] = undefined
    if (scheduled) {
      item.expiryQueue = undefined
      queue.live--
      item.expire()
    }
  }
  release(queue)
}
