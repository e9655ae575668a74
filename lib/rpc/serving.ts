/**
 * Which call a handler is serving, found from anywhere in its flow: a call
 * made while serving one inherits its remaining time and its cancellation
 * without the handler passing them on.
 *
 * Two carriers, because `AsyncLocalStorage` is not free on Node 20: its
 * first use turns on an async hook for the whole process, and every promise
 * and socket write pays for it from then on (~12% of calls/s on bench/rpc's
 * echo, measured). So:
 * - an `async function` handler runs inside the store: its awaits keep it;
 * - any other handler runs with the call in a synchronous slot, which is
 *   all it needs: it is answered as soon as it returns, and work it leaves
 *   behind must not inherit an answered call anyway;
 * - cio's own entry points that await before they send (`keepServed`)
 *   move a call found in the slot into the store for those awaits.
 * A process whose handlers are all plain functions and make no such calls
 * never turns the hook on.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { CioError, codes } from '../errors.js'

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

/** @internal The store; entered around async handlers, interceptors and `keepServed`. */
export const serving = new AsyncLocalStorage<ServedCall>()

/** The call served by the plain handler running right now. */
let syncServed: ServedCall | undefined

/** The call being served by the code that runs now, if any. */
export function servedCall(): ServedCall | undefined {
  return syncServed ?? serving.getStore()
}

/**
 * The served call a new call inherits from: none when `inheritDeadline` is
 * false, when no call is being served, or when it was already answered.
 */
export function inheritedCall(inheritDeadline: boolean | undefined): ServedCall | undefined {
  const served = inheritDeadline === false ? undefined : servedCall()
  return served?.inherits === true ? served : undefined
}

/**
 * Milliseconds `served` still has, for a new call of `action`.
 * @throws CioError `DEADLINE_EXCEEDED` when there are none left.
 */
export function timeLeft(served: ServedCall, action: string): number {
  const left = served.expiresAt - performance.now()
  if (left <= 0) throw new CioError(codes.DEADLINE_EXCEEDED, `cannot call ${action}: the call being served has run out of time`, { details: { action } })
  return left
}

/** `given`, made to abort also when the served call's signal does. */
export function withServedSignal(given: AbortSignal | undefined, served: ServedCall): AbortSignal {
  return given === undefined ? served.signal : AbortSignal.any([given, served.signal])
}

/** Marks a wrapper (an agent hook's adapter) as running an async function. */
const RUNS_ASYNC = Symbol('cio.rpc.runsAsync')

/** True for a native `async function` (or a wrapper marked by {@link wrapsAsync}): it must run inside the store. */
export function runsAsync(fn: object): boolean {
  return (fn as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'AsyncFunction' || (fn as { [RUNS_ASYNC]?: true })[RUNS_ASYNC] === true
}

/** Returns `wrapper`, marked to run inside the store when `wrapped` is an async function. */
export function wrapsAsync<F extends object>(wrapper: F, wrapped: object): F {
  if (runsAsync(wrapped)) Object.defineProperty(wrapper, RUNS_ASYNC, { value: true })
  return wrapper
}

/** Puts `run` (or nothing) in the synchronous slot; returns what was there, for {@link leaveSync}. */
export function enterSync(run: ServedCall | undefined): ServedCall | undefined {
  const outer = syncServed
  syncServed = run
  return outer
}

/** Restores the slot {@link enterSync} replaced. */
export function leaveSync(outer: ServedCall | undefined): void {
  syncServed = outer
}

/**
 * Runs `start`, an entry point of cio's that may await before it sends
 * (interceptors, waiting for a connection), so that a call served by the
 * plain handler that called it is still found after those awaits.
 */
export function keepServed<R>(start: () => R): R {
  const run = syncServed
  return run === undefined ? start() : serving.run(run, start)
}
