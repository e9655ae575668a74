/**
 * The measuring method of bench/rpc.ts, unchanged: the same bodies and
 * scenarios, `inFlight` callers each looping `await call(body)` until the
 * deadline, rate = calls / elapsed. (bench/rpc.ts is a script, not a
 * module, so these few lines are repeated here rather than imported.)
 */

export type Call = (body: unknown) => Promise<unknown>

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

/** Calls made and milliseconds spent by `inFlight` callers looping for `ms`. */
export async function measure(call: Call, inFlight: number, body: unknown, ms: number): Promise<{ calls: number; elapsed: number }> {
  let calls = 0
  const start = performance.now()
  const end = start + ms
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await call(body)
      calls++
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return { calls, elapsed: performance.now() - start }
}
