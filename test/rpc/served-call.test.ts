/**
 * Which code counts as serving a call, so that the calls it makes inherit
 * the served call's deadline: all of an async function handler, the
 * synchronous part of any other, across cio's own awaits (interceptors, an
 * agent waiting for its connection), for agent hooks too; and
 * `propagateDeadlines: false`. A chain A -> B -> C: C reports how long it
 * was given; A allows 5 s, B's own calls would wait 60 s.
 */
import diagnostics from 'node:diagnostics_channel'
import net from 'node:net'
import t, { type Test } from 'tap'
import { CioError, codes } from '../../lib/errors.js'
import type { RpcPeer } from '../../lib/rpc/peer.js'
import type { RpcPeerOptions } from '../../lib/rpc/options.js'
import { rpcPair } from '../helpers/rpc.js'
import { readyAgent, SECRET, startServer, TRANSPORTS } from '../helpers/agents.js'
import { listenLocal } from '../helpers/net.js'
import { Agent } from '../../lib/agent/client/agent.js'

const A_TIMEOUT = 5000
const B_TIMEOUT = 60_000
/** Given at most A's time: inherited. */
const inherited = (ms: number): boolean => ms > 0 && ms <= A_TIMEOUT + 5
/** Given B's own time: not inherited. */
const own = (ms: number): boolean => ms > A_TIMEOUT + 1000

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** A calls B, B's handler `relay` calls C: resolves with the ms C was given. */
async function chain(t: Test, relay: (toC: RpcPeer) => (body: unknown) => unknown, bOptions: RpcPeerOptions = {}): Promise<number> {
  const ab = await rpcPair(t, false, bOptions)
  const bc = await rpcPair(t, false)
  bc.serverPeer.on('given', (_body, call) => call.deadline - Date.now())
  ab.serverPeer.on('relay', relay(bc.clientPeer))
  return (await ab.clientPeer.call('relay', null, { timeout: A_TIMEOUT })) as number
}

t.test('served call - a plain handler calling at once inherits', async (t) => {
  const given = await chain(t, (toC) => () => toC.call('given', null, { timeout: B_TIMEOUT }))
  t.ok(inherited(given), `C was given ${Math.round(given)} ms`)
})

t.test('served call - an async handler inherits across its awaits', async (t) => {
  const given = await chain(t, (toC) => async () => {
    await tick()
    await new Promise((resolve) => setTimeout(resolve, 5))
    return toC.call('given', null, { timeout: B_TIMEOUT })
  })
  t.ok(inherited(given), `C was given ${Math.round(given)} ms`)
})

t.test('served call - a plain handler returning a promise chain does not pass it to its callbacks (documented)', async (t) => {
  const given = await chain(t, (toC) => () => tick().then(() => toC.call('given', null, { timeout: B_TIMEOUT })))
  t.ok(own(given), `C was given ${Math.round(given)} ms: write such a handler as an async function`)
})

t.test('served call - a plain handler calling through an interceptor that awaits still inherits', async (t) => {
  const given = await chain(t, (toC) => {
    toC.use({
      call: async (ctx, next) => {
        await tick()
        await next()
      },
    })
    return () => toC.call('given', null, { timeout: B_TIMEOUT })
  })
  t.ok(inherited(given), `C was given ${Math.round(given)} ms`)
})

t.test('served call - propagateDeadlines: false on the answering peer turns inheritance off for every handler kind', async (t) => {
  const plain = await chain(t, (toC) => () => toC.call('given', null, { timeout: B_TIMEOUT }), { propagateDeadlines: false })
  const awaiting = await chain(t, (toC) => async () => {
    await tick()
    return toC.call('given', null, { timeout: B_TIMEOUT })
  }, { propagateDeadlines: false })
  t.ok(own(plain), `plain: C was given ${Math.round(plain)} ms`)
  t.ok(own(awaiting), `async: C was given ${Math.round(awaiting)} ms`)
})

t.test('served call - propagateDeadlines must be a boolean', async (t) => {
  const error = await rpcPair(t, false, { propagateDeadlines: 'yes' as unknown as boolean }).catch((e: unknown) => e)
  t.ok(error instanceof CioError)
  t.equal((error as CioError).code, codes.INVALID_OPTION)
  t.match((error as CioError).message, /propagateDeadlines must be a boolean/)
})

