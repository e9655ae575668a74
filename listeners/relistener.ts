import net from 'node:net'
import type { Listener } from '../lib/chain/types.js'
import type { ServerContext } from '../lib/core/types.js'
import { CioError, codes } from '../lib/errors.js'
import type { CioOptions } from '../lib/core/options.js'

/** Defaults of the relisten options. */
export const RELISTEN_DEFAULTS = { retryDelay: 3000, maxRetries: 3 } as const

interface RelistenState {
  args: unknown[]
  attempts: number
  retryDelay: number
  maxRetries: number
  relisten: CioOptions['relisten']
  timer: NodeJS.Timeout | undefined
}

const states = new WeakMap<net.Server, RelistenState>()
const listen = net.Server.prototype.listen
// Typed loosely on purpose: the overloads on net.Server name only Node's own events.
const emit = net.Server.prototype.emit as (this: net.Server, event: string | symbol, ...args: unknown[]) => boolean

function count(options: CioOptions, name: 'retryDelay' | 'maxRetries'): number {
  const value = options[name] ?? RELISTEN_DEFAULTS[name]
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new CioError(codes.INVALID_OPTION, `The "${name}" option must be a whole number of at least 0, got ${String(value)}.`, { details: { option: name } })
  }
  return value
}

/**
 * Remembers the arguments of each `listen()` call so a retry can repeat
 * them. The callback is left out: it is already registered once on
 * `listening` and must not be registered again by a retry. The attempt
 * count is not reset here: a custom `relisten` retries by calling
 * `listen()` itself, and those calls must count towards `maxRetries`.
 */
function rememberingListen(this: net.Server, ...args: unknown[]): net.Server {
  const state = states.get(this)
  if (state !== undefined) state.args = typeof args.at(-1) === 'function' ? args.slice(0, -1) : args
  return (listen as (...a: unknown[]) => net.Server).apply(this, args)
}

function retryListen(server: net.Server): void {
  const state = states.get(server)
  if (state === undefined) return
  state.timer = undefined
  ;(listen as (...a: unknown[]) => net.Server).apply(server, state.args)
}

/**
 * Catches EADDRINUSE before the user's `error` listeners see it: while
 * retries remain the user hears `relisten`, and only when they run out an
 * `error` with `RELISTEN_FAILED`. Every other error is emitted untouched,
 * so it stays exactly as loud as it would have been without cio.
 */
function relistenEmit(this: net.Server, event: string | symbol, ...args: unknown[]): boolean {
  const error = args[0] as NodeJS.ErrnoException | undefined
  const state = states.get(this)
  if (event !== 'error' || state === undefined || error?.code !== 'EADDRINUSE') return emit.call(this, event, ...args)
  state.attempts += 1
  if (state.attempts > state.maxRetries) {
    const tries = state.attempts
    state.attempts = 0
    return emit.call(this, 'error', new CioError(codes.RELISTEN_FAILED, `The address is still in use after ${tries} listen attempts (${state.maxRetries} retries, ${state.retryDelay} ms apart).`, { cause: error, details: { attempts: tries, maxRetries: state.maxRetries, retryDelay: state.retryDelay } }))
  }
  emit.call(this, 'relisten', state.attempts, error)
  if (typeof state.relisten === 'function') state.relisten(this, error, state.attempts)
  else state.timer = setTimeout(retryListen, state.retryDelay, this)
  return true
}

/** Listening at last: a later EADDRINUSE (after close() and listen()) starts a new count. */
function serverOnListening(this: net.Server): void {
  const state = states.get(this)
  if (state !== undefined) state.attempts = 0
}

function serverOnClose(this: net.Server): void {
  const state = states.get(this)
  if (state?.timer !== undefined) {
    clearTimeout(state.timer)
    state.timer = undefined
  }
}

/** Retries `listen()` when the address is in use: `retryDelay`, `maxRetries`, `relisten`, `noRelisten`. */
export const relistener: Listener<ServerContext> = function relistener(_control, context) {
  const { server, options } = context
  if (server === undefined || options.noRelisten === true) return
  const relisten = options.relisten
  if (relisten !== undefined && typeof relisten !== 'function') {
    throw new CioError(codes.INVALID_OPTION, 'The "relisten" option must be a function.', { details: { option: 'relisten' } })
  }
  states.set(server, { args: [], attempts: 0, retryDelay: count(options, 'retryDelay'), maxRetries: count(options, 'maxRetries'), relisten, timer: undefined })
  server.listen = rememberingListen as typeof server.listen
  server.emit = relistenEmit as typeof server.emit
  server.on('listening', serverOnListening)
  server.on('close', serverOnClose)
}
relistener.options = { id: 'cio/relistener', after: ['cio/createServer'] }

export default relistener
