/**
 * bench/builds: two or more builds of cio against each other in the same
 * run, for a change on the hot path ("what did it cost?"). Each build is a
 * checkout with `npm run build` done (its `dist/`); the first is the
 * baseline. Per build, an RPC echo server and a client calling it run in
 * child processes of their own (`builds-peer.ts`), so builds never share a
 * process (an async hook one turns on would tax the other).
 *
 * Reported per build: calls/s, and CPU microseconds per call of the server
 * process and of the client process (`process.cpuUsage`). CPU per call is
 * the figure to read on a shared machine: it moves far less with load from
 * elsewhere than calls/s does. Every round starts fresh processes (V8 does
 * not compile the same code the same way in every process), and measures
 * the builds in alternating slices; the table shows medians of per-round
 * ratios against the baseline. Giving the same build twice shows the noise.
 *
 *   git worktree add /tmp/before <commit> && (cd /tmp/before && npm ci)
 *   npx tsx bench/builds.ts before=/tmp/before now=.
 *
 * BENCH_ROUNDS (default 7), BENCH_MS (default 1500 per build and round),
 * BENCH_IN_FLIGHT (default 64), BENCH_ASYNC=1 (the echo handler is an
 * async function).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { median, table } from './stats.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const DURATION_MS = Number(process.env.BENCH_MS ?? 1500)
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 64)
const SLICES = 10
const PEER = fileURLToPath(new URL('./builds-peer.ts', import.meta.url))

interface Build {
  name: string
  root: string
}

interface Slice {
  calls: number
  elapsed: number
  clientCpu: number
  serverCpu: number
}

/** One build's server and client processes, driven line by line. */
class Pair {
  readonly #server: ChildProcess
  readonly #client: ChildProcess
  readonly #serverLines: AsyncIterator<string>
  readonly #clientLines: AsyncIterator<string>

  private constructor(server: ChildProcess, client: ChildProcess, serverLines: AsyncIterator<string>, clientLines: AsyncIterator<string>) {
    this.#server = server
    this.#client = client
    this.#serverLines = serverLines
    this.#clientLines = clientLines
  }

  static async start(build: Build): Promise<Pair> {
    const server = spawn(process.execPath, [...process.execArgv, PEER, 'server', build.root], { stdio: ['pipe', 'pipe', 'inherit'] })
    const serverLines = createInterface({ input: server.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
    const port = (await serverLines.next()).value as string
    const client = spawn(process.execPath, [...process.execArgv, PEER, 'client', build.root, port], { stdio: ['pipe', 'pipe', 'inherit'] })
    const clientLines = createInterface({ input: client.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]()
    if ((await clientLines.next()).value !== 'ready') throw new Error(`the client of ${build.name} did not start`)
    return new Pair(server, client, serverLines, clientLines)
  }

  async #ask(child: ChildProcess, lines: AsyncIterator<string>, line: string): Promise<string> {
    child.stdin?.write(`${line}\n`)
    const { value, done } = await lines.next()
    if (done === true) throw new Error('a bench process ended early')
    return value
  }

  async measure(ms: number): Promise<Slice> {
    const before = Number(await this.#ask(this.#server, this.#serverLines, 'cpu'))
    const run = JSON.parse(await this.#ask(this.#client, this.#clientLines, JSON.stringify({ inFlight: IN_FLIGHT, ms }))) as Omit<Slice, 'serverCpu'>
    const after = Number(await this.#ask(this.#server, this.#serverLines, 'cpu'))
    return { ...run, serverCpu: after - before }
  }

  stop(): void {
    this.#client.stdin?.end()
    this.#server.stdin?.end()
  }
}

const builds: Build[] = process.argv.slice(2).map((arg) => {
  const [name, root] = arg.split('=')
  if (name === undefined || root === undefined || name === '' || root === '') throw new Error(`expected name=checkout, got ${arg}`)
  return { name, root: resolve(root) }
})
if (builds.length < 2) throw new Error('usage: npx tsx bench/builds.ts before=/path/to/checkout now=. [more=...]')

const rates = builds.map(() => [] as number[])
const serverCpu = builds.map(() => [] as number[])
const clientCpu = builds.map(() => [] as number[])
for (let round = 0; round < ROUNDS; round++) {
  const pairs: Pair[] = []
  for (const build of builds) pairs.push(await Pair.start(build))
  for (const pair of pairs) await pair.measure(500)
  const totals = builds.map(() => ({ calls: 0, elapsed: 0, clientCpu: 0, serverCpu: 0 }))
  for (let slice = 0; slice < SLICES; slice++) {
    for (let k = 0; k < builds.length; k++) {
      const index = (k + slice + round) % builds.length
      const got = await (pairs[index] as Pair).measure(DURATION_MS / SLICES)
      const total = totals[index] as Slice
      total.calls += got.calls
      total.elapsed += got.elapsed
      total.clientCpu += got.clientCpu
      total.serverCpu += got.serverCpu
    }
  }
  for (const pair of pairs) pair.stop()
  totals.forEach((total, index) => {
    rates[index]?.push((total.calls * 1000) / total.elapsed)
    serverCpu[index]?.push(total.serverCpu / total.calls)
    clientCpu[index]?.push(total.clientCpu / total.calls)
  })
  process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`)
}

/** Median over rounds of `values[index] / values[0]`, with the per-round ratios. */
function against(values: number[][], index: number): [string, string] {
  const ratios = (values[index] as number[]).map((value, round) => value / ((values[0] as number[])[round] as number))
  return [median(ratios).toFixed(3), ratios.map((ratio) => ratio.toFixed(2)).join(' ')]
}

console.log(`\nbench/builds: ${ROUNDS} rounds, ${IN_FLIGHT} in flight, ${DURATION_MS} ms per build and round in ${SLICES} slices, ${process.env.BENCH_ASYNC === '1' ? 'async' : 'plain'} echo handler, Node ${process.version}\n`)
console.log(table(
  ['build', 'calls/s (median)', 'calls/s ÷ first', 'server µs/call', 'server ÷ first', 'per round', 'client µs/call', 'client ÷ first'],
  builds.map((build, index) => {
    const [rate] = against(rates, index)
    const [server, serverRounds] = against(serverCpu, index)
    const [client] = against(clientCpu, index)
    return [build.name, median(rates[index] as number[]).toFixed(0), rate, median(serverCpu[index] as number[]).toFixed(2), server, serverRounds, median(clientCpu[index] as number[]).toFixed(2), client]
  }),
))
