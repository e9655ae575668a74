/**
 * bench/rpc: cio RPC against the hand-written baseline (`baseline.ts`: same
 * framing and messages, no cio) in the same run, both servers in one child
 * process (`rpc-server.ts`). Scenarios: calls/s with 1 and with 64 calls in
 * flight at ~100-byte bodies, and MB/s of 64 KiB bodies (4 in flight, body
 * bytes counted once per echo). Each round measures both sides in ten
 * alternating slices (ABBA...), so background load hits both alike; the
 * table shows the medians over rounds and the median of per-round ratios.
 *
 * A third side, `cio traced`, measures the cost of one tracing subscriber
 * in the same run: its server runs in a second child process with a
 * subscriber on `cio:handle`, and its client in a third
 * (`rpc-traced-client.ts`) with one on `cio:call`, so that nothing of
 * tracing reaches the processes of the other two sides. Its presence
 * moves the 1-in-flight baseline (measured: 0.78 cio/baseline with it,
 * 0.87-0.92 without, same build): compare cio/baseline across builds
 * with BENCH_TRACED=0 on both.
 *
 *   TS_NODE_TRANSPILE_ONLY=1 node --import @isaacs/ts-node-temp-fork-for-pr-2009/import bench/rpc.ts
 *
 * (that loader is the ts-node that tap installs; any TypeScript loader that
 * passes itself on through `process.execArgv` works the same.)
 *
 * BENCH_ROUNDS (default 5) and BENCH_MS (default 1000, per measurement)
 * tune the length; the default run takes about a minute.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import buildCio from '../lib/index.js'
import { peerOf } from '../lib/rpc/peer.js'
import rpcListeners from '../listeners/rpc.js'
import { BaselineClient } from './baseline.js'
import { measure, scenarios, type Call, type Scenario } from './method.js'
import { median, table } from './stats.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const DURATION_MS = Number(process.env.BENCH_MS ?? 1000)
/** Alternating slices per side and round. */
const SLICES = 10


type Side = 'cio' | 'baseline' | 'traced'
/** BENCH_TRACED=0 leaves the traced side out (for runs compared with an older bench/rpc, which has two sides). */
const TRACED = process.env.BENCH_TRACED !== '0'
const SIDES: readonly Side[] = TRACED ? ['baseline', 'cio', 'traced'] : ['baseline', 'cio']

/**
 * One round: every side's rate, measured in SLICES slices each, in an order
 * that rotates every slice, so that load from elsewhere on the machine falls
 * on all sides alike.
 */
async function round(scenario: Scenario, shift: number): Promise<Record<Side, number>> {
  const totals = { cio: { calls: 0, elapsed: 0 }, baseline: { calls: 0, elapsed: 0 }, traced: { calls: 0, elapsed: 0 } }
  for (let slice = 0; slice < SLICES; slice++) {
    for (let k = 0; k < SIDES.length; k++) {
      const side = SIDES[(k + slice + shift) % SIDES.length] as Side
      const { calls, elapsed } = side === 'traced' ? await measureTraced(scenario, DURATION_MS / SLICES) : await measure(sides[side], scenario.inFlight, scenario.body, DURATION_MS / SLICES)
      totals[side].calls += calls
      totals[side].elapsed += elapsed
    }
  }
  const rate = (side: Side): number => ((totals[side].calls * 1000) / totals[side].elapsed) * scenario.scale
  return { cio: rate('cio'), baseline: rate('baseline'), traced: TRACED ? rate('traced') : Number.NaN }
}

