/**
 * Where this node last reached each remote agent, so that a call to it can
 * be one PUBLISH to that node's inbox instead of a lookup script per call.
 * Only a hint: a call sent on it that finds no subscriber, or an answer
 * saying the agent is no longer there, drops the entry and the call is
 * routed again through Redis. Entries of a node go when the node is lost.
 */

/** The most names remembered: past it the oldest entry goes, so memory stays bounded whatever the cluster's size. */
const MAX_ENTRIES = 20_000

/** Remote agent name → the node it was last reached on, bounded. */
export class AgentLocations {
  readonly #nodeOf = new Map<string, string>()

  /** The node `name` was last reached on, if any. */
  get(name: string): string | undefined {
    return this.#nodeOf.get(name)
  }

  /** Remembers that a call to `name` was received on `node`. */
  set(name: string, node: string): void {
    if (this.#nodeOf.size >= MAX_ENTRIES && !this.#nodeOf.has(name)) {
      const oldest = this.#nodeOf.keys().next()
      if (oldest.done !== true) this.#nodeOf.delete(oldest.value)
    }
    this.#nodeOf.set(name, node)
  }

  /** Drops `name` when it was remembered on `node` (an answer from elsewhere must not erase a newer entry). */
  forget(name: string, node: string | undefined): void {
    if (node === undefined || this.#nodeOf.get(name) === node) this.#nodeOf.delete(name)
  }

  /** Drops every name held on `node`. */
  forgetNode(node: string): void {
    for (const [name, held] of this.#nodeOf) if (held === node) this.#nodeOf.delete(name)
  }

  clear(): void {
    this.#nodeOf.clear()
  }

  get size(): number {
    return this.#nodeOf.size
  }
}
