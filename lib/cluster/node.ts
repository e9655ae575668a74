/**
 * One agent server's membership in a cluster, whatever engine carries it:
 * names from the shared counter, calls and fan-outs to agents on other
 * nodes, the calls other nodes make on this node's agents, leases and the
 * events that follow from them. The engine (Redis in `cio/redis`) is given
 * in; this file never loads a client.
 */
import { randomBytes, type KeyObject } from 'node:crypto'
import { hostname } from 'node:os'
import { CioError, codes, describeError } from '../errors.js'
import type { ByAgent, SendOutcome } from '../agent/calls.js'
import { parseName } from '../agent/names.js'
import type { ClusterEngine, FanoutTarget, RouteResult } from './engine.js'
import { AgentLocations } from './locations.js'
import { failureToWire, faultError, lostError, outcomeToWire } from './outcomes.js'
import { PendingCall, PendingFanout, type AgentFailure } from './pending.js'
import type { ClusterAgent, ClusterHost, ClusterLink, ClusterNodeInfo, ClusterStats } from './types.js'
import { Outbox } from './outbox.js'
import { batchItem, clusterKey, decodeMessage, MAX_ACTION_LENGTH, encodeMessage, signJson, type AllMessage, type AllReplyMessage, type BatchMessage, type CallMessage, type ClusterMessage, type ReplyMessage, type WireOutcome } from './wire.js'

/** The timing and limits of a node, checked by the engine's factory. */
export interface ClusterNodeOptions {
  /** Name shown for this node; its id adds 8 random characters. */
  nodeName: string | undefined
  heartbeatInterval: number
  nodeTimeout: number
  maxMessageBytes: number
}

/** Beats after a data loss during which nodes missing from the lease set are not yet reported lost. */
const GRACE_BEATS = 2
/** Every this many beats the node's names in Redis are checked against its connections anyway. */
const RECONCILE_BEATS = 30
/** The most a remote call keeps back so that the answering node's TIMEOUT arrives before the caller gives up. */
const MAX_GRACE = 250

function ignore(): void {}

/** Other nodes would drop such a message (and, in a batch, only it): refused before it is sent. */
function actionTooLong(action: string, details: Record<string, unknown> = {}): CioError {
  return new CioError(codes.INVALID_ARGUMENT, `The action ${JSON.stringify(action.slice(0, 64))}... is longer than the ${MAX_ACTION_LENGTH} characters a cluster message carries.`, { details: { ...details, limit: MAX_ACTION_LENGTH } })
}

function unavailable(message: string, cause?: unknown, details: Record<string, unknown> = {}): CioError {
  return new CioError(codes.CLUSTER_UNAVAILABLE, message, { cause, details })
}

/** Time the answering node keeps back from a call's `ttl`. */
function graceOf(ttl: number): number {
  return Math.min(MAX_GRACE, ttl / 10)
}

export class ClusterNode implements ClusterLink {
  readonly #engine: ClusterEngine
  readonly #options: ClusterNodeOptions
  #host: ClusterHost | undefined
  #key: Buffer = Buffer.alloc(0)
  #nodeId: string | undefined
  #nextId = 1
  readonly #calls = new Map<number, PendingCall>()
  readonly #fanouts = new Map<number, PendingFanout>()
  /** Highest call id accepted from each node: its ids only grow, so a replayed message is refused. */
  readonly #lastSeen = new Map<string, number>()
  /** Where remote agents were last reached: a call to them is then one PUBLISH, no lookup. */
  readonly #locations = new AgentLocations()
  /** Calls on remembered locations and answers, sent once per turn and node. */
  #outbox: Outbox | undefined
  /** Other live nodes, as the last heartbeat saw them. */
  #live = new Set<string>()
  #epoch: string | undefined
  #joined = false
  #up = false
  #wasDown = false
  #grace = 0
  #beating = false
  #beats = 0
  /** A write about this node's names may have failed or half-happened: reconcile at the next beat. */
  #stale = false
  #timer: NodeJS.Timeout | undefined
  #closed = false
  /** The engine was started (once the handshake key was derived). */
  #started = false
  #joinWaiters: Array<() => void> = []
  readonly #counts = { dropped: 0, accepted: 0, serving: 0 }

