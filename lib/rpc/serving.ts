/**
 * Which call a handler is serving, found from anywhere in its asynchronous
 * flow with `AsyncLocalStorage`: a call made while serving one inherits its
 * remaining time and its cancellation without the handler passing them on.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

/** What a nested call needs to know of the call being served. */
export interface ServedCall {
  /** The `performance.now()` time the served call's caller stops waiting; Infinity when none. */
  readonly expiresAt: number
  /** Aborts when the served call is no longer wanted. */
  readonly signal: AbortSignal
  /**
   * False once the served call has been answered: work a handler leaves
   * behind (a timer, a pool it started) must not inherit a finished call's
   * deadline.
   */
  readonly inherits: boolean
}

/** @internal The store; entered by the dispatcher around each request's handlers. */
export const serving = new AsyncLocalStorage<ServedCall>()

/** The call being served by the code that runs now, if any. */
export function servedCall(): ServedCall | undefined {
  return serving.getStore()
}
