import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import t, { type Test } from 'tap'
import { Agent } from '../../lib/agent/client/agent.js'
import { AgentServer } from '../../lib/agent/server/agent-server.js'
import { deriveHandshakeKey, derivationCount, handshakeKey } from '../../lib/agent/handshake.js'
import { codes } from '../../lib/errors.js'
import { thrown } from '../helpers/errors.js'
import { collectUncaught } from '../helpers/uncaught.js'
import { listenLocal } from '../helpers/net.js'
import { FAST } from '../helpers/agents.js'

/** A secret no other test of this process has used, so its key is not derived yet. */
function freshSecret(): string {
  return randomBytes(24).toString('base64')
}

/**
 * Ticks of a 1 ms interval until `promise` settles. A derivation on the
 * event loop would settle before the first tick (0 ticks); one on the
 * threadpool lets the loop tick throughout.
 */
async function ticksUntil(promise: Promise<unknown>): Promise<number> {
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  try {
    await promise
  } finally {
    clearInterval(timer)
  }
  return ticks
}

function serverFor(t: Test, secret: string, options: Record<string, unknown> = {}): AgentServer {
  const server = new AgentServer({ secret, port: 0, host: '127.0.0.1', ...FAST, ...options })
  t.teardown(() => server.close())
  return server
}

t.test('handshake key - derived once per secret, off the event loop, whatever form the secret comes in', async (t) => {
  const secret = freshSecret()
  const before = derivationCount()
  const first = deriveHandshakeKey(secret)
  t.equal(deriveHandshakeKey(Buffer.from(secret)), first, 'a second caller during the derivation shares it')
  t.ok((await ticksUntil(first)) > 0, 'the event loop ran while scrypt did')
  const key = await first
  t.equal(await deriveHandshakeKey(secret), key, 'the same KeyObject later')
  t.equal(await deriveHandshakeKey(key), key, 'a derived key is used as it is')
  t.equal(handshakeKey(secret), key, 'the blocking form finds it derived')
  t.equal(derivationCount() - before, 1, 'one scrypt')
})

t.test('handshake key - a bad secret throws INVALID_OPTION at once, before any derivation', async (t) => {
  const before = derivationCount()
  t.equal(thrown(() => deriveHandshakeKey('too short')).code, codes.INVALID_OPTION)
  t.equal(thrown(() => new AgentServer({ secret: 'too short', port: 0, host: '127.0.0.1' })).code, codes.INVALID_OPTION, 'AgentServer')
  t.equal(thrown(() => new Agent({ host: 'tcp://127.0.0.1:1', secret: Buffer.alloc(15, 1) })).code, codes.INVALID_OPTION, 'Agent')
  t.equal(derivationCount(), before, 'nothing was derived')
})

t.test('handshake key - new AgentServer returns before the key is derived; ready() resolves once it is and agents are admitted', async (t) => {
  const secret = freshSecret()
  const server = serverFor(t, secret)
  t.equal(server.address(), null, 'not listening while the key is derived')
  t.ok((await ticksUntil(server.ready())) > 0, 'the event loop ran between the constructor and ready()')
  t.ok(server.address(), 'listening')
  const before = derivationCount()
  const agent = new Agent({ host: `tcp://127.0.0.1:${(await server.ready()).port}`, secret, ...FAST })
  t.teardown(() => agent.close())
  await once(agent, 'ready')
  t.equal(derivationCount(), before, "the agent used the server's key: same process, same secret")
})

t.test('handshake key - new Agent returns before the key is derived and connects once it is', async (t) => {
  const secret = freshSecret()
  const accepted: net.Socket[] = []
  const port = await listenLocal(t, net.createServer((socket) => accepted.push(socket)))
  const agent = new Agent({ host: `tcp://127.0.0.1:${port}`, secret, ...FAST })
  t.teardown(() => agent.close())
  // One turn: the agent has started its derivation, which this call shares.
  await new Promise((resolve) => setImmediate(resolve))
  const derivation = deriveHandshakeKey(secret)
  t.ok((await ticksUntil(derivation)) > 0, 'the event loop ran while the agent derived its key')
  await once(agent, 'connected')
  t.equal(accepted.length, 1, 'connected after the derivation')
})

t.test('handshake key - many agents of one secret derive once', async (t) => {
  const secret = freshSecret()
  const before = derivationCount()
  const agents: Agent[] = []
  // Made before the server: every agent starts while the key is not there yet.
  for (let i = 0; i < 20; i++) {
    const agent = new Agent({ host: 'tcp://127.0.0.1:1', secret, ...FAST, reconnect: false })
    agent.on('error', () => {})
    t.teardown(() => agent.close())
    agents.push(agent)
  }
  const server = serverFor(t, secret)
  const { port } = await server.ready()
  const connected = agents.map(() => new Agent({ host: `tcp://127.0.0.1:${port}`, secret, ...FAST }))
  for (const agent of connected) t.teardown(() => agent.close())
  await Promise.all(connected.map((agent) => once(agent, 'ready')))
  t.equal(server.getAgents().length, 20)
  t.equal(derivationCount() - before, 1, 'one scrypt for 41 constructors')
})

t.test('handshake key - close() during the derivation leaves nothing open and nothing unhandled', async (t) => {
  const uncaught = collectUncaught(t)
  const secret = freshSecret()
  const accepted: net.Socket[] = []
  const port = await listenLocal(t, net.createServer((socket) => accepted.push(socket)))
  const server = new AgentServer({ secret, port: 0, host: '127.0.0.1', ...FAST })
  const listened: unknown[] = []
  server.on('listening', (address) => listened.push(address))
  const ready = server.ready().then(
    () => 'resolved',
    (error: { code?: string }) => error.code,
  )
  const agent = new Agent({ host: `tcp://127.0.0.1:${port}`, secret, ...FAST })
  const events: string[] = []
  for (const event of ['connected', 'ready', 'error', 'disconnected'] as const) agent.on(event, () => events.push(event))
  await Promise.all([server.close(), agent.close()])
  t.equal(await ready, codes.CLOSED, 'ready() rejects with CLOSED')
  // close() resolved after the derivation: nothing follows it.
  await deriveHandshakeKey(secret)
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(server.address(), null, 'the server never listened')
  t.same(listened, [])
  t.same(events, [], 'the agent never connected')
  t.equal(accepted.length, 0)
  t.same(uncaught, [])
})

t.test('handshake key - drain() during the derivation closes the server before it listens', async (t) => {
  const server = new AgentServer({ secret: freshSecret(), port: 0, host: '127.0.0.1', ...FAST })
  server.ready().catch(() => {})
  t.same(await server.drain({ timeout: 100 }), { completed: 0, aborted: 0 })
  t.equal(server.address(), null)
})
