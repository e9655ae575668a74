/**
 * The checks every caller-facing function shares: an action name, a timeout
 * in milliseconds, and how an action from the network is quoted in a
 * message. One definition each, so `peer.call`, `agent.send`,
 * `server.sendTo` and the option parsers agree on what they accept.
 */
import { CioError, codes } from '../errors.js'

/** Largest delay `setTimeout` honours (2^31 - 1 ms, about 24.8 days): no timeout cio accepts is longer. */
export const MAX_TIMER_MS = 0x7fff_ffff

/** True for a timeout cio accepts: a number of ms above 0 and at most {@link MAX_TIMER_MS}. */
export function isValidTimeout(timeout: unknown): timeout is number {
  return typeof timeout === 'number' && timeout > 0 && timeout <= MAX_TIMER_MS
}

/** What a timeout must be, for messages. */
export const TIMEOUT_RULE = `a number of ms above 0 and up to ${MAX_TIMER_MS}`

/**
 * Refuses an action that cannot be called or handled: anything but a
 * non-empty string, and, when `reservedPrefix` is given, a name in that
 * reserved space. Throws `INVALID_ARGUMENT`; `where` starts the message.
 */
export function checkAction(action: unknown, where: string, reservedPrefix?: string): asserts action is string {
  if (typeof action !== 'string' || action.length === 0) {
    throw new CioError(codes.INVALID_ARGUMENT, `${where}: the action must be a non-empty string, got ${JSON.stringify(action) ?? String(action)}.`, { details: { action } })
  }
  if (reservedPrefix !== undefined && action.startsWith(reservedPrefix)) {
    throw new CioError(codes.INVALID_ARGUMENT, `${where}: actions starting with "${reservedPrefix}" are reserved for cio's own messages; choose another name than ${quote(action)}.`, {
      details: { action },
    })
  }
}

/** Refuses a per-call timeout that is not {@link isValidTimeout} with `INVALID_ARGUMENT`. */
export function checkTimeout(timeout: unknown, action: string): asserts timeout is number {
  if (!isValidTimeout(timeout)) {
    throw new CioError(codes.INVALID_ARGUMENT, `The timeout of ${quote(action)} must be ${TIMEOUT_RULE}, got ${String(timeout)}.`, { details: { action } })
  }
}

/** An action name (it may come from the network) quoted and cut to 64 characters, for messages. */
export function quote(action: string): string {
  return JSON.stringify(action.length > 64 ? `${action.slice(0, 64)}...` : action)
}

/** True for a thenable object or function: what `await` would wait for. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return ((typeof value === 'object' && value !== null) || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function'
}
