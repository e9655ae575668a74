/**
 * cio's `diagnostics_channel` channels, in one place because their names and
 * the fields of what they publish are public API (listed in the README):
 *
 * - `cio:call` (a TracingChannel) around every outgoing RPC call;
 * - `cio:handle` (a TracingChannel) around every request handled;
 * - `cio:connection` when a server accepts a connection;
 * - `cio:handshake:admitted` / `cio:handshake:refused` for agent handshakes;
 * - `cio:protocol-error` when a connection is closed for breaking the protocol.
 *
 * Publishers check `hasSubscribers` before building anything, so with no
 * subscriber a call pays one property read per channel.
 */
import diagnostics from 'node:diagnostics_channel'
import type { Socket } from 'node:net'

/** What `cio:call` and `cio:handle` publish for one call (TracingChannel adds `result` or `error`). */
export interface CallTrace {
  /** The action called. */
  action: string
  /** The call's id on its connection (for `cio:call`, 0 until the request is written). */
  id: number
  /** The request's metadata (for `cio:call`, as the caller gave it, before interceptors). */
  meta: Readonly<Record<string, string>>
  /** The agent's name when the call runs between an agent and its server; undefined otherwise. */
  agent: string | undefined
  /** The other side's address. */
  remoteAddress: string | undefined
  /**
   * The outcome, set before `asyncEnd`: `OK`, `ERROR` (a handler threw a
   * plain value), or the CioError code (`TIMEOUT`, `ABORTED`, `CANCELLED`,
   * `DEADLINE_EXCEEDED`, `UNKNOWN_ACTION`, `INTERNAL_ERROR`...).
   */
  code: string | undefined
  /** Set by the TracingChannel on success. */
  result?: unknown
  /** Set by the TracingChannel on failure. */
  error?: unknown
}

/** Published on `cio:connection`. */
export interface ConnectionMessage {
  socket: Socket
  remoteAddress: string | undefined
  secure: boolean
}

/** Published on `cio:handshake:admitted` and `cio:handshake:refused`. */
export interface HandshakeMessage {
  socket: Socket
  remoteAddress: string | undefined
  /** The agent's name (admitted), or the name it claimed (refused), if any. */
  agent: string | undefined
  /** Refused only: why (`WRONG_SECRET`, `NOT_AUTHORIZED`, `DUPLICATE_ID`...). */
  code?: string
}

/** Published on `cio:protocol-error`. */
export interface ProtocolErrorMessage {
  socket: Socket
  remoteAddress: string | undefined
  /** `FRAME_TOO_LARGE`, `FRAME_INVALID`, `INVALID_MESSAGE`... */
  code: string
  error: Error
}

/** Channel names, exported for subscribers. */
export const channelNames = {
  call: 'cio:call',
  handle: 'cio:handle',
  connection: 'cio:connection',
  admitted: 'cio:handshake:admitted',
  refused: 'cio:handshake:refused',
  protocolError: 'cio:protocol-error',
} as const

export const callChannel = diagnostics.tracingChannel<CallTrace>(channelNames.call)
export const handleChannel = diagnostics.tracingChannel<CallTrace>(channelNames.handle)
export const connectionChannel = diagnostics.channel(channelNames.connection)
export const admittedChannel = diagnostics.channel(channelNames.admitted)
export const refusedChannel = diagnostics.channel(channelNames.refused)
export const protocolErrorChannel = diagnostics.channel(channelNames.protocolError)

/**
 * The events of a settled call, in `tracePromise`'s order: `error` when it
 * failed, then `asyncStart` and `asyncEnd`. For the two places that publish
 * a TracingChannel's events by hand (see handle-trace.ts and peer.ts).
 */
export function publishSettled(channel: diagnostics.TracingChannel<CallTrace>, context: CallTrace, failed: boolean): void {
  if (failed) channel.error.publish(context)
  channel.asyncStart.publish(context)
  channel.asyncEnd.publish(context)
}

/** The outcome code of a call that failed with `error`. */
export function outcomeCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return error instanceof Error && typeof code === 'string' ? code : 'ERROR'
}
