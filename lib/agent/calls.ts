/**
 * The calling side shared by `AgentServer` and `Agent`: argument checks
 * made before anything is sent, `sendAll`'s bookkeeping, and the sends
 * that wait for a handshake under way.
 */
import { CioError, codes, describeError } from '../errors.js'
import { RESERVED_PREFIX } from './protocol.js'
import { checkAction, checkTimeout } from '../rpc/validate.js'
import type { RpcPeer } from '../rpc/peer.js'
import type { CallOptions } from '../rpc/types.js'
import { inheritedCall, timeLeft } from '../rpc/serving.js'

/** What `send`, `sendTo`, `sendAll` and `sendAllSettled` take after the message: a timeout in ms, or call options. */
export type SendOptions = number | CallOptions

/**
 * The call options of a send: a bare number is the timeout (the form
 * websocket-agent code uses); an object passes as it is.
 * @throws CioError `INVALID_ARGUMENT` for anything else.
 */
export function toCallOptions(value: unknown, action: unknown): CallOptions | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'number') return { timeout: value }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as CallOptions
  throw new CioError(codes.INVALID_ARGUMENT, `The options of ${JSON.stringify(action)} must be a timeout in ms or { timeout, signal, meta }, got ${value === null ? 'null' : typeof value}.`, { details: { action } })
}

/** One agent's outcome in `sendAllSettled` (and in `SEND_ALL_FAILED`'s `details.results`). */
export type SendOutcome = { ok: true; value: unknown } | { ok: false; error: unknown }

/** Values per agent name, in an object without a prototype: no name can reach `Object.prototype`. */
export type ByAgent<T> = { [name: string]: T }

/**
 * Refuses a call that cannot be made, before anything is sent: `CLOSED`
 * after `close()`, `DRAINING` during `drain()`, `INVALID_ARGUMENT` for an
 * empty or reserved action or a bad timeout.
 */
export function checkCall(action: unknown, timeout: unknown, closed: boolean, owner: string, draining = false): asserts action is string {
  if (draining) throw new CioError(codes.DRAINING, `The ${owner} is draining: it finishes its calls in flight and makes no new ones.`, { details: { action } })
  if (closed) throw new CioError(codes.CLOSED, `The ${owner} is closed.`, { details: { action } })
  checkAction(action, `${owner} call`, RESERVED_PREFIX)
  if (timeout !== undefined) checkTimeout(timeout, action)
}

function succeeded(value: unknown): SendOutcome {
  return { ok: true, value }
}

function failed(error: unknown): SendOutcome {
  return { ok: false, error }
}

/** Calls every target at once; resolves with each one's outcome, in the targets' order. */
export async function callAll(targets: ReadonlyArray<{ name: string; peer: RpcPeer }>, action: string, message: unknown, options: CallOptions | undefined): Promise<ByAgent<SendOutcome>> {
  const outcomes = await Promise.all(targets.map((target) => target.peer.call(action, message, options).then(succeeded, failed)))
  const results: ByAgent<SendOutcome> = Object.create(null)
  targets.forEach((target, index) => (results[target.name] = outcomes[index] as SendOutcome))
  return results
}

/** `sendAll`'s answer: the values by name, or `SEND_ALL_FAILED` telling each agent's outcome. */
export function allOrFailure(results: ByAgent<SendOutcome>, action: string): ByAgent<unknown> {
  const values: ByAgent<unknown> = Object.create(null)
  const failures: string[] = []
  const names = Object.keys(results)
  for (const name of names) {
    const outcome = results[name] as SendOutcome
    if (outcome.ok) values[name] = outcome.value
    else failures.push(`${name} (${String((outcome.error as { code?: unknown } | null)?.code ?? describeError(outcome.error))})`)
  }
  if (failures.length === 0) return values
  throw new CioError(codes.SEND_ALL_FAILED, `${failures.length} of ${names.length} agents failed ${JSON.stringify(action)}: ${failures.slice(0, 10).join(', ')}${failures.length > 10 ? ', ...' : ''}.`, {
    details: { action, results },
  })
}

interface Waiter {
  resolve(): void
  reject(error: CioError): void
  timer: NodeJS.Timeout | undefined
  /** Removes the waiter's abort listener, if it has one. */
  forget: (() => void) | undefined
}

/** How a wait for the connection may end besides the connection: `limit` ms passing, `signal` aborting. */
export interface WaitBounds {
  limit: number
  signal?: AbortSignal | undefined
  /** The limit is the served call's time left: its passing is `DEADLINE_EXCEEDED`, not `TIMEOUT`. */
  served?: boolean
}

/** Sends waiting for a handshake under way: all released together when it ends. */
export class Waiters {
  /** Made by the first wait: most agents never wait, and an empty Set still costs ~150 bytes. */
  #waiting: Set<Waiter> | undefined = undefined

  /**
   * Resolves when {@link settle} is called without an error; rejects with
   * `TIMEOUT` (or `DEADLINE_EXCEEDED`, see {@link WaitBounds}) after the
   * limit, with `ABORTED` when the signal aborts.
   */
  wait(bounds: WaitBounds, action: string): Promise<void> {
    const { limit, signal } = bounds
    if (signal?.aborted === true) return Promise.reject(new CioError(codes.ABORTED, `send ${JSON.stringify(action)} was aborted before it was sent`, { cause: signal.reason, details: { action } }))
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined, forget: undefined }
      const give = (error: CioError): void => {
        clearTimeout(waiter.timer)
        waiter.forget?.()
        this.#waiting?.delete(waiter)
        reject(error)
      }
      waiter.timer = setTimeout(() => give(bounds.served === true
        ? new CioError(codes.DEADLINE_EXCEEDED, `send ${JSON.stringify(action)}: the call being served ran out of time while the agent waited for its connection.`, { details: { action } })
        : new CioError(codes.TIMEOUT, `send ${JSON.stringify(action)} timed out after ${limit} ms waiting for the connection to the server.`, { details: { action } })), limit)
      if (signal !== undefined) {
        const onAbort = (): void => give(new CioError(codes.ABORTED, `send ${JSON.stringify(action)} was aborted while waiting for the connection`, { cause: signal.reason, details: { action } }))
        signal.addEventListener('abort', onAbort, { once: true })
        waiter.forget = () => signal.removeEventListener('abort', onAbort)
      }
      ;(this.#waiting ??= new Set()).add(waiter)
    })
  }

  /** Releases every waiting send: to go on (no error), or failing with `error`. */
  settle(error?: CioError): void {
    const waiting = this.#waiting
    if (waiting === undefined) return
    this.#waiting = undefined
    for (const waiter of waiting) {
      clearTimeout(waiter.timer)
      waiter.forget?.()
      if (error === undefined) waiter.resolve()
      else waiter.reject(error)
    }
  }
}

/**
 * The timeout a call through another cluster node carries: its own (or
 * `fallback`), cut to what the call being served has left. That route has
 * no cancel message, so the deadline is what travels.
 * @throws CioError `DEADLINE_EXCEEDED` when the served call has no time left.
 */
export function clusterTimeout(options: CallOptions | undefined, fallback: number, action: string): number {
  const timeout = options?.timeout ?? fallback
  const served = inheritedCall(options?.inheritDeadline)
  return served === undefined ? timeout : Math.min(timeout, Math.ceil(timeLeft(served, action)))
}
