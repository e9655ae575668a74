/**
 * What the `cio/agent-server` listener and the `AgentServer` class share:
 * the state kept per accepted connection and the interface through which
 * the listener reports to the server that owns the connection. The listener
 * speaks the protocol; the class holds names, agents and stores.
 */
import type { KeyObject } from 'node:crypto'
import type { Server, Socket } from 'node:net'
import type { Beating } from '../heartbeat.js'
import type { AgentLogger } from '../events.js'
import type { Welcome } from '../protocol.js'
import type { CioError } from '../../errors.js'
import type { RpcPeer } from '../../rpc/peer.js'
import type { RpcHandlers } from '../../rpc/handlers.js'
import { kServerConnection } from '../../core/symbols.js'

/**
 * A connected agent as the server's users see it: made anew for every
 * connection, passed to hooks and events. `data` is yours: put anything
 * there (it is forgotten when the connection ends).
 */
export interface AgentRecord {
  /** The agent's name, e.g. `A7`. */
  readonly name: string
  /** The connection (a `tls.TLSSocket` over TLS). */
  readonly socket: Socket
  /** True when the server gave the agent this name on this connection (a new agent). */
  readonly firstTime: boolean
  /** Free for your own use; `undefined` at first. */
  data: unknown
}

/** Where a server connection stands. */
export const Phase = {
  /** Waiting for `cio.hello`. */
  NEW: 0,
  /** Challenge sent; waiting for `cio.prove`. */
  CHALLENGED: 1,
  /** The agent proved the secret; its name is being settled (store save). */
  NAMING: 2,
  /** Handshake done: user requests reach the hooks. */
  READY: 3,
  /** The socket closed. */
  CLOSED: 4,
  /** Turned away (a fault was sent, the connection is ending): nothing it sends counts any more. */
  REFUSED: 5,
} as const
export type Phase = (typeof Phase)[keyof typeof Phase]

/**
 * What a server connection reports to the server that owns it. An
 * `AgentServer` passes one as the `owner` of its cio server; the
 * `cio/agent-server` listener recognises it with `instanceof` and leaves
 * other servers' connections alone.
 */
export abstract class AgentServerOwner {
  /** The hooks: every admitted connection answers with this registry. */
  abstract readonly hooks: RpcHandlers
  /** The shared secret, as a KeyObject. */
  abstract readonly secret: KeyObject
  /** Milliseconds a connection has to complete the handshake, from accept. */
  abstract readonly handshakeTimeout: number
  /** Largest frame accepted before admission. */
  abstract readonly maxHandshakeFrameBytes: number
  /** True once `close()` was called: new connections are turned away. */
  abstract readonly closing: boolean
  abstract readonly log: AgentLogger | undefined
  /** A connection arrived. */
  abstract opened(connection: ServerConnection): void
  /**
   * Settles the name of an agent that proved the secret: its claimed name,
   * or the next one from the format. Rejects with `DUPLICATE_ID` when the
   * claimed name is taken by a live connection.
   */
  abstract name(connection: ServerConnection, claimed: string | undefined): Promise<Welcome>
  /** The welcome went out: the agent is connected. */
  abstract admitted(connection: ServerConnection, welcome: Welcome): void
  /** An agent was turned away (`WRONG_SECRET`, `DUPLICATE_ID`, ...). */
  abstract refused(connection: ServerConnection, error: CioError): void
  /** The connection closed, in any phase. */
  abstract closed(connection: ServerConnection, error: Error | undefined): void
}

/** What the handshake needs until it is done; dropped then, so an idle agent does not carry it. */
export class HandshakeState {
  /** The agent's hello: its nonce and claimed name. */
  clientNonce: Buffer | undefined = undefined
  claimed: string | undefined = undefined
  /** The server's nonce and the TLS channel binding. */
  serverNonce: Buffer | undefined = undefined
  binding: Buffer | undefined = undefined
}

/** The state of one accepted connection, found from its socket. */
export class ServerConnection implements Beating {
  phase: Phase = Phase.NEW
  /** Present until the agent is admitted or the connection closes. */
  handshake: HandshakeState | undefined = new HandshakeState()
  /** The settled name (from NAMING on). */
  name: string | undefined = undefined
  /** The record users see (from READY on). */
  record: AgentRecord | undefined = undefined
  beatBytes = 0
  beatPinged = false

  /** Only admitted agents are checked by the heartbeat. */
  get beating(): boolean {
    return this.phase === Phase.READY
  }

  constructor(
    readonly owner: AgentServerOwner,
    readonly peer: RpcPeer,
  ) {}

  get socket(): Socket {
    return this.peer.framed.socket
  }
}

type SocketWithConnection = Socket & { [kServerConnection]?: ServerConnection }

/** Links a socket to its connection state. */
export function setServerConnection(socket: Socket, connection: ServerConnection): void {
  ;(socket as SocketWithConnection)[kServerConnection] = connection
}

/** The agent connection state of a server-side socket, if it has one. */
export function serverConnectionOf(socket: Socket): ServerConnection | undefined {
  return (socket as SocketWithConnection)[kServerConnection]
}
