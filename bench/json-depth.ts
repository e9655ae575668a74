/**
 * bench/json-depth: what the nesting check costs next to the `JSON.parse`
 * it guards, on the payloads cio carries: a ~100-byte request (too short to
 * nest past the limit: not scanned), a 4 KiB object, the 64 KiB string
 * body of bench/rpc, and 64 KiB of small objects. Medians of interleaved
 * rounds; the ratio is (scan + parse) / parse.
 *
 *   npx tsx bench/json-depth.ts
 */
import { exceedsJsonDepth, DEFAULT_MAX_JSON_DEPTH } from '../lib/frame/json-depth.js'
import { median, table } from './stats.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const MS = Number(process.env.BENCH_MS ?? 200)

const payloads: Record<string, Buffer> = {
  'request, ~100 B': Buffer.from(JSON.stringify({ id: 17, action: 'echo', body: { text: 'hello there', n: 42, list: [1, 2, 3] } })),
  'object, 4 KiB': Buffer.from(JSON.stringify({ id: 1, action: 'echo', body: Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`key${i}`, { v: i, s: 'abcdefgh' }])) })),
  'string body, 64 KiB': Buffer.from(JSON.stringify({ id: 1, action: 'echo', body: 'x'.repeat(65536) })),
  'small objects, 64 KiB': Buffer.from(JSON.stringify({ id: 1, action: 'echo', body: Array.from({ length: 2300 }, (_, i) => ({ i, name: `n${i}` })) })),
}

function rate(work: () => void): number {
  let n = 0
  const start = performance.now()
  const end = start + MS
  while (performance.now() < end) {
    work()
    n++
  }
  return n / ((performance.now() - start) / 1000)
}

const rows: string[][] = []
for (const [name, bytes] of Object.entries(payloads)) {
  const parse = (): void => void JSON.parse(bytes.toString('utf8'))
  const checked = (): void => {
    if (exceedsJsonDepth(bytes, DEFAULT_MAX_JSON_DEPTH)) throw new Error('too deep')
    JSON.parse(bytes.toString('utf8'))
  }
  const plain: number[] = []
  const guarded: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      plain.push(rate(parse))
      guarded.push(rate(checked))
    } else {
      guarded.push(rate(checked))
      plain.push(rate(parse))
    }
  }
  const ratios = plain.map((p, i) => p / (guarded[i] as number))
  rows.push([name, String(bytes.length), median(plain).toFixed(0), median(guarded).toFixed(0), median(ratios).toFixed(3)])
}
console.log(`bench/json-depth: ${ROUNDS} interleaved rounds of ${MS} ms, maxJsonDepth ${DEFAULT_MAX_JSON_DEPTH}, Node ${process.version}\n`)
console.log(table(['payload', 'bytes', 'JSON.parse /s', 'scan + parse /s', 'time (scan + parse) / parse'], rows))
