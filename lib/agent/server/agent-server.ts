/**
 * `AgentServer`: accepts agents over TCP or TLS, checks that they know the
 * shared secret (without it ever travelling), names them, and lets each side
 * call the other with promises. The protocol runs in the `cio/agent-server`
 * listener; this class assembles the chains and keeps the state: agents by
 * name, the name counter and its store, the heartbeat timer.
 */
import type { AddressInfo, Socket } from 'node:net'
import type { KeyObject } from 'node:crypto'
import { buildCio } from '../../core/builder.js'
import type { Cio } from '../../core/types.js'
import { CioError, codes, describeError } from '../../errors.js'
import { allOrFailure, callAll, checkCall, clusterTimeout, toCallOptions, type ByAgent, type SendOptions, type SendOutcome } from '../calls.js'
import { drainPeers, type DrainResult } from '../../rpc/peer.js'
import { InterceptorSet, type Interceptors } from '../../rpc/interceptors.js'
import type { CallOptions } from '../../rpc/types.js'
import { checkTimeout } from '../../rpc/validate.js'
import { DRAIN_FRAME } from '../protocol.js'
import { DEFAULT_DRAIN_TIMEOUT } from '../options.js'
import { Claim, NameCounter } from './name-counter.js'
import { CodedEmitter } from '../errors.js'
import { emitError, emitSafely, type AgentLogger } from '../events.js'
import { ensureServerListeners } from '../chains.js'
import { sweep } from '../heartbeat.js'
import { addHooks, serverHookAdapter, type HookMap, type ServerCatchAll, type ServerHook } from '../hooks.js'
import type { Welcome } from '../protocol.js'
import { AgentServerOwner, Phase, type AgentRecord, type ServerConnection } from './connection.js'
import { Gate } from './admission.js'
import { resolveServerOptions, type AgentServerOptions, type ResolvedServerOptions } from './options.js'
import { deriveHandshakeKey } from '../handshake.js'
import { RpcHandlers } from '../../rpc/handlers.js'
import type { CioServer } from '../../core/server-events.js'
import type { ClusterAgent, ClusterHost, ClusterLink } from '../../cluster/types.js'

/** Events of an {@link AgentServer}. */
export interface AgentServerEvents {
  /** An agent completed the handshake; the record is new for this connection. */
  agentConnected: [agent: AgentRecord]
  /** A connected agent's connection ended; `reason` is the error that ended it, if any. */
  agentDisconnected: [agent: AgentRecord, reason: Error | undefined]
  /** The server is listening. */
  listening: [address: AddressInfo]
  /**
   * `LISTEN_FAILED`, `STORE_FAILED`, agents turned away (`WRONG_SECRET`,
   * `DUPLICATE_ID`), connections closed at accept (`TOO_MANY_CONNECTIONS`,
   * at most one a second with the count) and plain TCP reachable from other
   * machines (`INSECURE_TRANSPORT`, once, when listening). Never thrown:
   * emitted only if listened to.
   */
  error: [error: CioError]
  /** With `cluster`: another node renewed its lease for the first time (its id). */
  nodeJoined: [node: string]
  /** With `cluster`: another node's lease expired; calls waiting for it failed with cause `NODE_LOST`. */
  nodeLost: [node: string]
  /** With `cluster`: this node lost its Redis inbox; calls waiting for other nodes failed with cause `CLUSTER_UNAVAILABLE`. */
  clusterDown: [error: Error | undefined]
  /** With `cluster`: Redis is reachable again after `clusterDown`. */
  clusterUp: []
  /** With `cluster`: Redis came back without its data; the counter was re-seeded and names re-claimed. */
  clusterDataLost: []
}


function noop(): void {}

/**
 * Accepts agents, listening once the handshake key is derived (see the
 * constructor). The README's Agents section has the options, the protocol
 * and examples.
 */
export class AgentServer extends CodedEmitter<AgentServerEvents> {
  /** Plain TCP. */
  static readonly TCP = 'tcp'
  /** TLS. */
  static readonly TLS = 'tls'
  /** websocket-agent's name for TCP. */
  static readonly WS = 'ws'
  /** websocket-agent's name for TLS. */
  static readonly WSS = 'wss'

