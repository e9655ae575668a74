import { once } from 'node:events'
import net from 'node:net'
import t, { type Test } from 'tap'
import { Agent, AgentServer, type AgentRecord } from '../../lib/agent/index.js'
import { CioError } from '../../lib/errors.js'
import { cioRejection } from '../helpers/framing.js'
import { listenLocal } from '../helpers/net.js'

const SECRET = 'half-open-secret'
/** Short, but long enough that a busy CI machine does not look dead: a peer is declared dead after two silent intervals. */
const HEARTBEAT = 200
/** Bound on every wait: a hang fails with a message instead of running into tap's timeout. */
const WAIT_MS = 10_000

/**
 * A loopback proxy in front of `port`. `freeze()` makes every connection
 * through it half-open: it stops forwarding both ways and closes nothing,
 * like a peer whose host died or a NAT that forgot the flow.
 */
async function proxy(t: Test, port: number) {
  const pairs: Array<[net.Socket, net.Socket]> = []
  const server = net.createServer((client) => {
    const upstream = net.connect({ port, host: '127.0.0.1' })
    pairs.push([client, upstream])
    for (const socket of [client, upstream]) socket.on('error', () => {})
    client.pipe(upstream)
    upstream.pipe(client)
  })
  t.teardown(() => {
    for (const pair of pairs) for (const socket of pair) socket.destroy()
  })
  const proxyPort = await listenLocal(t, server)
  return {
    port: proxyPort,
    freeze(): number {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream)
        upstream.unpipe(client)
        client.pause()
        upstream.pause()
      }
      const frozen = pairs.length
      pairs.length = 0
      return frozen
    },
  }
}

async function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${WAIT_MS} ms`)), WAIT_MS)))])
  } finally {
    clearTimeout(timer)
  }
}

t.test('faults - a half-open peer is found by the heartbeat on both sides, and its pending calls fail with a code', async (t) => {
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', heartbeatInterval: HEARTBEAT, noRelisten: true })
  t.teardown(() => server.close())
  // Hooks that never answer: only the heartbeat can end these calls before their 60 s timeout.
  server.onHook('hang', () => new Promise(() => {}))
  const { port } = await server.ready()
  const middle = await proxy(t, port)
  const agent = new Agent({ host: `127.0.0.1:${middle.port}`, secret: SECRET, heartbeatInterval: HEARTBEAT, reconnect: { initialDelay: 50, maxDelay: 200 } })
  t.teardown(() => agent.close())
  agent.onHook('hang', () => new Promise(() => {}))
  const [name] = (await within(once(agent, 'ready'), 'agent ready')) as [string]
  const [record] = server.getAgents() as [AgentRecord]

  const fromAgent = [1, 2, 3].map((n) => cioRejection(agent.send('hang', n, 60_000)))
  const fromServer = [1, 2, 3].map((n) => cioRejection(server.sendTo(name, 'hang', n, 60_000)))
  const agentLost = once(agent, 'disconnected') as Promise<[Error | undefined]>
  const serverLost = once(server, 'agentDisconnected') as Promise<[AgentRecord, Error | undefined]>
  // Let the calls reach the other side before the link goes quiet (a round trip through the proxy).
  t.equal(await server.sendTo(name, 'missing').catch((error: CioError) => error.code), 'UNKNOWN_ACTION')
  t.equal(middle.freeze(), 1, 'the one connection is frozen, not closed')

  const [agentReason] = await within(agentLost, 'agent disconnected')
  const [lostRecord, serverReason] = await within(serverLost, 'server agentDisconnected')
  t.equal((agentReason as CioError | undefined)?.code, 'HEARTBEAT_TIMEOUT', "the agent's heartbeat found the dead server")
  t.equal((serverReason as CioError | undefined)?.code, 'HEARTBEAT_TIMEOUT', "the server's heartbeat found the dead agent")
  t.equal(lostRecord, record, 'for that agent')
  for (const [side, calls] of [['agent', fromAgent], ['server', fromServer]] as const) {
    const errors = await within(Promise.all(calls), `${side} calls`)
    t.same(errors.map((error) => error.code), ['DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED'], `the ${side}'s pending calls failed with DISCONNECTED`)
    t.same(errors.map((error) => (error.cause as CioError | undefined)?.code), ['HEARTBEAT_TIMEOUT', 'HEARTBEAT_TIMEOUT', 'HEARTBEAT_TIMEOUT'], 'caused by the heartbeat')
  }
  // The agent comes back through a fresh connection, under its name.
  const [again] = (await within(once(agent, 'reconnected'), 'agent reconnected')) as [string]
  t.equal(again, name, 'reconnected under its own name')
  t.equal(await agent.send('missing').catch((error: CioError) => error.code), 'UNKNOWN_ACTION', 'and answered again')
})
