/**
 * bench/order: what ordering and running chains cost.
 *
 * 1. `order()` on 200 listeners carrying a mix of before/after constraints
 *    (about two per listener, a few of them `'*'`), in microseconds per call.
 * 2. One `chain.run()` of 18 trivial listeners, with a fresh context per run
 *    as cio gives every connection, in nanoseconds per run.
 *
 * Each figure is the median of ROUNDS timed rounds of many iterations, after
 * one untimed warm-up round. Constraints come from a seeded generator, so
 * every run of the benchmark sorts the same input.
 *
 *   TS_NODE_TRANSPILE_ONLY=1 node --loader @isaacs/ts-node-temp-fork-for-pr-2009/esm bench/order.ts
 */
import { Chain, type Listener } from '../lib/chain/chain.js'
import { order } from '../lib/chain/order.js'

const ROUNDS = 7
const ORDER_ITERATIONS = 2_000
const RUN_ITERATIONS = 200_000
const LISTENERS = 200
const CHAIN_LENGTH = 18

interface BenchContext {
  count: number
}

/** mulberry32: small, fast and seeded, so the constraints never change. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let r = Math.imul(a ^ (a >>> 15), 1 | a)
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Listeners whose constraints all agree with one hidden order, so they can
 * be sorted: a pair is written as "earlier before later" or "later after
 * earlier". The first few go before '*' and the last few after '*', which the
 * hidden order puts at its two ends so that they contradict nothing.
 */
function constrainedListeners(count: number, seed: number): { listeners: Listener<BenchContext>[]; constraints: number } {
  const next = random(seed)
  const rank = Array.from({ length: count }, (_, i) => i)
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1))
    ;[rank[i], rank[j]] = [rank[j] as number, rank[i] as number]
  }
  const position = new Array<number>(count)
  rank.forEach((r, i) => { position[r] = i })
  const starred = 4
  const options = Array.from({ length: count }, (_, i) => ({ id: `listener/${i}`, before: [] as string[], after: [] as string[] }))
  let constraints = 0
  for (let r = 0; r < starred; r++) { options[position[r] as number]?.before.push('*'); constraints++ }
  for (let r = count - starred; r < count; r++) { options[position[r] as number]?.after.push('*'); constraints++ }
  for (let k = 0; k < count * 2; k++) {
    // pick two ranks in the unstarred middle, so no constraint fights a '*'
    const a = starred + Math.floor(next() * (count - 2 * starred))
    const b = starred + Math.floor(next() * (count - 2 * starred))
    if (a === b) continue
    const [early, late] = a < b ? [position[a] as number, position[b] as number] : [position[b] as number, position[a] as number]
    if (next() < 0.5) options[early]?.before.push(`listener/${late}`)
    else options[late]?.after.push(`listener/${early}`)
    constraints++
  }
  const listeners = options.map((o) => {
    const fn: Listener<BenchContext> = () => {}
    fn.options = o
    return fn
  })
  return { listeners, constraints }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** Nanoseconds per call of `fn`, median of ROUNDS rounds of `iterations` calls, after one warm-up round. */
function measure(iterations: number, fn: () => void): number {
  const rounds: number[] = []
  for (let round = -1; round < ROUNDS; round++) {
    const start = process.hrtime.bigint()
    for (let i = 0; i < iterations; i++) fn()
    const ns = Number(process.hrtime.bigint() - start) / iterations
    if (round >= 0) rounds.push(ns)
  }
  return median(rounds)
}

let sink = 0 // results feed this so that no call can be optimised away

const { listeners, constraints } = constrainedListeners(LISTENERS, 0xc10)
const sorted = order(listeners)
if (sorted.length !== LISTENERS) throw new Error('order() lost listeners')
const orderNs = measure(ORDER_ITERATIONS, () => { sink += order(listeners).length })

const trivial: Listener<BenchContext> = (_control, context) => { context.count++ }
const chain = new Chain<BenchContext>(Array.from({ length: CHAIN_LENGTH }, () => trivial))
if (chain.run({ context: { count: 0 } }).context.count !== CHAIN_LENGTH) throw new Error('chain.run() skipped listeners')
const runNs = measure(RUN_ITERATIONS, () => { sink += chain.run({ context: { count: 0 } }).context.count })

console.log(`bench/order on node ${process.version}, median of ${ROUNDS} rounds`)
console.log(`order(): ${LISTENERS} listeners, ${constraints} constraints: ${(orderNs / 1000).toFixed(1)} µs per order() (${ORDER_ITERATIONS} per round)`)
console.log(`chain.run(): ${CHAIN_LENGTH} trivial listeners: ${runNs.toFixed(0)} ns per run, ${(runNs / CHAIN_LENGTH).toFixed(1)} ns per listener (${RUN_ITERATIONS} per round)`)
if (sink === 0) console.log('(unreachable)')
