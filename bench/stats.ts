/** Small helpers shared by the benchmarks: the call loop, medians of rounds, tables. */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Runs `fn` `iterations` times and returns nanoseconds per call. */
export function timePerCall(iterations: number, fn: () => void): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) fn()
  return Number(process.hrtime.bigint() - start) / iterations
}

/** Prints rows as a markdown table. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n')
}

/** A call under test: sends `body`, resolves with the answer. */
export type BenchCall = (body: unknown) => Promise<unknown>

/** Calls made and milliseconds spent by `inFlight` callers each looping on `call` for `ms`. */
export async function measure(call: BenchCall, inFlight: number, body: unknown, ms: number): Promise<{ calls: number; elapsed: number }> {
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
