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
import type { RpcHandlers } from '../../rpc/handlers.js'
import { kClientConnection } from '../../core/symbols.js'

/**
 * What a client connection reports to the agent that opened it. An `Agent`
 * passes one as the `owner` of its cio client; the `cio/agent-client`
 * listener recognises it with `instanceof` and leaves other clients alone.
 */
export abstract class AgentClientOwner {
  /** The agent's hooks: the connection answers the server with this registry. */
  abstract readonly hooks: RpcHandlers
  abstract readonly secret: KeyObject
  abstract readonly handshakeTimeout: number
  abstract readonly log: AgentLogger | undefined
  /** The name to come back under, if the agent has one. */
  abstract readonly claimedName: string | undefined
  /** The socket was made (it is still connecting). */
  abstract opened(connection: ClientConnection): void
  /** The socket connected (after TLS, when used); the handshake is under way. */
  abstract connected(connection: ClientConnection): void
  /** The handshake is done: the server proved the secret and named the agent. */
  abstract ready(connection: ClientConnection, welcome: Welcome): void
  /** The handshake failed; the socket is being destroyed. */
  abstract failed(connection: ClientConnection, error: unknown): void
  /** The socket closed, in any state. */
  abstract closed(connection: ClientConnection, error: Error | undefined): void
  /** The server said it is draining: send nothing new on this connection. */
  abstract draining(connection: ClientConnection): void
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
    readonly owner: AgentClientOwner,
    readonly peer: RpcPeer,
  ) {}

  get socket(): Socket {
    return this.peer.framed.socket
  }
}

type SocketWithConnection = Socket & { [kClientConnection]?: ClientConnection }

/** Links a socket to its connection state. */
export function setClientConnection(socket: Socket, connection: ClientConnection): void {
  ;(socket as SocketWithConnection)[kClientConnection] = connection
}

/** The agent connection state of a client socket, if it has one. */
export function clientConnectionOf(socket: Socket): ClientConnection | undefined {
  return (socket as SocketWithConnection)[kClientConnection]
}
