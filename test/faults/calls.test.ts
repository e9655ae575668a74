import { once } from 'node:events'
import type { Socket } from 'node:net'
import v8 from 'node:v8'
import vm from 'node:vm'
import t from 'tap'
import { Agent, AgentServer } from '../../lib/agent/index.js'
import { buildCio } from '../../lib/core/builder.js'
import type { Listener } from '../../lib/chain/types.js'
import type { ClientContext } from '../../lib/core/types.js'
import { peerOf } from '../../lib/rpc/peer.js'
import { seeded } from '../helpers/random.js'

const SECRET = 'calls test shared secret'
const CALLS = Number(process.env.FAULT_CALLS ?? 100_000)
const AGENTS = 8
/** Calls in flight at once. */
const WINDOW = 256
const WAIT_MS = 30_000

// A real gc() in this tap child, to compare heaps settled rather than by luck.
v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
const heapAfterGc = (): number => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** Ends any call may have when its connection is cut: at once, with a code. */
const CUT = ['DISCONNECTED', 'OFFLINE', 'AGENT_NOT_CONNECTED']
/**
 * How each action's calls may end; anything else fails the test. Only
 * `hang` may time out: a TIMEOUT on any other is a call cio lost.
 */
const EXPECTED: Record<string, Set<string>> = {
  echo: new Set(['ok', ...CUT]),
  hang: new Set(['TIMEOUT', ...CUT]),
  throw: new Set(['user error', ...CUT]),
  fail: new Set(['INTERNAL_ERROR', ...CUT]),
  nope: new Set(['UNKNOWN_ACTION', ...CUT]),
}

t.test(`faults - ${CALLS} calls mixing successes, timeouts and disconnects leave nothing behind`, async (t) => {
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => {
    warnings.push(warning)
  }
  process.on('warning', onWarning)
  t.teardown(() => {
    process.off('warning', onWarning)
  })
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', heartbeatInterval: 50, noRelisten: true })
  t.teardown(() => server.close())
  const hooks = {
    echo: (message: unknown) => message,
    hang: () => new Promise(() => {}),
    throw: (message: unknown) => {
      throw { code: 'E_USER', message }
    },
    fail: () => {
      throw new Error('broken')
    },
  }
  server.onHook(hooks)
  const { port } = await server.ready()

  // One cio for the agents, with a listener that keeps every client socket: their peers' pending maps are checked at the end.
  const clientSockets = new Set<Socket>()
  const keep: Listener<ClientContext> = function keep(_control, context) {
    if (context.client !== undefined) clientSockets.add(context.client)
  }
  keep.options = { id: 'test/keep-sockets', after: ['cio/rpc'] }
  const cio = buildCio()
  cio.onClient(keep)
  const agents = Array.from({ length: AGENTS }, () => new Agent({ host: `127.0.0.1:${port}`, secret: SECRET, cio, heartbeatInterval: 50, reconnect: { initialDelay: 5, maxDelay: 40 } }))
  t.teardown(() => Promise.all(agents.map((agent) => agent.close())))
  const names = await Promise.all(agents.map(async (agent) => {
    agent.onHook(hooks)
    return ((await once(agent, 'ready')) as [string])[0]
  }))

  const random = seeded(0xca11)
  const outcomes = new Map<string, number>()
  const wrong: string[] = []
  let started = 0
  let settled = 0
  let disconnects = 0
  let heapAtWarm = 0
  const count = (action: string, outcome: string): void => {
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
    if (!(EXPECTED[action]?.has(outcome) ?? false)) wrong.push(`a call of ${action} ended with ${outcome}`)
  }
  const one = async (i: number): Promise<void> => {
    const k = random.int(0, AGENTS - 1)
    const agent = agents[k] as Agent
    const roll = random.next()
    const [action, timeout] = roll < 0.7 ? ['echo', 5000] : roll < 0.8 ? ['hang', random.int(1, 20)] : roll < 0.87 ? ['throw', 5000] : roll < 0.93 ? ['fail', 5000] : ['nope', 5000]
    const message = { i, pad: 'x'.repeat(random.int(0, 200)) }
    started++
    try {
      const result = random.next() < 0.5 ? await agent.send(action as string, message, timeout as number) : await server.sendTo(names[k] as string, action as string, message, timeout as number)
      if ((result as { i?: number }).i !== i) wrong.push(`call ${i} (${String(action)}) resolved with ${JSON.stringify(result)}`)
      count(action as string, 'ok')
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code
      count(action as string, code === 'E_USER' ? 'user error' : typeof code === 'string' ? code : `uncoded: ${String(error)}`)
    } finally {
      settled++
    }
  }
  let next = 0
  await Promise.all(Array.from({ length: WINDOW }, async () => {
    while (next < CALLS) {
      const i = next++
      // Every 1,000 calls, one agent's connection is cut from one side or the other, calls in flight and all.
      if (i % 1000 === 999) {
        const victim = server.getAgents()[random.int(0, AGENTS - 1)]
        if (victim !== undefined) {
          disconnects++
          if (random.next() < 0.5) victim.socket.destroy()
          else for (const socket of clientSockets) if (socket.remotePort === victim.socket.localPort && socket.localPort === victim.socket.remotePort) socket.destroy()
        }
      }
      if (i === 10_000) heapAtWarm = heapAfterGc()
      await one(i)
    }
  }))
  t.equal(settled, started, `all ${started} calls settled`)
  t.same(wrong.slice(0, 20), [], 'every call ended as its action allows: the right answer, its own code, or a code saying the connection was cut')
  for (const key of ['ok', 'TIMEOUT', 'DISCONNECTED', 'user error', 'UNKNOWN_ACTION', 'INTERNAL_ERROR']) t.ok((outcomes.get(key) ?? 0) > 0, `${key} happened (${outcomes.get(key) ?? 0})`)

  // Back to rest: every agent connected again, and no table holds anything.
  const deadline = Date.now() + WAIT_MS
  while (server.getAgents().length < AGENTS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(server.getAgents().length, AGENTS, 'every agent is connected again')
  const serverPending = server.getAgents().reduce((sum, record) => sum + (peerOf(record.socket)?.pendingCalls ?? 0), 0)
  const agentPending = [...clientSockets].reduce((sum, socket) => sum + (peerOf(socket)?.pendingCalls ?? 0), 0)
  t.equal(serverPending, 0, "no call left in the server's pending tables")
  t.equal(agentPending, 0, `none in the agents' either (${clientSockets.size} connections made)`)
  t.same(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map(String), [], 'no listener-leak warning')
  const heapAtEnd = heapAfterGc()
  const grown = (heapAtEnd - heapAtWarm) / 1048576
  // Not a timing threshold: a leak of even 100 bytes per call would be 10 MB here.
  t.ok(grown < 8, `the heap came back near where it was after warm-up (${grown.toFixed(1)} MB difference)`)
  t.comment(`calls: ${JSON.stringify(Object.fromEntries(outcomes))}, ${disconnects} disconnects, ${clientSockets.size} agent connections, heap ${(heapAtWarm / 1048576).toFixed(1)} -> ${(heapAtEnd / 1048576).toFixed(1)} MB`)
})
