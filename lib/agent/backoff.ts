/**
 * Reconnect delays: exponential backoff with "equal jitter", capped.
 *
 * The ceiling for attempt n is min(maxDelay, initialDelay * factor^(n-1));
 * the delay is half the ceiling plus a random part of the other half.
 *
 * Why equal jitter and not "full jitter" (a random part of the whole
 * ceiling): full jitter spreads a herd best, but it can draw near-zero
 * delays again and again, so an agent facing a server that is down would
 * sometimes retry in a hot loop. Equal jitter always waits at least half the
 * ceiling, and still spreads agents over the other half, so a thousand
 * agents cut off by a server restart do not all come back in the same
 * millisecond.
 */
import { CioError, codes } from '../errors.js'

/** Reconnect backoff settings. */
export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. @default 100 */
  initialDelay?: number
  /** How much the ceiling grows with each attempt. @default 2 */
  factor?: number
  /** Largest delay, in ms. @default 5000 (websocket-agent's cap) */
  maxDelay?: number
}

/** The default backoff: 100 ms, doubling, capped at 5 s. */
export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = Object.freeze({ initialDelay: 100, factor: 2, maxDelay: 5000 })

/**
 * Fills in defaults and checks the settings. Throws `INVALID_OPTION` naming
 * the option (with `prefix`, e.g. `'reconnect.'`) for a value that is not a
 * finite number in range, or when `maxDelay` is below `initialDelay`.
 */
export function resolveBackoff(options: BackoffOptions = {}, prefix = ''): Required<BackoffOptions> {
  const resolved = { ...DEFAULT_BACKOFF, ...stripUndefined(options) }
  const check = (name: keyof BackoffOptions, min: number, rule: string): void => {
    const value = resolved[name]
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
      throw new CioError(codes.INVALID_OPTION, `The "${prefix}${name}" option must be ${rule}, got ${String(value)}.`, { details: { option: prefix + name } })
    }
  }
  check('initialDelay', 0, 'a number of milliseconds, 0 or more')
  check('factor', 1, 'a number, 1 or more')
  check('maxDelay', 0, 'a number of milliseconds, 0 or more')
  if (resolved.maxDelay < resolved.initialDelay) {
    throw new CioError(codes.INVALID_OPTION, `The "${prefix}maxDelay" option (${resolved.maxDelay}) must not be below "${prefix}initialDelay" (${resolved.initialDelay}).`, {
      details: { option: `${prefix}maxDelay`, conflictsWith: `${prefix}initialDelay` },
    })
  }
  return resolved
}

// `{ maxDelay: undefined }` means "use the default", as everywhere in cio.
function stripUndefined(options: BackoffOptions): BackoffOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
}

/**
 * The delay in whole ms before reconnect attempt `attempt` (1 for the first
 * retry). `random` returns a number in [0, 1) and is injectable so tests can
 * be repeatable; a value outside that range counts as 0. Throws
 * `INVALID_ARGUMENT` when `attempt` is not a positive integer.
 */
export function backoffDelay(attempt: number, options: Required<BackoffOptions> = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  if (!Number.isSafeInteger(attempt) || attempt < 1) {
    throw new CioError(codes.INVALID_ARGUMENT, `A reconnect attempt number must be a positive integer, got ${String(attempt)}.`, { details: { attempt } })
  }
  // factor ** large is Infinity, which Math.min turns into maxDelay: no overflow.
  const ceiling = Math.min(options.maxDelay, options.initialDelay * options.factor ** (attempt - 1))
  const r = random()
  const jitter = r >= 0 && r < 1 ? r : 0
  return Math.floor(ceiling / 2 + jitter * (ceiling / 2))
}
