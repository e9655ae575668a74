/**
 * How `AgentServer` and `Agent` report: the optional logger, and events
 * emitted so that a throwing listener or a missing `error` listener never
 * reaches cio's own callbacks or the process.
 */
import type { EventEmitter } from 'node:events'
import { CioError, codes, describeError } from '../errors.js'

/**
 * Receives the diagnostics of an agent or agent server: one sentence and,
 * sometimes, facts about it. Never called unless a `logger` is given or
 * `debug` is true.
 */
export type AgentLogger = (message: string, details?: Record<string, unknown>) => void

/**
 * Emits `error` only when someone listens: an `error` event without a
 * listener would throw and could take the process down, which cio never
 * does. The error is logged either way.
 */
export function emitError(emitter: EventEmitter, error: CioError, log: AgentLogger | undefined): void {
  log?.(`error ${error.code}: ${error.message}`)
  if (emitter.listenerCount('error') === 0) return
  try {
    emitter.emit('error', error)
  } catch (cause) {
    // Emitted from cio's callbacks: a throwing listener must not escape into them.
    log?.(`an "error" listener threw: ${describeError(cause)}`)
  }
}

/**
 * Emits an event from inside cio's own callbacks (promise reactions, socket
 * events). A listener that throws is reported as an `error` event with
 * `INTERNAL_ERROR` instead of surfacing as an unhandled rejection or an
 * uncaught exception in cio's code.
 */
export function emitSafely(emitter: EventEmitter, event: string, args: unknown[], log: AgentLogger | undefined): void {
  try {
    emitter.emit(event, ...args)
  } catch (cause) {
    emitError(emitter, new CioError(codes.INTERNAL_ERROR, `A "${event}" listener threw: ${describeError(cause)}`, { cause, details: { event } }), log)
  }
}

