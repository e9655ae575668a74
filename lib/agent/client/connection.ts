/**
 * What the `cio/agent-client` listener and the `Agent` class share: the
 * state of the agent's current connection, and the interface through which
 * the listener reports to the agent. The listener runs the handshake; the
 * class decides about reconnecting, names and events.
 */
import type { KeyObject } from 'node:crypto'
import type { Socket } from 'node:net'
import type { Beating } from '../heartbeat.js'
import type { AgentLogger } from '../events.js'
import type { Welcome } from '../protocol.js'
import type { RpcPeer } from '../../rpc/peer.js'
import { socketSlot } from '../../core/symbols.js'

/** What a client connection reports to the agent that opened it. */
export interface AgentClientHost {
  readonly secret: KeyObject
  readonly handshakeTimeout: number
  readonly log: AgentLogger | undefined
  /** The name to come back under, if the agent has one. */
  readonly claimedName: string | undefined
  /** The socket was made (it is still connecting). */
  opened(connection: ClientConnection): void
  /** The socket connected (after TLS, when used); the handshake is under way. */
  connected(connection: ClientConnection): void
  /** The handshake is done: the server proved the secret and named the agent. */
  ready(connection: ClientConnection, welcome: Welcome): void
  /** The handshake failed; the socket is being destroyed. */
  failed(connection: ClientConnection, error: unknown): void
  /** The socket closed, in any state. */
  closed(connection: ClientConnection, error: Error | undefined): void
}

/** The state of one connection of an agent, found from its socket. */
export class ClientConnection implements Beating {
  /** The server proved the secret: its requests may reach the hooks. */
  trusted = false
  /** The handshake is done. */
  ready = false
  /** The socket connected (reported to the agent). */
  connected = false
  /** The handshake deadline, then the heartbeat interval of this connection. */
  timer: NodeJS.Timeout | undefined = undefined
  beatBytes = 0
  beatPinged = false

  /** The heartbeat starts with the handshake done. */
  get beating(): boolean {
    return this.ready
  }

  constructor(
    readonly host: AgentClientHost,
    readonly peer: RpcPeer,
  ) {}

  get socket(): Socket {
    return this.peer.framed.socket
  }
}

/**
 * The key under which an agent passes itself to the client chain in the
 * options of `cio.client()`; a symbol, so it can clash with no option of
 * cio or Node, and Node's `net`/`tls` never look at it.
 */
export const kAgentClient = Symbol('cio.agentClient')

const connections = socketSlot<ClientConnection>('cio.agentClientConnection')

/** Links a socket to its connection state. */
export const setClientConnection = connections.set

/** The agent connection state of a client socket, if it has one. */
export const clientConnectionOf = connections.get
