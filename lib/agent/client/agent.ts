/**
 * `Agent`: connects to an `AgentServer`, proves the shared secret (which
 * never travels) after the server has proved it, keeps the name the server
 * gives it, and reconnects by itself. The handshake runs in the
 * `cio/agent-client` listener; this class assembles the client chain and
 * keeps the state: the connection, the name and its store, the reconnect
 * loop, the sends waiting for a handshake.
 */
import { once } from 'node:events'
import type { KeyObject } from 'node:crypto'
import { buildCio } from '../../core/builder.js'
import type { Cio } from '../../core/types.js'
import { CioError, codes, describeError } from '../../errors.js'
import { checkCall, toCallOptions, Waiters, type SendOptions } from '../calls.js'
import { AgentClientOwner, ClientConnection } from './connection.js'
import { CodedEmitter } from '../errors.js'
import { isPromiseLike } from '../../rpc/validate.js'
import { emitError, emitSafely, type AgentLogger } from '../events.js'
import { beat } from '../heartbeat.js'
import { ensureClientListeners } from '../chains.js'
import { addHooks, agentHookAdapter, type AgentCatchAll, type AgentHook, type HookMap } from '../hooks.js'
import { resolveAgentOptions, type AgentOptions, type ResolvedAgentOptions } from './options.js'
import { deriveHandshakeKey } from '../handshake.js'
import { AgentNameStore } from './name-store.js'
import { isReservedAction, type Welcome } from '../protocol.js'
import { backoffDelay } from '../backoff.js'
import { tlsFailure } from './failures.js'
import type { CioOptions } from '../../core/options.js'
import type { AgentAddress } from '../url.js'
import { RpcHandlers } from '../../rpc/handlers.js'
import { DEFAULT_CALL_TIMEOUT } from '../../rpc/options.js'
import { drainPeers, type DrainResult } from '../../rpc/peer.js'
import { InterceptorSet, type Interceptors } from '../../rpc/interceptors.js'
import { checkTimeout } from '../../rpc/validate.js'
import { inheritedCall, keepServed, timeLeft, withServedSignal } from '../../rpc/serving.js'
import { DEFAULT_DRAIN_TIMEOUT } from '../options.js'
import type { RpcPeer } from '../../rpc/peer.js'

/** Events of an {@link Agent}. */
export interface AgentEvents {
  /** The socket connected (TLS included); the handshake follows. Emitted for every connection. */
  connected: [endpoint: string]
  /** The first handshake is done: the agent can send and be called. */
  ready: [name: string]
  /** A connection that had `connected` ended; `reason` is the error that ended it, if any. */
  disconnected: [reason: Error | undefined]
  /** A handshake after a reconnect is done. */
  reconnected: [name: string]
  /**
   * On every attempt that fails for a reason a person must fix, while the
   * agent keeps retrying: `WRONG_SECRET` (then at the longest backoff; the
   * agent stops instead with `stopOnWrongSecret`), `TLS_FAILED` (a
   * certificate not trusted, a wrong name), `DUPLICATE_ID`, `STORE_FAILED`;
   * and any failure when `reconnect` is false. Emitted only if listened to.
   */
  error: [error: CioError]
}

/** `Agent.conf(conf)`'s answer: `connect(url)` makes a new agent each time. */
export interface AgentConnector {
  connect(host: string): Agent
}

/** Failures reported on every attempt (see the `error` event). */
const LOUD: ReadonlySet<string> = new Set([codes.WRONG_SECRET, codes.TLS_FAILED, codes.DUPLICATE_ID, codes.STORE_FAILED])

const State = { STARTING: 0, CONNECTING: 1, READY: 2, WAITING: 3, STOPPED: 4, CLOSED: 5 } as const
type State = (typeof State)[keyof typeof State]

/**
 * websocket-agent code tests `err == Agent.OFFLINE` for "the agent is
 * offline", and a closed agent is: its sends fail with `OFFLINE`, the
 * closing as the cause.
 */
