/**
 * What a node waits for from other nodes: remote calls to one agent and
 * fan-outs to every agent of every node. Each has a deadline on the shared
 * deadline queues and settles exactly once: by its answer, by the loss of
 * the node it waits for, by the loss of this node's inbox, or by its
 * deadline. Fan-outs settle node by node and name every agent's outcome.
 */
import { CioError, codes } from '../errors.js'
import type { ByAgent, SendOutcome } from '../agent/calls.js'
import { cancelExpiry, scheduleExpiry, type DeadlineQueue, type Expirable } from '../rpc/deadlines.js'
import { resultsFromWire } from './outcomes.js'
import type { FanoutTarget } from './engine.js'
import type { AllReplyMessage } from './wire.js'

/** Answers that may arrive before the fan-out's publish returns: a few per node, bounded. */
const MAX_EARLY_REPLIES = 10_000

/** A call to an agent on another node. */
export class PendingCall implements Expirable {
  deadline = 0
  expiryQueue: DeadlineQueue | undefined = undefined
  /** The node it was published to, once the route is known. */
  node: string | undefined = undefined
  /** Re-routed once already (the agent had moved before the call reached it). */
  rerouted = false
  readonly started = performance.now()
  readonly promise: Promise<unknown>
  #resolve!: (value: unknown) => void
  #reject!: (error: unknown) => void
  #done = false

  constructor(
    /** Changes when the call is re-routed: a receiving node refuses an id it has seen passed (replay). */
    public id: number,
    readonly name: string,
    readonly action: string,
    readonly message: unknown,
    readonly timeout: number,
    readonly onSettled: (call: PendingCall) => void,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    scheduleExpiry(this, timeout)
  }

  /** Milliseconds left before the deadline. */
  remaining(): number {
    return this.timeout - (performance.now() - this.started)
  }

  get settled(): boolean {
    return this.#done
  }

  resolve(value: unknown): void {
    if (this.#finish()) this.#resolve(value)
  }

  reject(error: unknown): void {
    if (this.#finish()) this.#reject(error)
  }

  expire(): void {
    const where = this.node === undefined ? '' : ` on node ${this.node}`
    this.reject(new CioError(codes.TIMEOUT, `The call ${JSON.stringify(this.action)} to agent ${this.name}${where} timed out after ${this.timeout} ms.`, {
      details: { action: this.action, name: this.name, node: this.node, timeout: this.timeout },
    }))
  }

  #finish(): boolean {
    if (this.#done) return false
    this.#done = true
    cancelExpiry(this)
    this.onSettled(this)
    return true
  }
}

/** One node's part of a fan-out. */
interface NodePart {
  /** The agents it held when the fan-out was published. */
  names: string[]
  parts: number | undefined
  got: Set<number>
  results: ByAgent<SendOutcome>
  done: boolean
}

/** Builds the error naming why an agent of a node has no answer. */
export type AgentFailure = (name: string, node: string) => unknown

/** A fan-out to the agents of every other live node. */
export class PendingFanout implements Expirable {
  deadline = 0
  expiryQueue: DeadlineQueue | undefined = undefined
  readonly promise: Promise<Map<string, ByAgent<SendOutcome>>>
  #resolve!: (byNode: Map<string, ByAgent<SendOutcome>>) => void
  #targets: Map<string, NodePart> | undefined = undefined
  #early: AllReplyMessage[] = []
  #done = false
  /** The deadline passed before the targets were known: they time out as soon as they are. */
  #expired = false

  constructor(
    readonly id: number,
    readonly action: string,
    readonly timeout: number,
    readonly onSettled: (fanout: PendingFanout) => void,
  ) {
    this.promise = new Promise((resolve) => (this.#resolve = resolve))
    scheduleExpiry(this, timeout)
  }

  get settled(): boolean {
    return this.#done
  }

  /** The nodes the fan-out reached (and those it did not); answers that came first are applied now. */
  setTargets(targets: FanoutTarget[], unreached: AgentFailure): void {
    if (this.#done) return
    this.#targets = new Map()
    for (const target of targets) {
      this.#targets.set(target.node, { names: target.names, parts: undefined, got: new Set(), results: Object.create(null) as ByAgent<SendOutcome>, done: false })
      if (target.receivers === 0) this.failNode(target.node, unreached)
    }
    const early = this.#early
    this.#early = []
    for (const reply of early) this.onReply(reply)
    if (this.#expired) this.expire()
    this.#check()
  }

  /** Applies one part of a node's answer; false when it answers nothing this fan-out waits for. */
  onReply(reply: AllReplyMessage): boolean {
    if (this.#done) return false
    const targets = this.#targets
    if (targets === undefined) {
      if (this.#early.length >= MAX_EARLY_REPLIES) return false
      this.#early.push(reply)
      return true
    }
    const part = targets.get(reply.node)
    if (part === undefined || part.done || (part.parts !== undefined && part.parts !== reply.parts) || part.got.has(reply.part)) return false
    part.parts = reply.parts
    part.got.add(reply.part)
    resultsFromWire(reply.results, reply.node, part.results)
    if (part.got.size === part.parts) part.done = true
    this.#check()
    return true
  }

  /** Gives every agent of `node` still without an outcome the error `failure` makes. */
  failNode(node: string, failure: AgentFailure): void {
    const part = this.#targets?.get(node)
    if (part === undefined || part.done) return
    for (const name of part.names) if (!(name in part.results)) part.results[name] = { ok: false, error: failure(name, node) }
    part.done = true
    this.#check()
  }

  /** Fails every node still unanswered (before the targets are known, settles with none). */
  failAll(failure: AgentFailure): void {
    if (this.#done) return
    if (this.#targets === undefined) this.#targets = new Map()
    for (const node of [...this.#targets.keys()]) this.failNode(node, failure)
    this.#check()
  }

  expire(): void {
    // Without the targets no agent can be named yet; the engine answers within its own limit.
    if (this.#targets === undefined) {
      this.#expired = true
      return
    }
    this.failAll((name, node) => new CioError(codes.TIMEOUT, `The call ${JSON.stringify(this.action)} to agent ${name} on node ${node} timed out after ${this.timeout} ms.`, {
      details: { action: this.action, name, node, timeout: this.timeout },
    }))
  }

  #check(): void {
    const targets = this.#targets
    if (this.#done || targets === undefined) return
    for (const part of targets.values()) if (!part.done) return
    this.#done = true
    cancelExpiry(this)
    this.onSettled(this)
    const byNode = new Map<string, ByAgent<SendOutcome>>()
    for (const [node, part] of targets) byNode.set(node, part.results)
    this.#resolve(byNode)
  }
}
