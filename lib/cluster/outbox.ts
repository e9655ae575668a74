/**
 * Calls and answers bound for other nodes, gathered over one turn of the
 * event loop and sent as one signed message per node (or a few, under the
 * size limit): at many calls in flight this saves a signature, a PUBLISH and
 * a wake-up of the receiving node per message. A lone message leaves as it
 * always did. Items keep their order; `flush()` sends everything at once,
 * before any other message leaves this node, so a node's ids still arrive in
 * the order they were given out.
 */
import { BATCH_OVERHEAD, MAX_BATCH_ITEMS, SIGNATURE_OVERHEAD, batchJson, signJson } from './wire.js'

/** What becomes of one item: how many subscribers its message reached, or why it could not be published. */
export interface Delivery {
  sent(receivers: number): void
  failed(error: unknown): void
}

interface Item extends Delivery {
  json: string
  /** An answer to another node's call (else a call made here). */
  answer: boolean
}

/** Publishes signed text to a node's inbox; resolves with the subscribers reached. */
export type Publish = (node: string, text: string) => Promise<number>

/** The per-node queues of one cluster node's outgoing calls and answers. */
export class Outbox {
  readonly #queues = new Map<string, Item[]>()
  readonly #publish: Publish
  readonly #key: Buffer
  readonly #maxBytes: number
  #scheduled: NodeJS.Immediate | undefined

  constructor(publish: Publish, key: Buffer, maxBytes: number) {
    this.#publish = publish
    this.#key = key
    this.#maxBytes = maxBytes
  }

  /** True when `json`, signed alone, fits the size limit. */
  fits(json: string): boolean {
    return json.length + SIGNATURE_OVERHEAD <= this.#maxBytes && Buffer.byteLength(json) + SIGNATURE_OVERHEAD <= this.#maxBytes
  }

  /** Queues a message's JSON (one that {@link fits}) for `node`; it leaves at the end of this turn. `answer`: an answer to another node's call. */
  push(node: string, json: string, delivery: Delivery, answer = false): void {
    let queue = this.#queues.get(node)
    if (queue === undefined) this.#queues.set(node, (queue = []))
    queue.push({ json, sent: delivery.sent, failed: delivery.failed, answer })
    this.#scheduled ??= setImmediate(() => this.flush())
  }

  /** Sends everything queued now. */
  flush(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled)
    this.#scheduled = undefined
    if (this.#queues.size === 0) return
    const queues = [...this.#queues]
    this.#queues.clear()
    for (const [node, items] of queues) for (const group of this.#pack(items)) this.#send(node, group)
  }

  /**
   * Drops the queued calls, which their callers here are told have ended
   * (the node closes, or lost its inbox): they must not reach an agent
   * after that. Answers stay: the work was done, its caller waits for them.
   */
  dropCalls(): void {
    for (const [node, items] of this.#queues) {
      const answers = items.filter((item) => item.answer)
      if (answers.length === 0) this.#queues.delete(node)
      else this.#queues.set(node, answers)
    }
  }

  /** Consecutive items grouped so that each group's signed batch fits the limit. */
  #pack(items: Item[]): Item[][] {
    const groups: Item[][] = []
    let group: Item[] = []
    let bytes = SIGNATURE_OVERHEAD + BATCH_OVERHEAD
    for (const item of items) {
      const size = Buffer.byteLength(item.json) + 1
      if (group.length > 0 && (bytes + size > this.#maxBytes || group.length >= MAX_BATCH_ITEMS)) {
        groups.push(group)
        group = []
        bytes = SIGNATURE_OVERHEAD + BATCH_OVERHEAD
      }
      group.push(item)
      bytes += size
    }
    if (group.length > 0) groups.push(group)
    return groups
  }

  #send(node: string, group: Item[]): void {
    const json = group.length === 1 ? (group[0] as Item).json : batchJson(group.map((item) => item.json))
    this.#publish(node, signJson(this.#key, json)).then(
      (receivers) => {
        for (const item of group) item.sent(receivers)
      },
      (error: unknown) => {
        for (const item of group) item.failed(error)
      },
    )
  }
}
