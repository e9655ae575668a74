import t from 'tap'
import { backoffDelay, DEFAULT_BACKOFF, resolveBackoff } from '../../lib/agent/backoff.js'
import { codes } from '../../lib/errors.js'

// mulberry32: a tiny seeded generator, so runs are repeatable.
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

t.test('backoff - defaults are 100 ms, doubling, capped at 5 s', async (t) => {
  t.same(DEFAULT_BACKOFF, { initialDelay: 100, factor: 2, maxDelay: 5000 })
  t.same(resolveBackoff(), DEFAULT_BACKOFF)
  t.same(resolveBackoff({ maxDelay: undefined, factor: 3 }), { initialDelay: 100, factor: 3, maxDelay: 5000 })
})

t.test('backoff - equal jitter lies between half the ceiling and the ceiling', async (t) => {
  const min = (attempt: number): number => backoffDelay(attempt, DEFAULT_BACKOFF, () => 0)
  const max = (attempt: number): number => backoffDelay(attempt, DEFAULT_BACKOFF, () => 0.999999)
  t.same([1, 2, 3, 4].map(min), [50, 100, 200, 400])
  t.same([1, 2, 3, 4].map(max), [99, 199, 399, 799])
  t.equal(backoffDelay(1, DEFAULT_BACKOFF, () => 0.5), 75)
})

t.test('backoff - capped at maxDelay however many attempts', async (t) => {
  t.equal(backoffDelay(7, DEFAULT_BACKOFF, () => 0), 2500)
  t.equal(backoffDelay(100, DEFAULT_BACKOFF, () => 0.999999), 4999)
  t.equal(backoffDelay(100_000, DEFAULT_BACKOFF, () => 0), 2500, 'no overflow to Infinity or NaN')
})

t.test('backoff - seeded runs are repeatable and spread agents apart', async (t) => {
  const run = (seed: number): number[] => {
    const random = seeded(seed)
    return Array.from({ length: 10 }, (_, i) => backoffDelay(i + 1, DEFAULT_BACKOFF, random))
  }
  t.same(run(1), run(1))
  t.notSame(run(1), run(2))
  const random = seeded(42)
  const herd = Array.from({ length: 1000 }, () => backoffDelay(8, DEFAULT_BACKOFF, random))
  t.ok(new Set(herd).size > 500, `1000 agents got ${new Set(herd).size} distinct delays`)
  t.ok(Math.min(...herd) >= 2500 && Math.max(...herd) < 5000, 'all within [2500, 5000)')
})

t.test('backoff - a random source out of range counts as 0', async (t) => {
  for (const r of [NaN, -1, 1, 7]) t.equal(backoffDelay(2, DEFAULT_BACKOFF, () => r), 100, String(r))
})

t.test('backoff - custom settings', async (t) => {
  const options = resolveBackoff({ initialDelay: 10, factor: 3, maxDelay: 100 })
  t.same([1, 2, 3, 4].map((n) => backoffDelay(n, options, () => 0)), [5, 15, 45, 50])
  t.equal(backoffDelay(1, resolveBackoff({ initialDelay: 0, maxDelay: 0 }), () => 0.5), 0)
})

t.test('backoff - bad settings are INVALID_OPTION naming the option', async (t) => {
  t.throws(() => resolveBackoff({ initialDelay: -1 }), { code: codes.INVALID_OPTION, details: { option: 'initialDelay' } })
  t.throws(() => resolveBackoff({ factor: 0.5 }, 'reconnect.'), { code: codes.INVALID_OPTION, details: { option: 'reconnect.factor' } })
  t.throws(() => resolveBackoff({ maxDelay: Infinity }), { code: codes.INVALID_OPTION, details: { option: 'maxDelay' } })
  // @ts-expect-error - a JavaScript caller may pass a string
  t.throws(() => resolveBackoff({ maxDelay: '5000' }), { code: codes.INVALID_OPTION })
  t.throws(() => resolveBackoff({ initialDelay: 200, maxDelay: 100 }), {
    code: codes.INVALID_OPTION,
    message: /"maxDelay" option \(100\) must not be below "initialDelay" \(200\)/,
    details: { option: 'maxDelay', conflictsWith: 'initialDelay' },
  })
})

t.test('backoff - the attempt must be a positive integer', async (t) => {
  for (const attempt of [0, -1, 1.5, NaN]) {
    t.throws(() => backoffDelay(attempt), { code: codes.INVALID_ARGUMENT }, String(attempt))
  }
  const delay = backoffDelay(1)
  t.ok(delay >= 50 && delay < 100, 'Math.random by default')
})
