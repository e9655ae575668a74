/**
 * `npm run fuzz`: the fuzzers of `test/fuzz` at full size, a million cases
 * by default: the frame decoder in-process, RPC messages into a live cio
 * server over loopback sockets, and handshake messages into a live
 * AgentServer. Prints cases/s, outcomes by code and peak memory; exits 1
 * if any case failed, anything escaped as an uncaught exception, or the
 * heap did not come back near where it started.
 *
 *   node --expose-gc --import tsx bench/fuzz.ts        (what npm run fuzz runs)
 *   FUZZ_CASES=200000 FUZZ_SEED=7 npm run fuzz        (another size or seed)
 *
 * Every failure names the seed of its case; `FUZZ_SEED` plus the case's
 * offset replays it in the tap tests.
 */
import { fuzzBudget } from '../test/fuzz/budget.js'
import { fuzzDecoder, type DecoderReport } from '../test/fuzz/decoder-fuzz.js'
import { fuzzRpc, startRpcTarget } from '../test/fuzz/rpc-fuzz.js'
import { fuzzHandshake, startHandshakeTarget } from '../test/fuzz/handshake-fuzz.js'

const budget = fuzzBudget({ ...process.env, FUZZ_CASES: process.env.FUZZ_CASES ?? '1000000' })
const gc = (globalThis as { gc?: () => void }).gc
const uncaught: unknown[] = []
process.on('uncaughtException', (error) => uncaught.push(error))
process.on('unhandledRejection', (error) => uncaught.push(error))

let peakRss = 0
let peakHeap = 0
const sample = (): void => {
  const { rss, heapUsed } = process.memoryUsage()
  peakRss = Math.max(peakRss, rss)
  peakHeap = Math.max(peakHeap, heapUsed)
}
const sampler = setInterval(sample, 250)
sampler.unref()

const settledHeap = (): number => {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed
}
const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`
const rate = (cases: number, ms: number): string => `${Math.round((cases * 1000) / ms).toLocaleString('en-US')}/s`
const progress = (name: string, done: number, total: number): void => {
  if (process.stderr.isTTY) process.stderr.write(`\r${name}: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')}   `)
}

const failures: string[] = []
const startHeap = settledHeap()
console.log(`cio fuzz: ${(budget.decoder + budget.rpc + budget.handshake).toLocaleString('en-US')} cases, seed ${budget.seed}, Node ${process.version}${gc === undefined ? ' (no --expose-gc: heap figures are rough)' : ''}`)

// 1. The frame decoder, in slices so memory is sampled along the way.
{
  const total: DecoderReport = { cases: 0, bytes: 0, frames: 0, errors: {}, clean: 0, peakBuffered: 0, failures: [] }
  const started = performance.now()
  for (let done = 0; done < budget.decoder; ) {
    const cases = Math.min(20_000, budget.decoder - done)
    const r = fuzzDecoder({ seed: budget.seed + done, cases })
    total.cases += r.cases
    total.bytes += r.bytes
    total.frames += r.frames
    total.clean += r.clean
    total.peakBuffered = Math.max(total.peakBuffered, r.peakBuffered)
    for (const [code, n] of Object.entries(r.errors)) total.errors[code] = (total.errors[code] ?? 0) + n
    failures.push(...r.failures.map((f) => `decoder: ${f}`))
    done += cases
    sample()
    progress('decoder', done, budget.decoder)
  }
  const ms = performance.now() - started
  console.log(`\ndecoder   ${total.cases.toLocaleString('en-US')} streams, ${mb(total.bytes)}, ${total.frames.toLocaleString('en-US')} frames decoded in ${(ms / 1000).toFixed(1)} s (${rate(total.cases, ms)})`)
  console.log(`          ended in: ${JSON.stringify({ ...total.errors, clean: total.clean })}; most bytes held: ${total.peakBuffered}`)
}

// 2. RPC messages into a live server over loopback.
{
  const target = await startRpcTarget()
  const started = performance.now()
  const r = await fuzzRpc(target, { seed: budget.seed, cases: budget.rpc, onRound: (done) => (sample(), progress('rpc', done, budget.rpc)) })
  const ms = performance.now() - started
  let pending = 0
  for (const peer of target.serverPeers) pending += peer.pendingCalls
  await target.close()
  failures.push(...r.failures.map((f) => `rpc: ${f}`))
  if (pending !== 0) failures.push(`rpc: ${pending} server-side calls left pending`)
  console.log(`\nrpc       ${r.cases.toLocaleString('en-US')} cases over ${r.connections.toLocaleString('en-US')} connections in ${(ms / 1000).toFixed(1)} s (${rate(r.cases, ms)})`)
  console.log(`          answered: ${r.answered.toLocaleString('en-US')} cases, ${r.replies.toLocaleString('en-US')} replies checked; closed: ${JSON.stringify(r.closed)}; good client: ${r.goodCalls} checks`)
}

// 3. Handshake messages into a live AgentServer.
{
  const target = await startHandshakeTarget()
  const started = performance.now()
  const r = await fuzzHandshake(target, { seed: budget.seed, cases: budget.handshake, onRound: (done) => (sample(), progress('handshake', done, budget.handshake)) })
  const ms = performance.now() - started
  await target.close()
  failures.push(...r.failures.map((f) => `handshake: ${f}`))
  console.log(`\nhandshake ${r.cases.toLocaleString('en-US')} cases in ${(ms / 1000).toFixed(1)} s (${rate(r.cases, ms)})`)
  console.log(`          outcomes: ${JSON.stringify(r.outcomes)}; good agent: ${r.goodCalls} checks`)
}

clearInterval(sampler)
const endHeap = settledHeap()
console.log(`\nmemory    peak RSS ${mb(peakRss)}, peak heap ${mb(peakHeap)}; heap after gc: ${mb(startHeap)} at start, ${mb(endHeap)} at the end`)
// Generous: code loaded and JIT data after a million cases, not a leak per case.
if (gc !== undefined && endHeap - startHeap > 64 * 1048576) failures.push(`the heap grew by ${mb(endHeap - startHeap)} over the run`)
for (const error of uncaught) failures.push(`uncaught: ${String(error)}`)
if (failures.length > 0) {
  console.log(`\nFAILED (${failures.length}):`)
  for (const failure of failures.slice(0, 40)) console.log(`  ${failure}`)
  process.exitCode = 1
} else {
  console.log('\nheld: no throw escaped, every bad input ended in a coded error with its connection closed, good clients were answered throughout')
}
