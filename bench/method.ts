/**
 * The measuring method shared by bench/rpc.ts, bench/agent.ts and
 * bench/peers: the same bodies and scenarios everywhere, `inFlight` callers
 * each looping `await call(body)` until the deadline (see `measure` in
 * stats.ts), rate = calls / elapsed.
 */

export { measure, type BenchCall as Call } from './stats.js'

export interface Scenario {
  id: string
  name: string
  unit: string
  inFlight: number
  body: unknown
  /** Converts calls per second into the scenario's unit. */
  scale: number
}

export const small = { text: 'x'.repeat(72), n: 12345, ok: true }
export const large = 'y'.repeat(64 * 1024 - 2)

export const scenarios: readonly Scenario[] = [
  { id: 'one', name: '1 in flight, ~100 B', unit: 'calls/s', inFlight: 1, body: small, scale: 1 },
  { id: 'many', name: '64 in flight, ~100 B', unit: 'calls/s', inFlight: 64, body: small, scale: 1 },
  { id: 'large', name: '64 KiB bodies, 4 in flight', unit: 'MB/s', inFlight: 4, body: large, scale: (64 * 1024) / 1e6 },
]

