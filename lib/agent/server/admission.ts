/**
 * What an agent server allows a connection before it is admitted: one
 * deadline from the moment the socket is accepted (TLS handshake included)
 * to the welcome, and a cap on the connections that have not got there yet.
 * Everything here is per raw accepted socket, the one `connection` gives:
 * over TLS that is the socket under the `TLSSocket`, and destroying it ends
 * both.
 */
import type { Server, Socket } from 'node:net'
import { CioError, codes } from '../../errors.js'
import { kAdmission } from '../../core/symbols.js'

/** Default cap on connections accepted but not yet admitted: 2048. */
export const DEFAULT_MAX_PENDING_HANDSHAKES = 2048

/** Default cap on one frame before admission: 4 KiB (a hello is about 100 bytes). */
export const DEFAULT_MAX_HANDSHAKE_FRAME_BYTES = 4096

/** Reports of sockets dropped at accept are batched: at most one per this many ms. */
const DROP_REPORT_MS = 1000

/** Per raw socket: its deadline, and the socket the protocol runs on (the TLSSocket over TLS). */
interface Pending {
  timer: NodeJS.Timeout
  served: Socket | undefined
  gate: Gate
}

type Admitting = Socket & { [kAdmission]?: Pending | undefined }

/** What the gate tells its owner. */
export interface GateHost {
  readonly handshakeTimeout: number
  readonly maxPendingHandshakes: number
  readonly closing: boolean
  /** `count` sockets were closed at accept because the cap was reached (batched). */
  dropped(error: CioError): void
}

/**
 * The door of one server: every accepted socket passes it first (it listens
 * ahead of cio's own accept path), gets its deadline, or is closed at once
 * when the cap of connections not yet admitted is reached.
 */
export class Gate {
  /** Raw sockets accepted and not admitted yet (TLS handshakes in progress included). */
  readonly sockets = new Set<Socket>()
  #droppedSince = 0
  #reportTimer: NodeJS.Timeout | undefined = undefined

  constructor(
    readonly server: Server,
    readonly host: GateHost,
  ) {
    gates.set(server, this)
    server.prependListener('connection', gateOnConnection)
  }

  /** Stops the batched report timer (at close). */
  stop(): void {
    clearTimeout(this.#reportTimer)
    this.#reportTimer = undefined
    this.#report()
  }

  /** @internal */
  accept(socket: Socket): void {
    const host = this.host
    if (host.closing) {
      socket.destroy()
      return
    }
    if (this.sockets.size >= host.maxPendingHandshakes) {
      socket.destroy()
      this.#droppedSince += 1
      this.#reportTimer ??= setTimeout(() => {
        this.#reportTimer = undefined
        this.#report()
      }, DROP_REPORT_MS).unref()
      return
    }
    this.sockets.add(socket)
    ;(socket as Admitting)[kAdmission] = { timer: setTimeout(onDeadline, host.handshakeTimeout, socket), served: undefined, gate: this }
    socket.once('close', onRawClose)
  }

  #report(): void {
    const count = this.#droppedSince
    if (count === 0) return
    this.#droppedSince = 0
    const cap = this.host.maxPendingHandshakes
    this.host.dropped(
      new CioError(codes.TOO_MANY_CONNECTIONS, `${count} connection${count === 1 ? ' was' : 's were'} closed at accept: ${cap} connections were already waiting to complete the handshake (maxPendingHandshakes).`, {
        details: { dropped: count, maxPendingHandshakes: cap },
      }),
    )
  }
}

const gates = new WeakMap<Server, Gate>()

function gateOnConnection(this: Server, socket: Socket): void {
  gates.get(this)?.accept(socket)
}

/** The socket under a TLSSocket (the one `connection` gave), or the socket itself. */
function rawOf(socket: Socket): Socket {
  return (socket as Socket & { _parent?: Socket | null })._parent ?? socket
}

function onRawClose(this: Socket): void {
  release(this)
}

function release(raw: Socket): void {
  const pending = (raw as Admitting)[kAdmission]
  if (pending === undefined) return
  clearTimeout(pending.timer)
  ;(raw as Admitting)[kAdmission] = undefined
  pending.gate.sockets.delete(raw)
  raw.off('close', onRawClose)
}

function onDeadline(raw: Socket): void {
  const pending = (raw as Admitting)[kAdmission]
  if (pending === undefined) return
  const timeout = pending.gate.host.handshakeTimeout
  const served = pending.served
  release(raw)
  if (served === undefined) {
    // Still in its TLS handshake: no layer of cio owns it yet, nothing to report to.
    raw.destroy()
    return
  }
  served.destroy(new CioError(codes.HANDSHAKE_TIMEOUT, `The agent handshake did not complete within ${timeout} ms of the connection being accepted.`, {
    details: { handshakeTimeout: timeout, remoteAddress: served.remoteAddress },
  }))
}

/**
 * Notes the socket the protocol runs on for an accepted socket, so that its
 * deadline reports `HANDSHAKE_TIMEOUT` there. False when the socket has no
 * deadline (not accepted through a gate, or already past it).
 */
export function serveSocket(socket: Socket): boolean {
  const pending = (rawOf(socket) as Admitting)[kAdmission]
  if (pending === undefined) return false
  pending.served = socket
  return true
}

/** The socket was admitted: its deadline is off and it no longer counts against the cap. */
export function admitSocket(socket: Socket): void {
  release(rawOf(socket))
}