const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./rpc-server.ts', import.meta.url))], {
  stdio: ['pipe', 'pipe', 'inherit'],
})
const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string]
const ports = JSON.parse(line) as { cio: number; baseline: number }
/** The traced side: a server and a client process of its own, both with a subscriber. */
async function startTraced(): Promise<{ measure(scenario: Scenario, ms: number): Promise<{ calls: number; elapsed: number }>; stop(): void }> {
  const server = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./rpc-server.ts', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_TRACE: '1' },
  })
  const [serverLine] = (await once(createInterface({ input: server.stdout }), 'line')) as [string]
  const port = (JSON.parse(serverLine) as { cio: number }).cio
  const client = spawn(process.execPath, [...process.execArgv, fileURLToPath(new URL('./rpc-traced-client.ts', import.meta.url)), String(port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: client.stdout })[Symbol.asyncIterator]()
  if ((await lines.next()).value !== 'ready') throw new Error('the traced client did not start')
  return {
    async measure(scenario, ms) {
      client.stdin.write(`${JSON.stringify({ scenario: scenarios.indexOf(scenario), ms })}\n`)
      const { value } = await lines.next()
      return JSON.parse(value as string) as { calls: number; elapsed: number }
    },
    stop() {
      client.stdin.end()
      server.stdin.end()
    },
  }
}
const traced = TRACED ? await startTraced() : undefined

/** One measurement of the traced side. */
function measureTraced(scenario: Scenario, ms: number): Promise<{ calls: number; elapsed: number }> {
  if (traced === undefined) throw new Error('the traced side is off')
  return traced.measure(scenario, ms)
}
const cio = buildCio()
cio.onClient(rpcListeners)
const cioSocket = cio.client({ port: ports.cio, host: '127.0.0.1', })
const peer = peerOf(cioSocket)
if (peer === undefined) throw new Error('cio/rpc made no peer')
const baseSocket = net.connect({ port: ports.baseline, host: '127.0.0.1' })
const baseline = new BaselineClient(baseSocket)
await Promise.all([once(cioSocket, 'connect'), once(baseSocket, 'connect')])

const sides: Record<'cio' | 'baseline', Call> = {
  cio: (body) => peer.call('echo', body),
  baseline: (body) => baseline.call('echo', body),
}

for (const scenario of scenarios) {
  for (const side of SIDES) {
    if (side === 'traced') await measureTraced(scenario, 300)
    else await measure(sides[side], scenario.inFlight, scenario.body, 300)
  }
}

const results = scenarios.map(() => ({ cio: [] as number[], baseline: [] as number[], traced: [] as number[] }))
for (let index = 0; index < ROUNDS; index++) {
  for (const [s, scenario] of scenarios.entries()) {
    const rates = await round(scenario, index)
    results[s]?.cio.push(rates.cio)
    results[s]?.baseline.push(rates.baseline)
    results[s]?.traced.push(rates.traced)
  }
  process.stderr.write(`round ${index + 1}/${ROUNDS} done\n`)
}

const format = (value: number): string => (value >= 100 ? value.toFixed(0) : value.toFixed(1))
const rows = scenarios.map((scenario, index) => {
  const r = results[index] ?? { cio: [], baseline: [], traced: [] }
  // All sides of a round share its time window, so their ratio cancels
  // most of the machine's drift; its median is the figure to read.
  const ratios = r.cio.map((value, round) => value / (r.baseline[round] ?? value))
  const tracedRatios = r.traced.map((value, round) => value / (r.cio[round] ?? value))
  return [
    scenario.name, scenario.unit, format(median(r.baseline)), format(median(r.cio)), median(ratios).toFixed(2), ratios.map((ratio) => ratio.toFixed(2)).join(' '),
    format(median(r.traced)), median(tracedRatios).toFixed(2),
  ]
})
console.log(`\nbench/rpc: ${ROUNDS} rounds of ${DURATION_MS} ms per side in ${SLICES} interleaved slices, Node ${process.version}\n`)
console.log(table(['scenario', 'unit', 'baseline (median)', 'cio (median)', 'cio / baseline (median of rounds)', 'per-round ratios', 'cio traced (median)', 'traced / cio (median of rounds)'], rows))

cioSocket.destroy()
baseSocket.destroy()
child.stdin.end()
traced?.stop()
