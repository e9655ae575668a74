/**
 * One `error` listener per socket, shared by every layer that needs the
 * socket's errors not to crash the process (the server's accept path,
 * framing). Layers that want the error itself call `socketErrorOf(socket)`
 * when the socket closes: a second listener would cost each connection an
 * array in its event table.
 */
import type { Server, Socket } from 'node:net'

import { kGuardServer, kSocketError } from './symbols.js'

interface GuardedSocket extends Socket {
  /** The accepting server (null for a client socket); present once guarded. */
  [kGuardServer]?: Server | null
  /** The first error the socket emitted, kept only when `errored` does not hold it. */
  [kSocketError]?: Error
}

/**
 * A server client's error is passed on as its server's `serverClientError`,
 * so it is not lost; and the socket is closed, since some errors (a refused
 * TLS renegotiation) leave it open.
 */
function onGuardedError(this: GuardedSocket, error: Error): void {
  // Node emits some errors (a TLS alert from the peer) without setting `errored`.
  if (this.errored === null && this[kSocketError] === undefined) this[kSocketError] = error
  this[kGuardServer]?.emit('serverClientError', error, this)
  if (!this.destroyed) this.destroy()
}

/**
 * Makes sure an error on `socket` never becomes an uncaught exception;
 * adds the listener once, however many layers ask. With `server`, the
 * socket is that server's client: its errors, and its protocol errors
 * (see `serverOfSocket`), are reported by the server.
 */
export function guardSocket(socket: Socket, server?: Server): void {
  const guarded = socket as GuardedSocket
  if (guarded[kGuardServer] === undefined) {
    guarded[kGuardServer] = server ?? null
    socket.on('error', onGuardedError)
  } else if (server !== undefined) guarded[kGuardServer] = server
}

/** The server that accepted `socket`, when it was guarded as a server client. */
export function serverOfSocket(socket: Socket): Server | undefined {
  return (socket as GuardedSocket)[kGuardServer] ?? undefined
}

/** Why a guarded socket failed: `socket.errored`, or the error it emitted without setting that. */
export function socketErrorOf(socket: Socket): Error | undefined {
  return socket.errored ?? (socket as GuardedSocket)[kSocketError]
}
