import { readFile } from 'node:fs/promises'
import net from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { Agent } from '../../../lib/agent/client/agent.js'
import { AgentServer } from '../../../lib/agent/server/agent-server.js'
import { MemoryStore } from '../../../lib/agent/store.js'
import { FileStore } from '../../../lib/agent/compat.js'
import { codes, type CioError } from '../../../lib/errors.js'
import { agentActions } from '../../../lib/agent/protocol.js'
import { rejection } from '../../helpers/framing.js'
import { listenLocal } from '../../helpers/net.js'
import { testCerts } from '../../helpers/certs.js'
import { gate, makeAgent, next, pause, readyAgent, SECRET, startProxy, startServer, TRANSPORTS } from '../../helpers/agents.js'

const INTERVAL = 150

for (const { secure, name: transport } of TRANSPORTS) {
  t.test(`life - the heartbeat finds a dead peer on both sides within two intervals; pending calls fail (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure, { heartbeatInterval: INTERVAL })
    server.onHook('hang', () => gate().promise)
    const proxy = await startProxy(t, port)
    const { agent, name } = await readyAgent(t, proxy.port, secure, { heartbeatInterval: INTERVAL, reconnect: false })
    agent.onHook('hang', () => gate().promise)
    const fromAgent = rejection(agent.send('hang', undefined, 10_000))
    const fromServer = rejection(server.sendTo(name, 'hang', undefined, 10_000))
    await pause(INTERVAL / 3)
    const started = performance.now()
    const serverSide = next(server, 'agentDisconnected').then(() => performance.now() - started)
    const agentSide = next(agent, 'disconnected').then(([reason]) => ({ elapsed: performance.now() - started, reason: reason as CioError }))
    proxy.freeze()
    const [serverElapsed, { elapsed: agentElapsed, reason }] = await Promise.all([serverSide, agentSide])
    for (const [side, elapsed] of [['server', serverElapsed], ['agent', agentElapsed]] as const) {
      // "Within two intervals", plus room for timers and a loaded machine: a bound on behaviour, not a speed test.
      t.ok(elapsed < 2 * INTERVAL + 1000, `${side} noticed after ${Math.round(elapsed)} ms (interval ${INTERVAL} ms)`)
    }
    t.equal(reason.code, codes.HEARTBEAT_TIMEOUT, 'the agent says why')
    for (const [side, outcome] of [['agent', fromAgent], ['server', fromServer]] as const) {
      const error = (await outcome) as CioError
      t.equal(error.code, codes.DISCONNECTED, `${side}'s pending call failed with DISCONNECTED`)
      t.equal((error.cause as CioError).code, codes.HEARTBEAT_TIMEOUT, '... caused by the heartbeat')
    }
  })

  t.test(`life - an idle but live connection outlives many heartbeat intervals (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure, { heartbeatInterval: 30 })
    const { agent, name } = await readyAgent(t, port, secure, { heartbeatInterval: 30 })
    let dropped = false
    agent.on('disconnected', () => (dropped = true))
    server.on('agentDisconnected', () => (dropped = true))
    await pause(300)
    t.equal(dropped, false, 'ten intervals of silence but for pings: still connected')
    agent.onHook('alive', () => 'yes')
    t.equal(await server.sendTo(name, 'alive'), 'yes')
  })

  t.test(`life - a restarted server with file stores: agents return under their names, new ones continue the numbering (${transport})`, async (t) => {
    const dir = t.testdir()
    const serverFile = join(dir, 'server.json')
    const store = (file: string): FileStore => FileStore({ file: join(dir, file) })
    const first = await startServer(t, secure, { dataStore: store('server.json'), agentNameFormat: 'A###' })
    const one = await readyAgent(t, first.port, secure, { dataStore: store('one.json') })
    const two = await readyAgent(t, first.port, secure, { dataStore: store('two.json') })
    t.same([one.name, two.name], ['A001', 'A002'])
    await Promise.all([one.agent.close(), two.agent.close()])
    await first.server.close()
    t.same(JSON.parse(await readFile(serverFile, 'utf8')), { counter: 2 })

    const second = await startServer(t, secure, { dataStore: store('server.json'), agentNameFormat: 'A###' })
    const records: Array<{ name: string; firstTime: boolean }> = []
    second.server.on('agentConnected', (agent) => records.push({ name: agent.name, firstTime: agent.firstTime }))
    const back = await readyAgent(t, second.port, secure, { dataStore: store('one.json') })
    const fresh = await readyAgent(t, second.port, secure, { dataStore: store('three.json') })
    t.equal(back.name, 'A001', 'the agent came back under its name')
    t.equal(fresh.name, 'A003', 'a new agent continues the numbering')
    t.same(records, [{ name: 'A001', firstTime: false }, { name: 'A003', firstTime: true }])
    await fresh.agent.close()
    t.same(JSON.parse(await readFile(join(dir, 'three.json'), 'utf8')), { name: 'A003' })
    // Closed here, not only at teardown: the test directory is removed first
    // there, and a store still saving into it would fail.
    await Promise.all([back.agent.close(), second.server.close()])
  })

  t.test(`life - DUPLICATE_ID: the second agent is refused and keeps trying; the first keeps the name (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const first = await readyAgent(t, port, secure)
    first.agent.onHook('who', () => 'first')
    const second = await makeAgent(t, port, secure, { dataStore: new MemoryStore({ name: first.name }), reconnect: { initialDelay: 30, maxDelay: 30 } })
    const refusals: CioError[] = []
    second.on('error', (error) => refusals.push(error))
    const secondReady = new Promise<string>((resolve) => second.on('ready', resolve))
    while (refusals.length < 2) await next(second, 'error')
    t.ok(refusals.every((error) => (error as unknown) == Agent.DUPLICATE_ID), 'DUPLICATE_ID, again on the retry')
    t.equal(await server.sendTo(first.name, 'who'), 'first', 'the first still holds the name')
    await first.agent.close()
    t.equal(await secondReady, first.name, 'once the name is free, the second gets it')
  })

  t.test(`life - the seed's examples, translated (${transport})`, async (t) => {
    const certs = await testCerts()
    const dir = t.testdir()
    const serverInstance = new AgentServer({
      protocol: secure ? AgentServer.WSS : AgentServer.WS,
      port: 0,
      host: '127.0.0.1',
      secret: SECRET,
      agentNameFormat: 'A####',
      dataStore: FileStore({ file: join(dir, 'serverStore.json') }),
      ...(secure ? { privateKey: certs.server.key, certificate: certs.server.cert } : {}),
    })
    t.teardown(() => serverInstance.close())
    const received: unknown[] = []
    serverInstance.onTunnel('someCommand', (message) => (received.push(message), Promise.resolve({ message: 'received' })))
    serverInstance.onTunnel({
      otherCommand: () => {
        throw { code: 'MYERRCODE', msg: 'My error message' }
      },
    })
    serverInstance.onHook((action) => (action === 'viaCatchAll' ? Promise.resolve({}) : undefined))
    const welcomes: unknown[] = []
    serverInstance.on('agentConnected', (agent) => {
      agent.data = { connectedOn: Date.now() }
      serverInstance.sendTo(agent, 'myAction', { msg: `Welcome ${agent.name}` }).then((response) => welcomes.push(response), () => {})
    })
    const { port } = await serverInstance.ready()

    const conf = Promise.resolve({ secret: SECRET, ...(secure ? { ca: certs.ca.cert } : {}), dataStore: FileStore({ file: join(dir, 'clientStore.json') }) })
    const agent = Agent.conf(conf).connect(`${secure ? 'https' : 'http'}://127.0.0.1:${port}`)
    t.teardown(() => agent.close())
    agent.onHook('myAction', (message) => ({ thanks: message }))
    agent.onHook((action) => (action === 'healthCheck' ? { healthy: true } : undefined))
    agent.on('error', (error) => t.fail(`agent error: ${error.message}`))
    await next(agent, 'ready')
    t.equal(agent.name, 'A0001')
    t.same(await agent.tunnel('someCommand', { hello: 'world' }, 10_000), { message: 'received' })
    t.same(received, [{ hello: 'world' }])
    const error = await rejection(agent.tunnel('otherCommand'))
    t.same(error, { code: 'MYERRCODE', msg: 'My error message' })
    t.notOk(error == Agent.TIMEOUT, 'not a timeout: the server threw it')
    t.same(await agent.send('viaCatchAll'), {})
    t.same(await serverInstance.sendAll('healthCheck', { attached: 'payload' }), { A0001: { healthy: true } })
    t.same(await serverInstance.sendTo('A0001', 'myAction', { attached: 'payload' }), { thanks: { attached: 'payload' } })
    while (welcomes.length === 0) await pause(5)
    t.same(welcomes, [{ thanks: { msg: 'Welcome A0001' } }])
    t.match(serverInstance.getAgents()[0]?.data, { connectedOn: Number })
    // Closed here, not only at teardown: the test directory is removed first
    // there, and a store still saving into it would fail.
    await Promise.all([agent.close(), serverInstance.close()])
  })
}