  /** The cio instance whose chains this server's connections run through. */
  readonly cio: Cio
  /** The `net.Server` or `tls.Server` underneath. */
  readonly netServer: CioServer
  readonly #options: ResolvedServerOptions
  readonly #hooks = new RpcHandlers()
  readonly #interceptors = new InterceptorSet()
  #draining = false
  /** Agents by name: those being named (store save in flight) and those connected. */
  readonly #agents = new Map<string, ServerConnection>()
  /** Connections not admitted yet (admitted ones are in #agents). */
  readonly #connections = new Set<ServerConnection>()
  /** Accepted sockets not admitted yet (TLS handshakes in progress included), with their deadlines. */
  readonly #gate: Gate
  readonly #names: NameCounter
  readonly #ready: Promise<AddressInfo>
  #settleReady: { resolve(address: AddressInfo): void; reject(error: CioError): void; done: boolean }
  readonly #heartbeat: NodeJS.Timeout | undefined
  #closing: Promise<void> | undefined
  /** Resolves when the net server has closed (after its last connection); made by the first close. */
  #unlistened: Promise<void> | undefined
  /** Set by the `cluster` option; undefined means today's single-server code paths. */
  readonly #cluster: ClusterLink | undefined
  /** Called when the last connection is released during `close()`. */
  #drained: (() => void) | undefined
  /** The handshake key (scrypt of the secret), being derived off the event loop. */
  readonly #derivation: Promise<KeyObject>
  /** The handshake key once derived; the server listens only then, so every connection finds it set. */
  #key: KeyObject | undefined
  /** Settles once the key is derived (and listening started) or failed; never rejects. */
  readonly #keyed: Promise<void>