for (const { secure, name } of TRANSPORTS) {
  t.test(`served call (${name}) - agent hooks: async ones inherit across awaits, plain ones at once, both ways`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const { agent: first } = await readyAgent(t, port, secure)
    const { agent: second, name: secondName } = await readyAgent(t, port, secure)
    for (const agent of [first, second]) agent.onHook('given', (_message, _socket, call) => call.deadline - Date.now())
    server.onHook('given', (_message, _socket, _agent, call) => call.deadline - Date.now())
    // Server hooks called by the first agent, calling on to the second.
    server.onHook('relay-async', async () => {
      await tick()
      return server.sendTo(secondName, 'given', null, { timeout: B_TIMEOUT })
    })
    server.onHook('relay-plain', () => server.sendTo(secondName, 'given', null, { timeout: B_TIMEOUT }))
    server.onHook('relay-all', async () => {
      await tick()
      return server.sendAll('given', null, { timeout: B_TIMEOUT })
    })
    // An agent hook called by the server, calling back to the server.
    second.onHook('relay-back', async () => {
      await tick()
      return second.send('given', null, { timeout: B_TIMEOUT })
    })
    for (const action of ['relay-async', 'relay-plain']) {
      const given = (await first.send(action, null, { timeout: A_TIMEOUT })) as number
      t.ok(inherited(given), `${action}: the second agent was given ${Math.round(given)} ms`)
    }
    const all = (await first.send('relay-all', null, { timeout: A_TIMEOUT })) as Record<string, number>
    t.equal(Object.values(all).length, 2)
    t.ok(Object.values(all).every(inherited), `sendAll from a hook: ${JSON.stringify(all)}`)
    const back = (await server.sendTo(secondName, 'relay-back', null, { timeout: A_TIMEOUT })) as number
    t.ok(inherited(back), `agent hook calling the server: given ${Math.round(back)} ms`)
  })
}

t.test('served call - an answering interceptor that calls out inherits', async (t) => {
  const bc = await rpcPair(t, false)
  bc.serverPeer.on('given', (_body, call) => call.deadline - Date.now())
  let given = 0
  const ab = await rpcPair(t, false, {
    interceptors: {
      handle: async (_ctx, next) => {
        await tick()
        given = (await bc.clientPeer.call('given', null, { timeout: B_TIMEOUT })) as number
        await next()
      },
    },
  })
  ab.serverPeer.on('relay', () => 'done')
  t.equal(await ab.clientPeer.call('relay', null, { timeout: A_TIMEOUT }), 'done')
  t.ok(inherited(given), `C was given ${Math.round(given)} ms`)
})

t.test('served call - with a cio:handle subscriber, plain and async handlers still inherit', async (t) => {
  const handlers = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} }
  const channel = diagnostics.tracingChannel('cio:handle')
  channel.subscribe(handlers)
  t.teardown(() => channel.unsubscribe(handlers))
  const plain = await chain(t, (toC) => () => toC.call('given', null, { timeout: B_TIMEOUT }))
  const awaiting = await chain(t, (toC) => async () => {
    await tick()
    return toC.call('given', null, { timeout: B_TIMEOUT })
  })
  t.ok(inherited(plain), `plain: C was given ${Math.round(plain)} ms`)
  t.ok(inherited(awaiting), `async: C was given ${Math.round(awaiting)} ms`)
})

t.test("served call - an agent's send waiting for its connection ends with the served call: its time (DEADLINE_EXCEEDED) and its signal (ABORTED)", async (t) => {
  // An address that accepts and never answers the handshake: the agent stays connecting.
  const silent = net.createServer(() => {})
  const port = await listenLocal(t, silent)
  const agent = new Agent({ host: `tcp://127.0.0.1:${port}`, secret: SECRET, heartbeatInterval: 0, handshakeTimeout: 20_000 })
  agent.on('error', () => {})
  t.teardown(() => agent.close())
  const ab = await rpcPair(t, false)
  const outcomes: string[] = []
  ab.serverPeer.on('relay', async (_body, call) => {
    t.equal(call.action, 'relay')
    await agent.send('x', null, { timeout: 10_000 }).catch((e: unknown) => outcomes.push((e as CioError).code))
  })
  ab.serverPeer.on('cancelled', async () => {
    await agent.send('x', null, { timeout: 10_000 }).catch((e: unknown) => outcomes.push((e as CioError).code))
  })
  await ab.clientPeer.call('relay', null, { timeout: 200 }).catch(() => undefined)
  const controller = new AbortController()
  const cancelled = ab.clientPeer.call('cancelled', null, { timeout: 10_000, signal: controller.signal }).catch(() => undefined)
  setTimeout(() => controller.abort(), 50)
  await cancelled
  for (let i = 0; i < 400 && outcomes.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  // At the deadline the wait's own timer (DEADLINE_EXCEEDED) and the caller's cancel (ABORTED) race: either ends it, never the send's 10 s.
  t.equal(outcomes.length, 2)
  t.ok(outcomes[0] === codes.DEADLINE_EXCEEDED || outcomes[0] === codes.ABORTED, `the served call's deadline: ${outcomes[0]}`)
  t.equal(outcomes[1], codes.ABORTED, "the served call's cancel")
})