t.test('life - mutual TLS: the allow-list runs before the agent handshake', async (t) => {
  const certs = await testCerts()
  const { server, port } = await startServer(t, true, { requestCert: true, rejectUnauthorized: true, ca: certs.ca.cert, isClientAllowed: (name) => name === 'alice' })
  const rejected: unknown[] = []
  server.netServer.on('clientRejected', (name) => rejected.push(name))
  const { name } = await readyAgent(t, port, true, { key: certs.clients.alice?.key, cert: certs.clients.alice?.cert })
  t.same(server.getAgents().map((agent) => agent.name), [name], 'alice got in')
  const mallory = await makeAgent(t, port, true, { key: certs.clients.mallory?.key, cert: certs.clients.mallory?.cert, reconnect: false })
  t.equal(((await next(mallory, 'error')) as [CioError])[0].code, codes.DISCONNECTED)
  t.same(rejected, ['mallory'])
  const anonymous = await makeAgent(t, port, true, { reconnect: false })
  // TLS 1.3 completes the client's side before the server checks for a certificate, so the
  // agent's hello is already pending when the server's alert ends the connection; the alert
  // (kept by the socket guard, since Node does not set socket.errored for it) says why.
  const [refused] = (await next(anonymous, 'error')) as [CioError]
  t.match(refused, { code: codes.TLS_FAILED }, 'no certificate: the agent reports a TLS failure')
  t.match(refused.cause, { code: /^ERR_SSL_/ }, 'the TLS alert says why')
  t.equal(server.getAgents().length, 1)
})