  /**
   * Checks the options (throws `INVALID_OPTION`, `CERT_READ`), then starts
   * deriving the handshake key from the secret (scrypt, on libuv's
   * threadpool: the constructor does not block) and listens once it is
   * derived. `ready()` resolves when the server listens and can admit agents.
   */
  constructor(options: AgentServerOptions) {
    super()
    const o = (this.#options = resolveServerOptions(options))
    this.#derivation = deriveHandshakeKey(o.secret)
    // Its failure is reported through ready() and `error` (below); a constructor that throws first must not leave it unhandled.
    this.#derivation.catch(noop)
    this.#names = new NameCounter(o.nameFormat, o.store, (error) => emitError(this, error, o.log), o.storeTimeout)
    // First: a link already serving another server throws before anything is opened.
    this.#cluster = o.cluster
    this.#cluster?.attach(this.#makeClusterHost())
    this.cio = o.cio ?? buildCio()
    ensureServerListeners(this.cio)
    this.netServer = this.cio.server(o.serverOptions, new AgentServer.#Owner(this))
    const settle = { resolve: noop as (address: AddressInfo) => void, reject: noop as (error: CioError) => void, done: false }
    this.#ready = new Promise<AddressInfo>((resolve, reject) => Object.assign(settle, { resolve, reject }))
    // Nobody may be awaiting ready(): its rejection must not count as unhandled.
    this.#ready.catch(noop)
    this.#settleReady = settle
    const self = this
    this.#gate = new Gate(this.netServer, {
      handshakeTimeout: o.handshakeTimeout,
      maxPendingHandshakes: o.maxPendingHandshakes,
      get closing() {
        return self.#closing !== undefined || self.#draining
      },
      dropped: (error) => emitError(this, error, o.log),
    })
    this.netServer.on('listening', () => this.#onListening())
    this.netServer.on('error', (error: Error) => this.#onServerError(error))
    const log = o.log
    if (log !== undefined) {
      this.netServer.on('serverClientError', (error: Error, socket: Socket) => log(`connection from ${socket.remoteAddress ?? '?'} ended: ${describeError(error)}`))
      this.netServer.on('protocolError', (error: CioError, socket: Socket) => log(`connection from ${socket.remoteAddress ?? '?'} broke the protocol: ${error.code} ${error.message}`))
      this.netServer.on('relisten', (attempt: number) => log(`port ${o.port} in use; listen retry ${attempt}`))
    }
    this.#heartbeat = o.heartbeatInterval > 0 ? setInterval(sweep, o.heartbeatInterval, this.#agents, o.heartbeatInterval).unref() : undefined
    // Listening waits for the key rather than holding handshakes until it exists: no agent
    // reaches a server that cannot answer, and no handshake deadline runs during the derivation.
    this.#keyed = this.#derivation.then(
      (key) => this.#onKey(key),
      (error: unknown) => this.#onKeyFailed(error),
    )
  }

  /** Resolves with the bound address once listening; rejects with `LISTEN_FAILED` (or `CLOSED`). */
  ready(): Promise<AddressInfo> {
    return this.#ready
  }

  /** The bound address, or null when not listening. */
  address(): AddressInfo | null {
    return this.netServer.address() as AddressInfo | null
  }

  /** The connected agents' records, in connection order. */
  getAgents(): AgentRecord[] {
    const records: AgentRecord[] = []
    for (const connection of this.#agents.values()) if (connection.record !== undefined && connection.phase === Phase.READY) records.push(connection.record)
    return records
  }

  /** Answers an agent's action: `(action, handler(message, socket, agent))`, `({ action: handler })` or `(catchAll(action, message, socket, agent))`. */
  onHook(action: string, handler: ServerHook): this
  onHook(handlers: HookMap<ServerHook>): this
  onHook(catchAll: ServerCatchAll): this
  onHook(first: string | HookMap<ServerHook> | ServerCatchAll, handler?: ServerHook): this {
    addHooks(this.#hooks, serverHookAdapter, 'onHook', first, handler)
    return this
  }

  /** websocket-agent's other name for {@link onHook}. */
  onTunnel(action: string, handler: ServerHook): this
  onTunnel(handlers: HookMap<ServerHook>): this
  onTunnel(catchAll: ServerCatchAll): this
  onTunnel(first: string | HookMap<ServerHook> | ServerCatchAll, handler?: ServerHook): this {
    addHooks(this.#hooks, serverHookAdapter, 'onTunnel', first, handler)
    return this
  }

  /**
   * Adds interceptors for every agent connection: `{ call }` around
   * `sendTo`/`sendAll`, `{ handle }` around the hooks. Reserved `cio.`
   * actions (handshake, heartbeat) never pass through them.
   * @throws CioError `INVALID_ARGUMENT` for something that is not a function.
   */
  use(interceptors: Interceptors): this {
    this.#interceptors.add(interceptors, 'use()')
    return this
  }

  /**
   * Calls `action` on one agent (a record or a name). The last argument is
   * a timeout in ms or call options (`{ timeout, signal, meta, onMeta }`).
   * Rejects with the value the agent's hook threw, or a CioError:
   * `UNKNOWN_AGENT`, `AGENT_NOT_CONNECTED`, `TIMEOUT`, `UNKNOWN_ACTION`,
   * `DISCONNECTED`, `CLOSED`, `DRAINING`, `INVALID_ARGUMENT`...
   */
  sendTo<T = unknown>(agent: AgentRecord | string, action: string, message?: unknown, options?: SendOptions): Promise<T> {
    let connection: ServerConnection
    let callOptions: CallOptions | undefined
    try {
      callOptions = toCallOptions(options, action)
      checkCall(action, callOptions?.timeout, this.#closing !== undefined, 'agent server', this.#draining)
      const cluster = this.#cluster
      if (cluster !== undefined && typeof agent === 'string' && this.#agents.get(agent)?.phase !== Phase.READY) {
        // Through another node: the timeout travels (cut to what a served call has left), the rest of the call options stay here.
        return cluster.sendTo(agent, action, message, clusterTimeout(callOptions, this.#options.timeout, action)) as Promise<T>
      }
      connection = this.#target(agent)
    } catch (error) {
      return Promise.reject(error)
    }
    return connection.peer.call<T>(action, message, callOptions)
  }

  /**
   * Calls `action` on every connected agent. Resolves with `{ [name]: answer }`;
   * rejects with `NO_CONNECTED_AGENTS` when there is none and with
   * `SEND_ALL_FAILED` when any fails (`details.results` has every outcome).
   */
  async sendAll(action: string, message?: unknown, options?: SendOptions): Promise<ByAgent<unknown>> {
    const callOptions = toCallOptions(options, action)
    checkCall(action, callOptions?.timeout, this.#closing !== undefined, 'agent server', this.#draining)
    if (this.#cluster !== undefined) {
      const results = await this.#clusterSendAll(this.#cluster, action, message, callOptions)
      if (Object.keys(results).length === 0) throw new CioError(codes.NO_CONNECTED_AGENTS, `Cannot send ${JSON.stringify(action)} to all agents: none is connected to any node.`, { details: { action } })
      return allOrFailure(results, action)
    }
    const targets = this.#readyConnections()
    if (targets.length === 0) throw new CioError(codes.NO_CONNECTED_AGENTS, `Cannot send ${JSON.stringify(action)} to all agents: none is connected.`, { details: { action } })
    return allOrFailure(await callAll(targets, action, message, callOptions), action)
  }

  /** Calls `action` on every connected agent; always resolves with each one's outcome (`{}` when none is connected). */
  async sendAllSettled(action: string, message?: unknown, options?: SendOptions): Promise<ByAgent<SendOutcome>> {
    const callOptions = toCallOptions(options, action)
    checkCall(action, callOptions?.timeout, this.#closing !== undefined, 'agent server', this.#draining)
    if (this.#cluster !== undefined) return this.#clusterSendAll(this.#cluster, action, message, callOptions)
    return callAll(this.#readyConnections(), action, message, callOptions)
  }

  /**
   * Stops gracefully: stops listening, turns away connections not yet
   * admitted, tells every agent it is draining (a reserved `cio.drain`
   * notice: agents send nothing new here and reconnect once the connection
   * closes), refuses new calls in either direction with `DRAINING`, lets
   * the calls in flight both ways finish for up to `timeout` ms, aborts what
   * is left (handlers' `call.signal` aborts with `DRAINING`, callers get a
   * `DRAINING` fault), then closes. Always resolves, with what became of
   * the calls in flight. `close()` is the immediate stop.
   * @throws CioError `INVALID_ARGUMENT` for a bad timeout.
   */
  async drain(options: { timeout?: number } = {}): Promise<DrainResult> {
    const timeout = options.timeout ?? DEFAULT_DRAIN_TIMEOUT
    checkTimeout(timeout, 'drain')
    if (this.#closing !== undefined || this.#draining) {
      await this.close()
      return { completed: 0, aborted: 0 }
    }
    this.#draining = true
    void this.#stopListening()
    const refusal = new CioError(codes.DRAINING, 'The agent server is draining: connect to another.')
    for (const connection of this.#connections) connection.socket.destroy(refusal)
    // Accepted but not admitted (TLS handshakes included): they will find another server.
    for (const socket of [...this.#gate.sockets]) socket.destroy(refusal)
    const peers = this.#readyConnections().map((target) => target.peer)
    for (const peer of peers) if (!peer.closed && peer.socket.writable) peer.framed.sendFrame(DRAIN_FRAME)
    this.#options.log?.(`draining ${peers.length} agents for up to ${timeout} ms`)
    const result = await drainPeers(peers, timeout)
    await this.close()
    return result
  }

  /**
   * Every agent by name and the node holding it: the whole cluster's with
   * `cluster` (rejects `CLUSTER_UNAVAILABLE` when Redis cannot be reached),
   * else this server's with `node: 'local'`. `getAgents()` stays local.
   */
  async listAgents(): Promise<ClusterAgent[]> {
    if (this.#cluster !== undefined) return this.#cluster.listAgents()
    return this.getAgents().map((record) => ({ name: record.name, node: 'local' }))
  }

  /** This server's id in its cluster (undefined without `cluster`). */
  get nodeId(): string | undefined {
    return this.#cluster?.nodeId
  }

  #clusterSendAll(cluster: ClusterLink, action: string, message: unknown, options: CallOptions | undefined): Promise<ByAgent<SendOutcome>> {
    // Agents on other nodes: the timeout travels (cut to what a served call has left), the rest of the call options stay here.
    let timeout: number
    try {
      timeout = clusterTimeout(options, this.#options.timeout, action)
    } catch {
      // The served call has no time left: every local call says so (DEADLINE_EXCEEDED), and no other node is asked.
      return callAll(this.#readyConnections(), action, message, options)
    }
    return cluster.sendAll(action, message, timeout, callAll(this.#readyConnections(), action, message, options))
  }

  /**
   * Stops accepting, closes every connection (pending calls fail with
   * `DISCONNECTED`, whose cause is `CLOSED`), waits for the store, and
   * resolves when everything is closed. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    return (this.#closing ??= this.#shutdown())
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#heartbeat)
    const closed = this.#stopListening()
    if (!this.#settleReady.done) this.#rejectReady(new CioError(codes.CLOSED, 'The agent server was closed before it was listening.'))
    const reason = new CioError(codes.CLOSED, 'The agent server was closed.')
    // Agent sockets first, with the reason; then the rest (TLS handshakes in progress).
    for (const connection of this.#connections) connection.socket.destroy(reason)
    for (const connection of this.#agents.values()) connection.socket.destroy(reason)
    for (const socket of this.#gate.sockets) socket.destroy()
    this.#gate.stop()
    if (this.#connections.size + this.#agents.size > 0) await new Promise<void>((resolve) => (this.#drained = resolve))
    await closed
    await this.#cluster?.close()
    await this.#names.idle()
    // A derivation still running (close() right after new) ends before close() resolves: nothing is left behind.
    await this.#keyed
  }

  /** Stops listening (once); resolves when the net server has closed. */
  #stopListening(): Promise<void> {
    const server = this.netServer
    return (this.#unlistened ??= new Promise<void>((resolve) => server.close(() => resolve())))
  }

  /**
   * How this server's connections report to it, given to cio as the owner
   * of its server. A class inside AgentServer's body (so it reaches the
   * private state), the same pattern as Agent's.
   */
  static readonly #Owner = class ServerOwner extends AgentServerOwner {
    constructor(readonly server: AgentServer) {
      super()
    }
    get hooks(): RpcHandlers {
      return this.server.#hooks
    }
    get secret(): KeyObject {
      // Set before listen(): no connection exists without it.
      return this.server.#key as KeyObject
    }
    get handshakeTimeout(): number {
      return this.server.#options.handshakeTimeout
    }
    get maxHandshakeFrameBytes(): number {
      return this.server.#options.maxHandshakeFrameBytes
    }
    get log(): AgentLogger | undefined {
      return this.server.#options.log
    }
    get closing(): boolean {
      return this.server.#closing !== undefined || this.server.#draining
    }
    opened(connection: ServerConnection): void {
      this.server.#connections.add(connection)
    }
    name(connection: ServerConnection, claimed: string | undefined): Promise<Welcome> {
      return this.server.#name(connection, claimed)
    }
    admitted(connection: ServerConnection, welcome: Welcome): void {
      this.server.#admit(connection, welcome)
    }
    refused(_connection: ServerConnection, error: CioError): void {
      emitError(this.server, error, this.server.#options.log)
    }
    closed(connection: ServerConnection, error: Error | undefined): void {
      this.server.#release(connection, error)
    }
  }

  async #name(connection: ServerConnection, claimed: string | undefined): Promise<Welcome> {
    await this.#names.ready()
    if (this.#closing !== undefined) throw new CioError(codes.CLOSED, 'The agent server is closing.')
    // Closed or turned away while the store loaded: it must not take a name it would never give back.
    if (connection.phase !== Phase.NAMING) throw new CioError(codes.DISCONNECTED, 'The connection ended before its name was settled.')
    if (this.#cluster !== undefined) return this.#clusterName(this.#cluster, connection, claimed)
    let name: string
    let firstTime = false
    let changed = false
    if (claimed !== undefined && this.#agents.has(claimed)) {
      throw new CioError(codes.DUPLICATE_ID, `The name ${claimed} belongs to an agent that is connected; the first connection keeps it.`, { details: { name: claimed } })
    }
    const claim = claimed === undefined ? Claim.RENAME : this.#names.claim(claimed)
    if (claim === Claim.RENAME) {
      // Throws STORE_FAILED while the counter is not the store's; a name
      // still held by a connection (claimed while the store failed) is skipped.
      do name = this.#names.next()
      while (this.#agents.has(name))
      firstTime = changed = true
    } else {
      name = claimed as string
      changed = claim === Claim.MOVED
    }
    connection.name = name
    this.#connections.delete(connection)
    this.#agents.set(name, connection)
    // A name is given out only once the counter that covers it is saved; a failed save refuses it.
    if (changed) {
      try {
        await this.#names.persist()
      } catch (error) {
        if (this.#agents.get(name) === connection) this.#agents.delete(name)
        connection.name = undefined
        throw error
      }
    }
    return { name, firstTime }
  }

  /** Names an agent through the cluster: Redis decides, across every node, whether a claimed name is free. */
  async #clusterName(cluster: ClusterLink, connection: ServerConnection, claimed: string | undefined): Promise<Welcome> {
    const ended = (name: string): CioError => {
      // Ended while Redis answered: give the name back (sent after the claim on the same connection, so it runs after it).
      cluster.release(name)
      return new CioError(codes.DISCONNECTED, 'The connection ended before its name was settled.')
    }
    if (claimed !== undefined) {
      if (this.#agents.has(claimed)) {
        throw new CioError(codes.DUPLICATE_ID, `The name ${claimed} belongs to an agent that is connected; the first connection keeps it.`, { details: { name: claimed, node: cluster.nodeId } })
      }
      // Held here while Redis decides, so a second local claim is refused at once.
      this.#connections.delete(connection)
      this.#agents.set(claimed, connection)
      connection.name = claimed
      try {
        await cluster.claim(claimed)
      } catch (error) {
        if (this.#agents.get(claimed) === connection) this.#agents.delete(claimed)
        connection.name = undefined
        if (connection.phase === Phase.NAMING) this.#connections.add(connection)
        throw error
      }
      if (connection.phase !== Phase.NAMING) throw ended(claimed)
      if (this.#names.observe(claimed)) await this.#names.persist()
      return { name: claimed, firstTime: false }
    }
    let name = await cluster.allocate()
    // A local agent claimed this number while it was allocated (it came back with a name past the counter): take another.
    for (let tries = 0; this.#agents.has(name) && tries < 3; tries++) name = await cluster.allocate()
    if (this.#agents.has(name)) throw new CioError(codes.CLUSTER_UNAVAILABLE, 'No free name could be allocated; the agent will retry.')
    if (connection.phase !== Phase.NAMING) throw ended(name)
    connection.name = name
    this.#connections.delete(connection)
    this.#agents.set(name, connection)
    await this.#names.persist()
    return { name, firstTime: true }
  }

  /** What the cluster link reaches of this server. */
  #makeClusterHost(): ClusterHost {
    const o = this.#options
    return {
      key: this.#derivation,
      nameFormat: o.nameFormat,
      log: o.log,
      highWater: () => this.#names.highWater(),
      observe: (name) => void this.#names.observe(name),
      localNames: () => [...this.#agents.keys()],
      callLocal: (name, action, message, timeout) => {
        const connection = this.#agents.get(name)
        if (connection === undefined || connection.phase !== Phase.READY) {
          return Promise.reject(new CioError(codes.AGENT_NOT_CONNECTED, `The agent ${name} is not connected to node ${this.nodeId ?? '?'}.`, { details: { name, delivered: false } }))
        }
        return connection.peer.call(action, message, { timeout })
      },
      callAllLocal: (action, message, timeout) => callAll(this.#readyConnections(), action, message, timeout === undefined ? undefined : { timeout }),
      evict: (name, error) => this.#agents.get(name)?.socket.destroy(error),
      emit: (event, ...args) => emitSafely(this, event, args, o.log),
    }
  }

  #admit(connection: ServerConnection, welcome: Welcome): void {
    // From here on the connection's calls are the user's: intercepted and traced with the agent's name.
    connection.peer.interceptWith(this.#interceptors)
    connection.peer.agentName = welcome.name
    const record: AgentRecord = { name: welcome.name, socket: connection.socket, firstTime: welcome.firstTime, data: undefined }
    connection.record = record
    this.#options.log?.(`agent ${record.name} connected${record.firstTime ? ' (new)' : ''} from ${connection.socket.remoteAddress ?? '?'}`)
    emitSafely(this, 'agentConnected', [record], this.#options.log)
  }

  #release(connection: ServerConnection, error: Error | undefined): void {
    this.#connections.delete(connection)
    const name = connection.name
    if (name !== undefined && this.#agents.get(name) === connection) {
      this.#agents.delete(name)
      this.#cluster?.release(name)
    }
    if (this.#connections.size + this.#agents.size === 0) this.#drained?.()
    if (connection.record === undefined) return
    this.#options.log?.(`agent ${connection.record.name} disconnected${error === undefined ? '' : `: ${error.message}`}`)
    emitSafely(this, 'agentDisconnected', [connection.record, error], this.#options.log)
  }

  #onKey(key: KeyObject): void {
    if (this.#closing !== undefined || this.#draining) return
    this.#key = key
    // In a promise reaction now, not the constructor: a synchronous throw (a netServer already listening) must reach ready() and 'error', not the process.
    try {
      this.netServer.listen(this.#options.port, this.#options.host)
    } catch (error) {
      this.#onServerError(error instanceof Error ? error : new Error(String(error)))
    }
  }

  #onKeyFailed(cause: unknown): void {
    if (this.#closing !== undefined || this.#draining) return
    const { host, port } = this.#options
    const error = new CioError(codes.LISTEN_FAILED, `The agent server cannot listen on ${host ?? '*'}:${port}: the handshake key could not be derived from the secret (${describeError(cause)}).`, {
      cause,
      details: { host, port },
    })
    this.#rejectReady(error)
    emitError(this, error, this.#options.log)
  }

  #onListening(): void {
    if (this.#closing !== undefined) {
      // listen() finished (a name lookup) after close(): undo it.
      this.netServer.close()
      return
    }
    const address = this.netServer.address() as AddressInfo
    this.#settleReady.done = true
    this.#settleReady.resolve(address)
    this.#options.log?.(`listening on ${address.address}:${address.port} (${this.#options.secure ? 'TLS' : 'TCP'})`)
    emitSafely(this, 'listening', [address], this.#options.log)
    if (this.#options.insecure) {
      emitError(this, new CioError(codes.INSECURE_TRANSPORT, `The agent server listens on ${address.address}:${address.port} over plain TCP: anyone on the path reads every message and can test guesses of the secret offline. Use TLS, or say protocol: 'tcp' to accept this.`, {
        details: { address: address.address, port: address.port },
      }), this.#options.log)
    }
  }

  #onServerError(cause: Error): void {
    const { host, port } = this.#options
    const error = new CioError(codes.LISTEN_FAILED, `The agent server cannot listen on ${host ?? '*'}:${port}: ${describeError(cause)}`, { cause, details: { host, port } })
    if (!this.#settleReady.done) this.#rejectReady(error)
    emitError(this, error, this.#options.log)
  }

  #rejectReady(error: CioError): void {
    this.#settleReady.done = true
    this.#settleReady.reject(error)
  }

  #target(agent: AgentRecord | string): ServerConnection {
    const name = typeof agent === 'string' ? agent : typeof agent === 'object' && agent !== null ? (agent as { name?: unknown }).name : undefined
    if (typeof name !== 'string') throw new CioError(codes.INVALID_ARGUMENT, 'sendTo needs an agent record or an agent name.')
    const connection = this.#agents.get(name)
    if (connection !== undefined && connection.phase === Phase.READY && (typeof agent === 'string' || connection.record === agent)) return connection
    const known = connection !== undefined || typeof agent !== 'string' || this.#names.known(name)
    if (known) throw new CioError(codes.AGENT_NOT_CONNECTED, `The agent ${name} is not connected${typeof agent === 'string' ? '' : ' (this record is from an ended connection)'}.`, { details: { name } })
    throw new CioError(codes.UNKNOWN_AGENT, `There is no agent named ${JSON.stringify(name)}.`, { details: { name } })
  }

  #readyConnections(): Array<{ name: string; peer: ServerConnection['peer'] }> {
    const list: Array<{ name: string; peer: ServerConnection['peer'] }> = []
    for (const [name, connection] of this.#agents) if (connection.phase === Phase.READY) list.push({ name, peer: connection.peer })
    return list
  }
}

export type { AgentRecord } from './connection.js'
export type { ServerHook, ServerCatchAll, HookMap } from '../hooks.js'
export type { SendOutcome, ByAgent, SendOptions } from '../calls.js'
export type { DrainResult } from '../../rpc/peer.js'
export type { AgentServerOptions, AgentProtocol } from './options.js'
