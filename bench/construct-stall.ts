/**
 * bench/construct-stall: how long `new AgentServer()` and `new Agent()`
 * keep the event loop from running, first construction of the process and
 * secret (the handshake key is derived then) and later ones (cached), and
 * the longest event-loop stall from the first construction until the agent
 * is ready (the longest gap between ticks of a 1 ms interval). Each round is a fresh
 * process with a fresh secret; medians and maxima over the rounds. The
 * machine is shared: single numbers are noisy.
 *
 *   node --import tsx bench/construct-stall.ts
 *
 * BENCH_ROUNDS (default 5) sets the number of processes.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import { Agent, AgentServer } from '../lib/agent/index.js'
import { median } from './stats.js'

interface Sample {
  firstServer: number
  firstAgent: number
  laterServer: number
  laterAgent: number
  maxStall: number
}

async function oneProcess(): Promise<Sample> {
  const secret = randomBytes(24).toString('base64')
  let last = performance.now()
  let maxStall = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    maxStall = Math.max(maxStall, now - last)
    last = now
  }, 1)
  await new Promise((resolve) => setTimeout(resolve, 20))
  const timed = <T>(make: () => T): [T, number] => {
    const start = performance.now()
    const value = make()
    return [value, performance.now() - start]
  }
  const [server, firstServer] = timed(() => new AgentServer({ secret, port: 0, host: '127.0.0.1', heartbeatInterval: 0 }))
  const { port } = await server.ready()
  const [agent, firstAgent] = timed(() => new Agent({ host: `tcp://127.0.0.1:${port}`, secret, heartbeatInterval: 0 }))
  await new Promise((resolve) => agent.once('ready', resolve))
  clearInterval(ticker)
  const [server2, laterServer] = timed(() => new AgentServer({ secret, port: 0, host: '127.0.0.1', heartbeatInterval: 0 }))
  const [agent2, laterAgent] = timed(() => new Agent({ host: `tcp://127.0.0.1:${port}`, secret, heartbeatInterval: 0 }))
  await new Promise((resolve) => agent2.once('ready', resolve))
  await Promise.all([agent.close(), agent2.close()])
  await Promise.all([server.close(), server2.close()])
  return { firstServer, firstAgent, laterServer, laterAgent, maxStall }
}

if (process.argv[2] === 'child') {
  process.stdout.write(JSON.stringify(await oneProcess()))
} else {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
  const samples: Sample[] = []
  for (let i = 0; i < rounds; i++) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'child'], { encoding: 'utf8', timeout: 60_000 })
    if (child.status !== 0) throw new Error(`round ${i} failed: ${child.stderr}`)
    samples.push(JSON.parse(child.stdout) as Sample)
  }
  const ms = (n: number): string => `${n.toFixed(1)} ms`
  for (const key of ['firstServer', 'firstAgent', 'laterServer', 'laterAgent', 'maxStall'] as const) {
    const values = samples.map((s) => s[key])
    console.log(`${key.padEnd(12)} median ${ms(median(values)).padStart(9)}  max ${ms(Math.max(...values)).padStart(9)}`)
  }
}