t.test('life - agents connecting at once get distinct names', async (t) => {
  const { port } = await startServer(t, false)
  const agents = await Promise.all(Array.from({ length: 5 }, () => readyAgent(t, port, false)))
  t.same(agents.map((agent) => agent.name).sort(), ['A1', 'A2', 'A3', 'A4', 'A5'])
})

t.test('life - reconnect delays grow, are jittered (at least half the ceiling) and capped at maxDelay', async (t) => {
  const gone = net.createServer()
  const port = await listenLocal(t, gone)
  gone.close()
  const delays: number[] = []
  const agent = await makeAgent(t, port, false, {
    reconnect: { initialDelay: 8, factor: 2, maxDelay: 40 },
    logger: (message) => {
      const match = /reconnecting in (\d+) ms/.exec(message)
      if (match !== null) delays.push(Number(match[1]))
    },
  })
  for (let i = 0; i < 400 && delays.length < 8; i++) await pause(5)
  await agent.close()
  t.ok(delays.length >= 8, `${delays.length} attempts`)
  const ceilings = delays.map((_, index) => Math.min(40, 8 * 2 ** index))
  delays.forEach((delay, index) => t.ok(delay >= Math.floor((ceilings[index] as number) / 2) && delay <= (ceilings[index] as number), `attempt ${index + 1}: ${delay} ms within [ceiling/2, ceiling ${ceilings[index]}]`))
})