function closedOffline(closed: CioError, action?: string): CioError {
  const message = action === undefined ? 'The agent was closed while the send waited for its connection.' : `Cannot send ${JSON.stringify(action)}: the agent was closed.`
  return new CioError(codes.OFFLINE, message, { cause: closed, details: { action } })
}

function beatClient(connection: ClientConnection, interval: number): void {
  if (connection.beating) beat(connection, interval)
}

/** An agent: see the module comment and the README's Agents section. */
export class Agent extends CodedEmitter<AgentEvents> {
  /**
   * websocket-agent's fluent form: `Agent.conf(confOrPromise).connect(url)`. Each
   * `connect` makes a new agent (there is no shared one); `url` is its
   * `host`. A promised conf's mistakes are emitted as `error`.
   */
  static conf(conf: Partial<AgentOptions> | PromiseLike<Partial<AgentOptions>>): AgentConnector {
    return {
      connect(host: string): Agent {
        const withHost = (value: unknown): unknown => (typeof value === 'object' && value !== null && !Array.isArray(value) ? { ...value, host } : value)
        if (isPromiseLike(conf)) return new Agent(Promise.resolve(conf).then(withHost) as Promise<AgentOptions>)
        return new Agent(withHost(conf) as AgentOptions)
      },
    }
  }

  /** The cio instance whose client chain this agent's connections run through. */
  readonly cio: Cio
  #options: ResolvedAgentOptions | undefined
  #state: State = State.STARTING
  readonly #hooks = new RpcHandlers()
  readonly #interceptors = new InterceptorSet()
  /** Set by `drain()`: no new sends, no reconnecting. */
  #draining = false
  /** The server announced a drain: the next connection is made as soon as this one closes, and sends wait for it. */
  #moving = false
  readonly #owner: AgentClientOwner
  #connection: ClientConnection | undefined
  /** Set while READY: the fast path of `send`. */
  #peer: RpcPeer | undefined
  #name: string | undefined
  #names: AgentNameStore | undefined
  #everReady = false
  #attempt = 0
  /** The last attempt failed with WRONG_SECRET: the next waits the longest backoff. */
  #wrongSecret = false
  /** Index in `addresses` of the server being tried: a random start spreads agents over a cluster. */
  #endpoint = -1
  #reconnectTimer: NodeJS.Timeout | undefined
  readonly #waiters = new Waiters()
  #stopReason: CioError | undefined
  #closing: Promise<void> | undefined
  /** The handshake key (scrypt of the secret); the agent connects only once it is set. */
  #key: KeyObject | undefined
  /** Settles once the key is derived or failed (never rejects); undefined until the derivation starts. */
  #keyed: Promise<void> | undefined

  /**
   * Checks the options (throws `INVALID_OPTION`, `CERT_READ`) and starts
   * once the current code has run, so listeners attached right after `new`
   * see every event: derives the handshake key from the secret (scrypt on
   * libuv's threadpool, so the constructor does not block; once per process
   * and secret, shared by its agents), then connects. The handshake
   * timeout starts with the connection, after the derivation; a key that
   * cannot be derived stops the agent with `INTERNAL_ERROR`. Options may be
   * a promise (websocket-agent's asynchronous conf): its mistakes are then
   * emitted as `error`.
   */
  constructor(options: AgentOptions | PromiseLike<AgentOptions>) {
    super()
    // A promised conf is settled into a value at once, so that its rejection
    // is handled (and emitted as `error` later) rather than reported as unhandled.
    const promised = isPromiseLike(options) ? Promise.resolve(options).then((value) => ({ value }), (error: unknown) => ({ error })) : undefined
    if (promised === undefined) this.#options = resolveAgentOptions(options)
    this.cio = this.#options?.cio ?? buildCio()
    ensureClientListeners(this.cio)
    this.#owner = new Agent.#Owner(this)
    void this.#start(promised)
  }

