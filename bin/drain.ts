import type { DrainResult } from '../lib/rpc/peer.js'
import type { Output } from './output.js'
import { UsageError } from './usage.js'
import { isValidTimeout } from '../lib/rpc/validate.js'

/** Default `--drain-timeout`: 10 s. */
const DEFAULT_DRAIN_MS = 10_000

/** Reads `--drain-timeout MS` (a whole number of ms above 0). */
export function drainTimeout(value: string | undefined, usage: string): number {
  if (value === undefined) return DEFAULT_DRAIN_MS
  const ms = Number(value)
  if (!Number.isInteger(ms) || !isValidTimeout(ms)) throw new UsageError(`--drain-timeout must be a number of milliseconds above 0, got "${value}"`, usage)
  return ms
}

/** Drains on the way out and reports what became of the calls in flight. */
export async function drainAndReport(target: { drain(options: { timeout: number }): Promise<DrainResult> }, timeout: number, out: Output): Promise<void> {
  out.say(`draining (up to ${timeout} ms)`)
  const result = await target.drain({ timeout })
  out.record({ event: 'drained', ...result }, `drained: ${result.completed} calls completed, ${result.aborted} aborted`)
}