  constructor(engine: ClusterEngine, options: ClusterNodeOptions) {
    this.#engine = engine
    this.#options = options
  }

  get nodeId(): string | undefined {
    return this.#nodeId
  }

  attach(host: ClusterHost): void {
    if (this.#host !== undefined) throw new CioError(codes.INVALID_OPTION, 'This cluster link already serves an agent server: make one redisCluster() per AgentServer.', { details: { option: 'cluster' } })
    this.#host = host
    const nodeName = this.#options.nodeName ?? `${hostname()}:${process.pid}`
    const nodeId = (this.#nodeId = `${nodeName}~${randomBytes(6).toString('base64url')}`)
    // Nothing is signed or read before the key exists; a failed derivation is the server's to report.
    host.key.then((key) => this.#start(host, key, nodeId, nodeName), ignore).catch((error: unknown) => {
      // Starting threw (in a promise reaction, so it would otherwise be an unhandled rejection): the server hears of it as the cluster being down.
      host.emit('clusterDown', unavailable(`The cluster link could not start: ${describeError(error)}`, error))
    })
  }

  #start(host: ClusterHost, key: KeyObject, nodeId: string, nodeName: string): void {
    if (this.#closed) return
    this.#key = clusterKey(key)
    // Made with the key; nothing is routed or answered before the engine is up, which is after this.
    this.#outbox = new Outbox((node, text) => this.#engine.publish(node, text), this.#key, this.#options.maxMessageBytes)
    this.#started = true
    this.#engine.start({ nodeId, nodeName, started: Date.now(), log: host.log }, {
      message: (text) => this.#onMessage(text),
      up: () => this.#onUp(),
      down: (error) => this.#onDown(error),
    })
    this.#timer = setInterval(() => void this.#beat(), this.#options.heartbeatInterval).unref()
  }

  stats(): ClusterStats {
    return { dropped: this.#counts.dropped, accepted: this.#counts.accepted, serving: this.#counts.serving, pending: this.#calls.size + this.#fanouts.size }
  }

  async allocate(): Promise<string> {
    await this.#ready()
    const host = this.#hostOrThrow()
    const { prefix, width, suffix } = host.nameFormat
    let name: string | 'recovering'
    try {
      name = await this.#engine.allocate(prefix, width, suffix, host.highWater())
    } catch (error) {
      // A script that timed out here may still have run there.
      this.#stale = true
      throw unavailable(`No name can be given out: Redis cannot be reached (${describeError(error)}).`, error)
    }
    if (name === 'recovering') throw unavailable('No name can be given out yet: the cluster is starting or recovering from a Redis data loss (a few heartbeats); the agent will retry.')
    host.observe(name)
    return name
  }

  async claim(name: string): Promise<void> {
    await this.#ready()
    const host = this.#hostOrThrow()
    let result: { heldBy?: string }
    try {
      result = await this.#engine.claim(name, parseName(host.nameFormat, name) ?? 0)
    } catch (error) {
      this.#stale = true
      throw unavailable(`The name ${name} cannot be claimed: Redis cannot be reached (${describeError(error)}).`, error, { name })
    }
    if (result.heldBy !== undefined) {
      throw new CioError(codes.DUPLICATE_ID, `The name ${name} belongs to an agent connected to node ${result.heldBy}; the first connection keeps it.`, { details: { name, node: result.heldBy } })
    }
  }

  release(name: string): void {
    if (this.#closed) return
    this.#engine.release(name).catch((error: unknown) => {
      // A name left to this node would refuse its agent elsewhere (DUPLICATE_ID): the next beat puts it right.
      this.#stale = true
      this.#host?.log?.(`cluster: releasing ${name} failed (the next heartbeat reconciles): ${describeError(error)}`)
    })
  }

  sendTo(name: string, action: string, message: unknown, timeout: number): Promise<unknown> {
    if (action.length > MAX_ACTION_LENGTH) return Promise.reject(actionTooLong(action))
    // Right after start: wait (bounded) for the first heartbeat instead of failing a call made too early.
    if (this.#joined || this.#closed) return this.#sendNow(name, action, message, timeout)
    const started = performance.now()
    // The wait counts against the call's own deadline.
    return this.#joinedOrTimeout(timeout).then(() => this.#sendNow(name, action, message, Math.max(1, timeout - (performance.now() - started))))
  }

  #sendNow(name: string, action: string, message: unknown, timeout: number): Promise<unknown> {
    if (!this.#up || this.#closed) return Promise.reject(unavailable(`Cannot call ${JSON.stringify(action)} on agent ${name}: Redis cannot be reached, so its node is unknown.`, undefined, { name, action, delivered: false }))
    const call = new PendingCall(this.#nextId++, name, action, message, timeout, (settled) => this.#calls.delete(settled.id))
    this.#calls.set(call.id, call)
    this.#route(call)
    return call.promise
  }

  async sendAll(action: string, message: unknown, timeout: number, local: Promise<ByAgent<SendOutcome>>): Promise<ByAgent<SendOutcome>> {
    if (action.length > MAX_ACTION_LENGTH) throw actionTooLong(action, { results: await local })
    if (!this.#joined && !this.#closed) {
      const started = performance.now()
      await this.#joinedOrTimeout(timeout)
      timeout = Math.max(1, timeout - (performance.now() - started))
    }
    if (!this.#up || this.#closed) throw unavailable(`Cannot send ${JSON.stringify(action)} to all agents: Redis cannot be reached, so the cluster's agents are unknown.`, undefined, { action, results: await local })
    const fanout = new PendingFanout(this.#nextId++, action, timeout, (settled) => this.#fanouts.delete(settled.id))
    this.#fanouts.set(fanout.id, fanout)
    const payload = this.#encode({ v: 1, t: 'all', id: fanout.id, from: this.#nodeId as string, action, body: message, ttl: timeout })
    let targets: FanoutTarget[]
    try {
      if (payload === undefined) throw new CioError(codes.INVALID_ARGUMENT, `The message of ${JSON.stringify(action)} is over the cluster's maxMessageBytes (${this.#options.maxMessageBytes}).`)
      // What is queued leaves first: a node's ids must reach every other node in order.
      this.#outbox?.flush()
      targets = await this.#engine.fanout(payload)
    } catch (error) {
      fanout.failAll(() => error)
      const results = await local
      if (error instanceof CioError && error.code === codes.INVALID_ARGUMENT) throw error
      throw unavailable(`Cannot send ${JSON.stringify(action)} to all agents: Redis cannot be reached (${describeError(error)}).`, error, { action, results })
    }
    fanout.setTargets(targets, (name, node) =>
      lostError(codes.AGENT_NOT_CONNECTED, `The agent ${name} is not reachable: its node ${node} has no inbox subscriber.`, codes.NODE_LOST, { name, node, delivered: false }),
    )
    const [mine, byNode] = await Promise.all([local, fanout.promise])
    const results: ByAgent<SendOutcome> = Object.create(null)
    for (const name of Object.keys(mine)) results[name] = mine[name] as SendOutcome
    for (const target of targets) {
      const theirs = byNode.get(target.node)
      if (theirs === undefined) continue
      for (const name of Object.keys(theirs)) if (!(name in results)) results[name] = theirs[name] as SendOutcome
    }
    return results
  }

  async listAgents(): Promise<ClusterAgent[]> {
    try {
      return await this.#engine.listAgents()
    } catch (error) {
      throw unavailable(`The cluster's agents cannot be listed: Redis cannot be reached (${describeError(error)}).`, error)
    }
  }

  async listNodes(): Promise<ClusterNodeInfo[]> {
    try {
      return await this.#engine.listNodes()
    } catch (error) {
      throw unavailable(`The cluster's nodes cannot be listed: Redis cannot be reached (${describeError(error)}).`, error)
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#timer)
    this.#settleJoin()
    // Answers already made leave before this node does; its own calls are settled just below.
    this.#outbox?.dropCalls()
    this.#outbox?.flush()
    const reason = (name: string, node: string): CioError => lostError(codes.DISCONNECTED, `The call to agent ${name} on node ${node} ended: this agent server closed.`, codes.CLOSED, { name, node })
    for (const call of [...this.#calls.values()]) call.reject(reason(call.name, call.node ?? '?'))
    for (const fanout of [...this.#fanouts.values()]) fanout.failAll(reason)
    try {
      if (this.#started) await this.#engine.leave()
    } catch (error) {
      this.#host?.log?.(`cluster: leaving failed (other nodes will see this node's lease expire): ${describeError(error)}`)
    }
    await this.#engine.close()
  }

  #hostOrThrow(): ClusterHost {
    if (this.#host === undefined || this.#closed) throw new CioError(codes.CLOSED, 'The cluster link is closed.')
    return this.#host
  }

  /** Resolves at the first heartbeat, at `close()`, or after `limit` (at most one node timeout), whichever comes first. */
  #joinedOrTimeout(limit = this.#options.nodeTimeout): Promise<void> {
    if (this.#joined || this.#closed) return Promise.resolve()
    return new Promise<void>((resolve) => {
      const waiters = this.#joinWaiters
      const timer = setTimeout(done, Math.min(limit, this.#options.nodeTimeout))
      function done(): void {
        clearTimeout(timer)
        const index = waiters.indexOf(done)
        if (index >= 0) waiters.splice(index, 1)
        resolve()
      }
      waiters.push(done)
    })
  }

  /** Waits for the first heartbeat (bounded by one node timeout), then requires Redis to be up. */
  async #ready(): Promise<void> {
    await this.#joinedOrTimeout()
    if (this.#closed) throw new CioError(codes.CLOSED, 'The cluster link is closed.')
    if (!this.#joined || !this.#up) throw unavailable('Redis cannot be reached: new agents are refused until it can; the agent will retry.')
  }

  #settleJoin(): void {
    const waiters = this.#joinWaiters
    this.#joinWaiters = []
    for (const waiter of waiters) waiter()
  }

  #encode(message: ClusterMessage): string | undefined {
    const text = encodeMessage(this.#key, message)
    return Buffer.byteLength(text) > this.#options.maxMessageBytes ? undefined : text
  }

  // ---- remote calls made here ----

  /** Sends `call` to the node it was last reached on when that node is live, else looks its owner up in Redis (`useHint` false: always). */
  #route(call: PendingCall, useHint = true): void {
    const left = Math.floor(call.remaining())
    const host = this.#host as ClusterHost
    const outbox = this.#outbox as Outbox
    const json = JSON.stringify({ v: 1, t: 'call', id: call.id, from: this.#nodeId as string, name: call.name, action: call.action, body: call.message, ttl: Math.max(1, left) } satisfies CallMessage)
    if (!outbox.fits(json)) {
      call.reject(new CioError(codes.INVALID_ARGUMENT, `The message of ${JSON.stringify(call.action)} is over the cluster's maxMessageBytes (${this.#options.maxMessageBytes}).`, { details: { action: call.action, limit: this.#options.maxMessageBytes } }))
      return
    }
    const failed = (error: unknown): void => call.reject(unavailable(`Cannot call ${JSON.stringify(call.action)} on agent ${call.name}: Redis cannot be reached (${describeError(error)}).`, error, { name: call.name, action: call.action, delivered: false }))
    const hint = useHint ? this.#locations.get(call.name) : undefined
    if (hint !== undefined && this.#live.has(hint)) {
      call.node = hint
      outbox.push(hint, json, { sent: (receivers) => this.#sentOnHint(call, hint, receivers), failed })
      return
    }
    outbox.flush()
    this.#engine.route(call.name, parseName(host.nameFormat, call.name) ?? 0, signJson(this.#key, json)).then((result) => this.#routed(call, result), failed)
  }

  /** Nobody listened where the agent was last seen: it may be elsewhere by now, so Redis decides (and reports a dead node). */
  #sentOnHint(call: PendingCall, node: string, receivers: number): void {
    if (call.settled || receivers > 0) return
    this.#locations.forget(call.name, node)
    call.node = undefined
    this.#renumber(call)
    this.#route(call, false)
  }

  /** A new id for a call sent again: the receiving node refuses ids it has seen passed. */
  #renumber(call: PendingCall): void {
    this.#calls.delete(call.id)
    call.id = this.#nextId++
    this.#calls.set(call.id, call)
  }

  #routed(call: PendingCall, result: RouteResult): void {
    if (call.settled) return
    const { name } = call
    if (result.kind !== 'sent') this.#locations.forget(name, undefined)
    switch (result.kind) {
      case 'sent':
        call.node = result.node
        if (result.receivers > 0) this.#locations.set(name, result.node)
        if (result.receivers === 0) {
          this.#locations.forget(name, result.node)
          call.reject(lostError(codes.AGENT_NOT_CONNECTED, `The agent ${name} is not reachable: its node ${result.node} has no inbox subscriber.`, codes.NODE_LOST, { name, node: result.node, delivered: false }))
        } else if (!this.#live.has(result.node)) {
          // A node no heartbeat here has seen yet: track it, so that its loss fails this call too.
          this.#live.add(result.node)
          this.#host?.emit('nodeJoined', result.node)
        }
        return
      case 'unknown':
        return call.reject(new CioError(codes.UNKNOWN_AGENT, `There is no agent named ${JSON.stringify(name)} in the cluster.`, { details: { name, delivered: false } }))
      case 'notConnected':
      case 'self':
        return call.reject(new CioError(codes.AGENT_NOT_CONNECTED, `The agent ${name} is not connected to any node.`, { details: { name, delivered: false } }))
      case 'nodeDown':
        return call.reject(lostError(codes.AGENT_NOT_CONNECTED, `The agent ${name} is not reachable: its node ${result.node} stopped renewing its lease.`, codes.NODE_LOST, { name, node: result.node, delivered: false }))
    }
  }

  #onReply(reply: ReplyMessage): boolean {
    const call = this.#calls.get(reply.id)
    if (call === undefined || (call.node !== undefined && call.node !== reply.node)) return false
    const outcome = reply.outcome
    if (outcome.ok) {
      call.resolve(outcome.value)
      return true
    }
    if ('fault' in outcome && outcome.fault !== undefined) {
      // Not delivered: the agent left that node before the call arrived; it may be elsewhere now.
      const left = outcome.fault.code === codes.AGENT_NOT_CONNECTED && !reply.delivered
      if (left) this.#locations.forget(call.name, reply.node)
      if (left && !call.rerouted && call.remaining() >= 1) {
        call.rerouted = true
        call.node = undefined
        this.#renumber(call)
        this.#route(call, false)
        return true
      }
      call.reject(faultError(outcome.fault, reply.node))
      return true
    }
    call.reject((outcome as { thrown?: unknown }).thrown)
    return true
  }

  // ---- calls other nodes make here ----

  /** Ids from one node only grow (its publishes leave through one connection, in order): anything else is a replay. */
  #fresh(from: string, id: number): boolean {
    if (from === this.#nodeId) return false
    const last = this.#lastSeen.get(from) ?? 0
    if (id <= last) return false
    this.#lastSeen.set(from, id)
    return true
  }

  #serveCall(call: CallMessage): void {
    const host = this.#host as ClusterHost
    const timeout = Math.floor(call.ttl - graceOf(call.ttl))
    this.#counts.serving++
    const answer = (outcome: WireOutcome, delivered: boolean): void => {
      this.#counts.serving--
      this.#reply(call.from, { v: 1, t: 'reply', id: call.id, node: this.#nodeId as string, outcome, delivered })
    }
    host.callLocal(call.name, call.action, call.body, Math.max(1, timeout)).then(
      (value) => answer({ ok: true, value }, true),
      (error: unknown) => answer(failureToWire(error), !(error instanceof CioError && error.details.delivered === false)),
    )
  }

  #serveAll(all: AllMessage): void {
    const host = this.#host as ClusterHost
    const timeout = Math.floor(all.ttl - graceOf(all.ttl))
    this.#counts.serving++
    host.callAllLocal(all.action, all.body, Math.max(1, timeout)).then((results) => {
      this.#counts.serving--
      for (const part of this.#split(all.id, results)) this.#reply(all.from, part)
    })
  }

  /** Cuts a node's outcomes into answers under `maxMessageBytes`; an outcome too large alone is replaced by a fault. */
  #split(id: number, results: ByAgent<SendOutcome>): AllReplyMessage[] {
    const room = this.#options.maxMessageBytes - 1024
    const chunks: Array<ByAgent<WireOutcome>> = []
    let chunk: ByAgent<WireOutcome> = Object.create(null)
    let size = 0
    let count = 0
    for (const name of Object.keys(results)) {
      let outcome = outcomeToWire(results[name] as SendOutcome)
      let bytes = Buffer.byteLength(JSON.stringify(outcome) ?? '') + name.length + 8
      if (bytes > room) {
        outcome = { ok: false, fault: { code: codes.INVALID_MESSAGE, message: `The agent's answer is over the cluster's maxMessageBytes (${this.#options.maxMessageBytes}).` } }
        bytes = 200
      }
      if (size + bytes > room && count > 0) {
        chunks.push(chunk)
        chunk = Object.create(null)
        size = 0
        count = 0
      }
      chunk[name] = outcome
      size += bytes
      count++
    }
    chunks.push(chunk)
    return chunks.map((part, index) => ({ v: 1, t: 'allReply', id, node: this.#nodeId as string, part: index, parts: chunks.length, results: part }))
  }

  #reply(to: string, message: ReplyMessage | AllReplyMessage): void {
    if (this.#closed) return
    const outbox = this.#outbox as Outbox
    const lost = (error: unknown): void => this.#host?.log?.(`cluster: an answer to node ${to} was lost (${describeError(error)}); the caller's deadline settles it`)
    if (message.t === 'allReply') {
      const payload = this.#encode(message)
      if (payload === undefined) return
      outbox.flush()
      this.#engine.publish(to, payload).catch(lost)
      return
    }
    let json = JSON.stringify(message)
    if (!outbox.fits(json)) {
      json = JSON.stringify({ ...message, outcome: { ok: false, fault: { code: codes.INVALID_MESSAGE, message: `The agent's answer is over the cluster's maxMessageBytes (${this.#options.maxMessageBytes}).` } } } satisfies ReplyMessage)
      if (!outbox.fits(json)) return
    }
    outbox.push(to, json, { sent: ignore, failed: lost }, true)
  }

  #onMessage(text: string): void {
    if (this.#host === undefined || this.#closed) return
    const message = decodeMessage(this.#key, text, this.#options.maxMessageBytes)
    if (typeof message !== 'string' && message.t === 'batch') {
      for (const item of message.items) this.#onOne(batchItem(item))
      return
    }
    this.#onOne(message)
  }

  #onOne(message: Exclude<ClusterMessage, BatchMessage> | string): void {
    const host = this.#host as ClusterHost
    let accepted: boolean
    if (typeof message === 'string') accepted = false
    else if (message.t === 'reply') accepted = this.#onReply(message)
    else if (message.t === 'allReply') accepted = this.#fanouts.get(message.id)?.onReply(message) ?? false
    else if (!this.#fresh(message.from, message.id)) accepted = false
    else if (message.t === 'call') {
      this.#serveCall(message)
      accepted = true
    } else {
      this.#serveAll(message)
      accepted = true
    }
    if (accepted) this.#counts.accepted++
    else {
      this.#counts.dropped++
      host.log?.(`cluster: dropped a message (${typeof message === 'string' ? message : `${message.t} ${message.id} answering nothing pending, or replayed`})`)
    }
  }

  // ---- membership ----

  #onUp(): void {
    if (this.#closed) return
    this.#up = true
    if (this.#wasDown) {
      this.#wasDown = false
      this.#host?.emit('clusterUp')
    }
    void this.#beat(true)
  }

  #onDown(error: Error | undefined): void {
    if (this.#closed || !this.#up) return
    this.#up = false
    this.#wasDown = true
    this.#locations.clear()
    // Their callers are told below that the calls ended: none may still leave at the end of this turn.
    this.#outbox?.dropCalls()
    const failure: AgentFailure = (name, node) => lostError(codes.DISCONNECTED, `The call to agent ${name} on node ${node} ended: this node lost its Redis inbox, so the answer could not arrive.`, codes.CLUSTER_UNAVAILABLE, { name, node })
    for (const call of [...this.#calls.values()]) call.reject(failure(call.name, call.node ?? '?'))
    for (const fanout of [...this.#fanouts.values()]) fanout.failAll(failure)
    this.#host?.log?.(`cluster: Redis inbox lost${error === undefined ? '' : ` (${error.message})`}`)
    this.#host?.emit('clusterDown', error)
  }

  async #beat(reconcile = false): Promise<void> {
    const host = this.#host
    if (this.#beating || this.#closed || host === undefined) return
    this.#beating = true
    try {
      const beat = await this.#engine.heartbeat(host.highWater(), this.#epoch ?? '')
      if (this.#closed) return
      const lost = this.#epoch !== undefined && beat.epoch !== this.#epoch
      const rejoined = this.#joined && !beat.member
      this.#epoch = beat.epoch
      if (lost) {
        this.#grace = GRACE_BEATS
        host.log?.('cluster: Redis lost its data; re-seeding the counter and re-claiming names')
        this.#locations.clear()
        host.emit('clusterDataLost')
      } else if (this.#grace > 0) this.#grace--
      this.#track(beat.live)
      const due = ++this.#beats % RECONCILE_BEATS === 0
      if (lost || rejoined || reconcile || due || this.#stale) {
        this.#stale = false
        await this.#reconcile()
      }
      if (!this.#joined) {
        this.#joined = true
        this.#settleJoin()
      }
    } catch (error) {
      this.#stale = true
      host.log?.(`cluster: heartbeat failed: ${describeError(error)}`)
    } finally {
      this.#beating = false
    }
  }

  #track(live: string[]): void {
    const now = new Set(live)
    now.delete(this.#nodeId as string)
    for (const node of now) if (!this.#live.has(node)) this.#host?.emit('nodeJoined', node)
    if (this.#grace === 0) {
      for (const node of this.#live) if (!now.has(node)) this.#nodeLost(node)
      this.#live = now
    } else {
      for (const node of now) this.#live.add(node)
    }
  }

  #nodeLost(node: string): void {
    this.#lastSeen.delete(node)
    this.#locations.forgetNode(node)
    const failure: AgentFailure = (name) => lostError(codes.DISCONNECTED, `The call to agent ${name} ended: its node ${node} stopped renewing its lease.`, codes.NODE_LOST, { name, node })
    for (const call of [...this.#calls.values()]) if (call.node === node) call.reject(failure(call.name, node))
    for (const fanout of [...this.#fanouts.values()]) fanout.failNode(node, failure)
    this.#host?.emit('nodeLost', node)
  }

  /** Redis is the referee: this node's set of names becomes its local connections; a name another live node holds is dropped here. */
  async #reconcile(): Promise<void> {
    const host = this.#host as ClusterHost
    const conflicts = await this.#engine.reconcile(host.localNames().map((name) => ({ name, n: parseName(host.nameFormat, name) ?? 0 })))
    for (const { name, heldBy } of conflicts) {
      host.evict(name, new CioError(codes.DUPLICATE_ID, `The name ${name} is held by node ${heldBy} (Redis decided after a partition or data loss); this connection ends.`, { details: { name, node: heldBy } }))
    }
  }
}