  /** The name the server gave this agent (or the one in its store), until then undefined. */
  get name(): string | undefined {
    return this.#name
  }

  /**
   * Calls `action` on the server. The last argument is a timeout in ms or
   * call options (`{ timeout, signal, meta, onMeta }`). Rejects with the
   * value the server's hook threw, or a CioError: `OFFLINE` (no connection
   * and none being made, or the agent was closed: then its `cause` is
   * `CLOSED`), `TIMEOUT`, `UNKNOWN_ACTION`, `DISCONNECTED`, `DRAINING`,
   * `INVALID_ARGUMENT`... While a connection is being made (or the server
   * drains and the agent moves to the next), waits for its handshake within
   * the timeout.
   */
  send<T = unknown>(action: string, message?: unknown, options?: SendOptions): Promise<T> {
    const peer = this.#peer
    if (peer !== undefined && typeof action === 'string' && !isReservedAction(action)) {
      if (options === undefined) return peer.call<T>(action, message)
      if (typeof options === 'number') return peer.call<T>(action, message, { timeout: options })
    }
    // It may wait for the connection: a call served by the handler that sends must outlive that wait.
    return keepServed(() => this.#sendLater<T>(action, message, options))
  }

  /** websocket-agent's other name for {@link send}. */
  tunnel<T = unknown>(action: string, message?: unknown, options?: SendOptions): Promise<T> {
    return this.send<T>(action, message, options)
  }

  /**
   * Adds interceptors for the agent's connections (this one and the next):
   * `{ call }` around `send`, `{ handle }` around the hooks. Reserved `cio.`
   * actions (handshake, heartbeat) never pass through them.
   * @throws CioError `INVALID_ARGUMENT` for something that is not a function.
   */
  use(interceptors: Interceptors): this {
    this.#interceptors.add(interceptors, 'use()')
    return this
  }

  /**
   * Stops gracefully: refuses new sends (and new calls from the server) with
   * `DRAINING`, stops reconnecting, lets the calls in flight both ways
   * finish for up to `timeout` ms, aborts what is left (hooks' `call.signal`
   * aborts with `DRAINING`, the server is answered `DRAINING`; sends still
   * pending fail with `DRAINING`), then closes. Always resolves.
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
    this.#peer = undefined
    clearTimeout(this.#reconnectTimer)
    this.#waiters.settle(new CioError(codes.DRAINING, 'The agent is draining: it makes no new calls.'))
    const peer = this.#connection?.peer
    const result = peer === undefined || peer.closed ? { completed: 0, aborted: 0 } : await drainPeers([peer], timeout)
    await this.close()
    return result
  }

  /** Answers the server's action: `(action, handler(message, socket, call))`, `({ action: handler })` or `(catchAll(action, message, socket, call))`. */
  onHook(action: string, handler: AgentHook): this
  onHook(handlers: HookMap<AgentHook>): this
  onHook(catchAll: AgentCatchAll): this
  onHook(first: string | HookMap<AgentHook> | AgentCatchAll, handler?: AgentHook): this {
    addHooks(this.#hooks, agentHookAdapter, 'onHook', first, handler)
    return this
  }

  /**
   * Stops reconnecting, closes the connection (pending sends fail with
   * `DISCONNECTED`, waiting ones with `OFFLINE`, both caused by `CLOSED`), waits for the store, and
   * resolves when all is closed. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    return (this.#closing ??= this.#shutdown())
  }

  async #shutdown(): Promise<void> {
    this.#state = State.CLOSED
    clearTimeout(this.#reconnectTimer)
    const reason = new CioError(codes.CLOSED, 'The agent was closed.')
    this.#waiters.settle(closedOffline(reason))
    const connection = this.#connection
    if (connection !== undefined && !connection.peer.closed) {
      const closed = once(connection.peer.framed, 'close')
      connection.socket.destroy(reason)
      await closed
    }
    await this.#names?.idle()
    // A derivation still running (close() right after new) ends before close() resolves: nothing is left behind.
    await this.#keyed
  }

  async #start(promised: Promise<{ value: AgentOptions } | { error: unknown }> | undefined): Promise<void> {
    // One turn of the event loop: the code that made the agent, promise
    // continuations included, attaches its listeners before anything happens.
    await new Promise((resolve) => setImmediate(resolve))
    try {
      const conf = promised === undefined ? undefined : await promised
      if (conf !== undefined && 'error' in conf) throw conf.error
      const options = conf === undefined ? this.#options : resolveAgentOptions(conf.value)
      if (options?.cio !== undefined && options.cio !== this.cio) {
        throw new CioError(codes.INVALID_OPTION, 'The "cio" option cannot come from a promised conf: pass it to new Agent() directly.', { details: { option: 'cio' } })
      }
      this.#options = options
    } catch (error) {
      this.#stop(error instanceof CioError ? error : new CioError(codes.INVALID_OPTION, `The agent's conf failed: ${describeError(error)}`, { cause: error }))
      return
    }
    // Closed (or stopped) before starting: nothing to derive.
    if (this.#state !== State.STARTING) return
    const o = this.#options as ResolvedAgentOptions
    this.#keyed = deriveHandshakeKey(o.secret).then(
      (key) => {
        this.#key = key
      },
      (cause: unknown) => this.#stop(new CioError(codes.INTERNAL_ERROR, `The handshake key could not be derived from the secret: ${describeError(cause)}`, { cause })),
    )
    if (o.store !== undefined) {
      this.#names = new AgentNameStore(o.store, (error) => emitError(this, error, o.log))
      this.#name ??= await this.#names.load()
    }
    await this.#keyed
    if (this.#state === State.STARTING) this.#connect()
  }

  /**
   * How this agent's connections report to it. A class inside Agent's body
   * (so it reaches the private state) rather than an object of closures:
   * one small object per agent instead of nine functions.
   */
  static readonly #Owner = class AgentOwner extends AgentClientOwner {
    constructor(readonly agent: Agent) {
      super()
    }
    get hooks(): RpcHandlers {
      return this.agent.#hooks
    }
    get secret(): KeyObject {
      // Set before the first connection: none is made without it.
      return this.agent.#key as KeyObject
    }
    get handshakeTimeout(): number {
      return (this.agent.#options as ResolvedAgentOptions).handshakeTimeout
    }
    get log(): AgentLogger | undefined {
      return this.agent.#options?.log
    }
    get claimedName(): string | undefined {
      return this.agent.#name
    }
    opened(connection: ClientConnection): void {
      this.agent.#connection = connection
    }
    connected(connection: ClientConnection): void {
      const agent = this.agent
      if (connection !== agent.#connection) return
      agent.#options?.log?.('connected; handshake under way')
      emitSafely(agent, 'connected', [agent.#endpointUrl()], agent.#options?.log)
    }
    ready(connection: ClientConnection, welcome: Welcome): void {
      this.agent.#onReady(connection, welcome)
    }
    failed(_connection: ClientConnection, error: unknown): void {
      this.agent.#onFailed(error)
    }
    closed(connection: ClientConnection, error: Error | undefined): void {
      this.agent.#onClosed(connection, error)
    }
    draining(connection: ClientConnection): void {
      this.agent.#onServerDraining(connection)
    }
  }

  /** The server drains: new sends wait for the next connection, made as soon as this one closes. */
  #onServerDraining(connection: ClientConnection): void {
    if (connection !== this.#connection || this.#state !== State.READY) return
    this.#options?.log?.('the server is draining; moving once the connection closes')
    this.#moving = true
    this.#attempt = 0
    this.#peer = undefined
    this.#state = State.CONNECTING
  }

  #connect(): void {
    this.#reconnectTimer = undefined
    if (this.#state === State.CLOSED || this.#state === State.STOPPED) return
    const o = this.#options as ResolvedAgentOptions
    this.#state = State.CONNECTING
    this.#connection = undefined
    const count = o.addresses.length
    // The next server on each attempt; a failed attempt costs the usual backoff, so a dead server is not hammered.
    this.#endpoint = this.#endpoint < 0 ? Math.floor(Math.random() * count) : (this.#endpoint + 1) % count
    const address = o.addresses[this.#endpoint] as AgentAddress
    o.log?.(`connecting to ${address.host}:${address.port} over ${address.secure ? 'TLS' : 'TCP'}${this.#attempt > 0 ? ` (retry ${this.#attempt})` : ''}`)
    const options: CioOptions = { ...o.clientOptions, host: address.host, port: address.port, secure: address.secure }
    try {
      const socket = this.cio.client(options, this.#owner)
      if (this.#connection === undefined) {
        socket.destroy()
        throw new CioError(codes.INTERNAL_ERROR, 'The client chain ran without cio/agent-client (was it disabled?): the agent cannot connect.')
      }
    } catch (error) {
      this.#stop(error instanceof CioError ? error : new CioError(codes.INTERNAL_ERROR, describeError(error), { cause: error }))
    }
  }

  /** The server being tried or connected to, as a URL. */
  #endpointUrl(): string {
    const address = (this.#options as ResolvedAgentOptions).addresses[Math.max(0, this.#endpoint)] as AgentAddress
    return `${address.secure ? 'tls' : 'tcp'}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`
  }

  #onReady(connection: ClientConnection, welcome: Welcome): void {
    if (connection !== this.#connection || this.#state !== State.CONNECTING) return
    const o = this.#options as ResolvedAgentOptions
    this.#state = State.READY
    this.#peer = connection.peer
    this.#moving = false
    // From here on the connection's calls are the user's: intercepted and traced with the agent's name.
    connection.peer.interceptWith(this.#interceptors)
    connection.peer.agentName = welcome.name
    this.#attempt = 0
    this.#wrongSecret = false
    this.#name = welcome.name
    this.#names?.save(welcome.name)
    if (o.heartbeatInterval > 0) connection.timer = setInterval(beatClient, o.heartbeatInterval, connection, o.heartbeatInterval).unref()
    this.#waiters.settle()
    const first = !this.#everReady
    this.#everReady = true
    o.log?.(`${first ? 'ready' : 'reconnected'} as ${welcome.name}${welcome.firstTime ? ' (a new name)' : ''}`)
    emitSafely(this, first ? 'ready' : 'reconnected', [welcome.name], o.log)
  }

  #onFailed(error: unknown): void {
    if (this.#state === State.CLOSED) return
    const coded = error instanceof CioError ? error : new CioError(codes.INTERNAL_ERROR, describeError(error), { cause: error })
    const failure = tlsFailure(coded) ?? coded
    const o = this.#options as ResolvedAgentOptions
    if (o.reconnect === undefined || (failure.code === codes.WRONG_SECRET && o.stopOnWrongSecret)) this.#stop(failure)
    else if (LOUD.has(failure.code)) {
      // A relayed or misconfigured attempt must not take the agent down for good: retry, slowly.
      if (failure.code === codes.WRONG_SECRET) this.#wrongSecret = true
      emitError(this, failure, o.log)
    } else o.log?.(`handshake failed: ${failure.code} ${failure.message}`)
  }

  #onClosed(connection: ClientConnection, error: Error | undefined): void {
    if (connection !== this.#connection) return
    this.#connection = undefined
    this.#peer = undefined
    const o = this.#options as ResolvedAgentOptions
    if (this.#moving && !this.#draining && this.#state !== State.CLOSED && this.#state !== State.STOPPED && o.reconnect !== undefined) {
      // The server drained: reconnect at once; sends keep waiting for the new connection.
      this.#attempt += 1
      this.#reconnectTimer = setTimeout(() => this.#connect(), backoffDelay(this.#attempt, o.reconnect))
      this.#state = State.CONNECTING
    } else if (this.#state !== State.CLOSED) {
      this.#waiters.settle(new CioError(codes.OFFLINE, 'The connection to the agent server was lost before the handshake completed.', { cause: error }))
      if (this.#state === State.STOPPED || this.#draining) {
        // stopped for good: nothing to schedule
      } else if (o.reconnect === undefined) {
        this.#state = State.STOPPED
      } else {
        this.#attempt += 1
        const delay = this.#wrongSecret ? backoffDelay(1, { ...o.reconnect, initialDelay: o.reconnect.maxDelay }) : backoffDelay(this.#attempt, o.reconnect)
        this.#state = State.WAITING
        this.#reconnectTimer = setTimeout(() => this.#connect(), delay)
        o.log?.(`connection lost${error === undefined ? '' : ` (${error.message})`}; reconnecting in ${delay} ms`)
      }
    }
    if (connection.connected) emitSafely(this, 'disconnected', [error], o.log)
  }

  /** Stops for good (reconnecting would not help): rejects waiting sends and reports `error`. */
  #stop(error: CioError): void {
    if (this.#state === State.CLOSED) return
    this.#state = State.STOPPED
    this.#stopReason = error
    clearTimeout(this.#reconnectTimer)
    this.#waiters.settle(new CioError(codes.OFFLINE, `The agent stopped: ${error.message}`, { cause: error }))
    this.#connection?.socket.destroy()
    emitError(this, error, this.#options?.log)
  }

  async #sendLater<T>(action: string, message: unknown, sendOptions: SendOptions | undefined): Promise<T> {
    const state = this.#state
    if (state === State.CLOSED) throw closedOffline(new CioError(codes.CLOSED, 'The agent was closed.', { details: { action } }), action)
    const callOptions = toCallOptions(sendOptions, action)
    const timeout = callOptions?.timeout
    checkCall(action, timeout, false, 'agent', this.#draining)
    const ready = this.#peer
    if (ready !== undefined) return ready.call<T>(action, message, callOptions)
    if (state === State.STOPPED) throw new CioError(codes.OFFLINE, `Cannot send ${JSON.stringify(action)}: the agent stopped${this.#stopReason === undefined ? '' : ` (${this.#stopReason.code})`}.`, { cause: this.#stopReason, details: { action } })
    if (state === State.WAITING) throw new CioError(codes.OFFLINE, `Cannot send ${JSON.stringify(action)}: the agent is offline, waiting to reconnect.`, { details: { action } })
    // STARTING or CONNECTING (READY with a reserved action was refused above): wait for the handshake.
    // Made while serving a call: the wait too ends with the served call's time and signal.
    const served = inheritedCall(callOptions?.inheritDeadline)
    const own = timeout ?? this.#options?.timeout ?? DEFAULT_CALL_TIMEOUT
    const servedLeft = served === undefined ? Infinity : timeLeft(served, action)
    const limit = Math.min(own, servedLeft)
    const given = callOptions?.signal
    const signal = served === undefined ? given : withServedSignal(given, served)
    const start = performance.now()
    await this.#waiters.wait({ limit, signal, served: servedLeft < own }, action)
    const left = limit - (performance.now() - start)
    const peer = this.#peer
    if (peer === undefined) throw new CioError(codes.OFFLINE, `Cannot send ${JSON.stringify(action)}: the agent went offline.`, { details: { action } })
    if (!(left >= 1)) throw new CioError(codes.TIMEOUT, `send ${JSON.stringify(action)} timed out after ${limit} ms waiting for the connection to the server.`, { details: { action } })
    return peer.call<T>(action, message, { ...callOptions, timeout: left })
  }
}

export type { AgentOptions } from './options.js'
export type { AgentHook, AgentCatchAll } from '../hooks.js'
