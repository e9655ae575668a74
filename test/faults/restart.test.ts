import { join } from 'node:path'
import t from 'tap'
import { Child, type ChildEvent } from './children.js'
import { spread } from './stats.js'

const SECRET = 'restart test shared secret'
const AGENTS = Number(process.env.FAULT_AGENTS ?? 500)
const CHILDREN = 2
/** Longest wait for any one step; a hang fails the test instead of stalling it. */
const STEP_MS = 60_000

const known = new Set(['ok', 'DISCONNECTED', 'OFFLINE'])

t.test(`faults - ${AGENTS} agents in ${CHILDREN} processes survive a SIGKILLed server restarted on its port with its FileStore`, async (t) => {
  const store = join(t.testdir(), 'server.json')
  const first = new Child('agent-server', { secret: SECRET, store, heartbeatInterval: 1000 }, t.teardown.bind(t))
  const { port } = (await first.wait('listening', STEP_MS)) as ChildEvent & { port: number }

  const per = Math.ceil(AGENTS / CHILDREN)
  const fleets = Array.from({ length: CHILDREN }, (_, k) => {
    const count = Math.min(per, AGENTS - k * per)
    return new Child('agents', { port, secret: SECRET, count, offset: k * per, heartbeatInterval: 1000, reconnect: { initialDelay: 100, maxDelay: 1000 }, trace: process.env.FAULT_TRACE !== undefined }, t.teardown.bind(t))
  })
  const before = new Map<number, string>()
  for (const fleet of fleets) {
    await fleet.wait('allReady', STEP_MS)
    for (const e of fleet.events.filter((e) => e.event === 'ready')) before.set(e.i as number, e.name as string)
  }
  t.equal(before.size, AGENTS, 'every agent connected')
  t.equal(new Set(before.values()).size, AGENTS, 'under distinct names')

  // Calls in flight at the kill: a hook that answers after 30 s, far beyond the test.
  for (const fleet of fleets) await fleet.ask({ cmd: 'load', action: 'slow', message: { ms: 30_000 }, timeout: 120_000 }, 'loadStarted', STEP_MS)
  first.kill('SIGKILL')
  const killedAt = Date.now()
  t.equal((await first.exited).signal, 'SIGKILL', 'the server was killed')

  for (const fleet of fleets) {
    const done = await fleet.ask({ cmd: 'stopLoad' }, 'loadDone', STEP_MS)
    t.same(done.outcomes, { DISCONNECTED: done.started }, `${fleet.name}: every call in flight was rejected with DISCONNECTED, none hung`)
  }

  // Calls keep being made while the server is down and while it comes back.
  for (const fleet of fleets) await fleet.ask({ cmd: 'load', action: 'echo', message: 'still there?', timeout: 60_000, every: 200 }, 'loadStarted', STEP_MS)
  const second = new Child('agent-server', { secret: SECRET, store, port, heartbeatInterval: 1000 }, t.teardown.bind(t))
  const up = (await second.wait('listening', STEP_MS)) as ChildEvent & { t: number }
  t.equal(up.port, port, 'restarted on the same port')

  const after = new Map<number, string>()
  const reconnectAt: number[] = []
  const downFor: number[] = []
  for (const fleet of fleets) {
    await fleet.wait('allBack', STEP_MS)
    const lost = new Map(fleet.events.filter((e) => e.event === 'disconnected').map((e) => [e.i as number, e.t as number]))
    for (const e of fleet.events.filter((e) => e.event === 'reconnected')) {
      after.set(e.i as number, e.name as string)
      reconnectAt.push((e.t as number) - up.t)
      downFor.push((e.t as number) - (lost.get(e.i as number) ?? killedAt))
    }
  }
  t.equal(after.size, AGENTS, 'every agent came back')
  t.same([...after].filter(([i, name]) => before.get(i) !== name), [], 'each under its own name')
  const stats = await second.ask({ cmd: 'stats', names: true }, 'stats', STEP_MS)
  t.equal(stats.agents, AGENTS, 'the restarted server has them all')
  t.equal(stats.unique, AGENTS, 'no duplicate names')
  t.same(second.events.filter((e) => e.event === 'error').map((e) => e.code), [], 'no DUPLICATE_ID or other error on the server')

  for (const fleet of fleets) {
    const done = await fleet.ask({ cmd: 'stopLoad' }, 'loadDone', STEP_MS)
    const outcomes = done.outcomes as Record<string, number>
    t.same(Object.keys(outcomes).filter((code) => !known.has(code)), [], `${fleet.name}: calls during the outage resolved or failed with OFFLINE/DISCONNECTED (${JSON.stringify(outcomes)})`)
    t.equal(Object.values(outcomes).reduce((a, b) => a + b, 0), done.started, 'every one settled')
    t.same(fleet.events.filter((e) => e.event === 'error').map((e) => e.code), [], `${fleet.name}: no agent reported an error`)
  }

  // The jitter: reconnects spread over time rather than arriving as one burst.
  const buckets = new Set(reconnectAt.map((ms) => Math.floor(ms / 10))).size
  t.ok(buckets > 5, `reconnects spread over ${buckets} distinct 10 ms slots`)
  const delays = fleets.flatMap((fleet) => fleet.events.filter((e) => e.event === 'retry').map((e) => e.delay as number))
  t.comment(`restart: reconnect delays drawn by the backoff: ${spread(delays)} ms over ${delays.length} attempts`)
  if (process.env.FAULT_TRACE !== undefined) {
    const slow = fleets.flatMap((f) => f.events.filter((e) => e.event === 'reconnected' && (e.t as number) - up.t > 3000).map((e) => e.i))
    for (const i of slow.slice(0, 3)) t.comment(JSON.stringify(fleets.flatMap((f) => f.events.filter((e) => e.i === i)).map((e) => ({ ...e, t: (e.t as number) - up.t }))))
  }
  t.comment(`restart: ${AGENTS} agents back ${spread(reconnectAt)} ms after the new server listened; offline for ${spread(downFor)} ms (min/median/max)`)

  await Promise.all([second.stop(), ...fleets.map((fleet) => fleet.stop())])
})
