/**
 * Agents and their server with what production calls need: metadata and
 * call options through `send`/`sendTo`/`sendAll`, interceptors on both
 * (never seeing reserved `cio.` actions), handshake channels, and graceful
 * drain with calls in flight both ways. Over TCP and TLS, agent -> server
 * and server -> agent.
 */
import diagnostics from 'node:diagnostics_channel'
import t from 'tap'
import { CioError, codes } from '../../lib/errors.js'
import { AgentServer, type SendOptions } from '../../lib/agent/server/agent-server.js'
import type { AgentRecord } from '../../lib/agent/server/connection.js'
import { RpcFault } from '../../lib/rpc/protocol.js'
import { channelNames, type HandshakeMessage } from '../../lib/core/diagnostics.js'
import type { RpcCall } from '../../lib/rpc/types.js'
import { FAST, gate, makeAgent, next as nextEvent, pause, readyAgent, SECRET, startServer, TRANSPORTS } from '../helpers/agents.js'
import { testCerts } from '../helpers/certs.js'
import { cioRpcClient } from '../helpers/rpc.js'

for (const { secure, name } of TRANSPORTS) {
  t.test(`agents (${name}) - meta and call options both ways; interceptors on both sides never see cio. actions`, async (t) => {
    const { server, port } = await startServer(t, secure, { heartbeatInterval: 30 })
    const serverSaw: string[] = []
    const agentSaw: string[] = []
    server.use({
      handle: async (ctx, next) => {
        serverSaw.push(`handle ${ctx.action} ${(ctx.caller as { name: string }).name}`)
        await next()
      },
      call: async (ctx, next) => {
        serverSaw.push(`call ${ctx.action}`)
        ctx.meta['x-from'] = 'server'
        await next()
      },
    })
    server.onHook('whoami', (_message, _socket, agent, call: RpcCall) => {
      call.setAnswerMeta({ 'x-agent': agent.name })
      return { ...call.meta }
    })
    const { agent, name: agentName } = await readyAgent(t, port, secure, { heartbeatInterval: 30 })
    agent.use({
      call: async (ctx, next) => {
        agentSaw.push(`call ${ctx.action}`)
        await next()
      },
      handle: async (ctx, next) => {
        agentSaw.push(`handle ${ctx.action}`)
        await next()
      },
    })
    agent.onHook('echoMeta', (_message, _socket, call) => ({ ...call.meta }))
    const answerMeta: unknown[] = []
    t.same(await agent.send('whoami', null, { meta: { tenant: 't1' }, onMeta: (meta) => answerMeta.push({ ...meta }) }), { tenant: 't1' })
    t.same(answerMeta, [{ 'x-agent': agentName }])
    t.same(await server.sendTo(agentName, 'echoMeta', null, { meta: { a: 'b' }, timeout: 2000 }), { a: 'b', 'x-from': 'server' })
    t.same(await server.sendAll('echoMeta', null, { meta: { all: '1' } }), { [agentName]: { all: '1', 'x-from': 'server' } })
    t.same(await server.sendAllSettled('echoMeta', null, 2000), { [agentName]: { ok: true, value: { 'x-from': 'server' } } }, 'a bare timeout still works')
    t.equal(await agent.send('whoami', null, 2000).then(() => 'ok'), 'ok')
    // Let heartbeats cross in both directions.
    await pause(100)
    t.ok(serverSaw.every((line) => !line.includes('cio.')), 'no cio. action reached the server interceptors')
    t.ok(agentSaw.every((line) => !line.includes('cio.')), 'no cio. action reached the agent interceptors')
    t.same(serverSaw, [`handle whoami ${agentName}`, 'call echoMeta', 'call echoMeta', 'call echoMeta', `handle whoami ${agentName}`])
    t.same(agentSaw, ['call whoami', 'handle echoMeta', 'handle echoMeta', 'handle echoMeta', 'call whoami'])
    const bad = (await agent.send('whoami', null, 'x' as never).catch((e: unknown) => e)) as CioError
    t.equal(bad.code, codes.INVALID_ARGUMENT)
  })

  for (const direction of ['agent calls server', 'server calls agent'] as const) {
    t.test(`agents (${name}, ${direction}) - the caller's interceptors add meta and see answers, answer meta and errors; the answerer's refuse, answer from a cache, and change results`, async (t) => {
      const { server, port } = await startServer(t, secure)
      const { agent, name: agentName } = await readyAgent(t, port, secure)
      const agentCalls = direction === 'agent calls server'
      const [callerSide, answererSide] = agentCalls ? ['agent', 'server'] : ['server', 'agent']
      const send = (body: unknown, options: SendOptions): Promise<unknown> => (agentCalls ? agent.send('x', body, options) : server.sendTo(agentName, 'x', body, options))
      const reached: unknown[] = []
      const hook = (body: unknown, call: RpcCall): unknown => {
        reached.push(body)
        if (body === 'throw') throw { reason: 'mine' }
        call.setAnswerMeta({ 'x-answered-by': answererSide })
        return `${String(body)} ${call.meta['x-added'] ?? 'no x-added'}`
      }
      server.onHook('x', (body, _socket, _agent, call: RpcCall) => hook(body, call))
      agent.onHook('x', (body, _socket, call) => hook(body, call))
      const callers: unknown[] = []
      const answerer = agentCalls ? server : agent
      answerer.use({
        handle: async (ctx, next) => {
          // Who calls: the agent's record on the server; on the agent, the connection to its server.
          callers.push(agentCalls ? (ctx.caller as AgentRecord).name : ctx.socket.remoteAddress)
          if (ctx.meta.token !== 'secret') throw new RpcFault(codes.NOT_AUTHORIZED, 'bad token')
          if (ctx.body === 'cached') {
            ctx.result = 'from cache'
            return
          }
          await next()
          ctx.result = `${String(ctx.result)}!`
        },
      })
      const seen: unknown[] = []
      const caller = agentCalls ? agent : server
      caller.use({
        call: async (ctx, next) => {
          ctx.meta['x-added'] = callerSide
          try {
            await next()
          } catch (error) {
            seen.push({ error: (error as { code?: string }).code ?? error })
            throw error
          }
          seen.push({ result: ctx.result, answerMeta: { ...ctx.answerMeta } })
        },
      })
      const token = { token: 'secret' }
      const onMetaSaw: unknown[] = []
      t.equal(await send('b', { meta: token, onMeta: (meta) => onMetaSaw.push({ ...meta }) }), `b ${callerSide}!`, "the caller's meta reached the hook; the answerer's interceptor changed the result")
      t.same(onMetaSaw, [{ 'x-answered-by': answererSide }], 'the answer meta reaches onMeta')
      t.equal(await send('cached', { meta: token }), 'from cache')
      t.equal(((await send('b', {}).catch((e: unknown) => e)) as CioError).code, codes.NOT_AUTHORIZED, 'refused without a token')
      t.same(await send('throw', { meta: token }).catch((e: unknown) => e), { reason: 'mine' }, 'a plain value thrown by the hook reaches the caller as it is')
      t.same(reached, ['b', 'throw'], 'the refused and the cached calls never reached the hook')
      t.same(seen, [
        { result: `b ${callerSide}!`, answerMeta: { 'x-answered-by': answererSide } },
        { result: 'from cache', answerMeta: {} },
        { error: codes.NOT_AUTHORIZED },
        { error: { reason: 'mine' } },
      ], "the caller's interceptor saw every result, answer meta and error")
      t.same(callers, Array(4).fill(agentCalls ? agentName : '127.0.0.1'), 'the answering interceptor knows who calls')
    })
  }

  t.test(`agents (${name}) - interceptors given once serve the agent's next connection too, both ways`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const { agent, name: agentName } = await readyAgent(t, port, secure)
    const log: string[] = []
    for (const [side, owner] of [['server', server], ['agent', agent]] as const) {
      owner.use({
        call: async (ctx, next) => {
          log.push(`${side} call ${ctx.action}`)
          await next()
        },
        handle: async (ctx, next) => {
          log.push(`${side} handle ${ctx.action}`)
          await next()
        },
      })
    }
    server.onHook('up', () => 'server')
    agent.onHook('down', () => 'agent')
    const reconnected = nextEvent(agent, 'reconnected')
    server.getAgents()[0]?.socket.destroy()
    t.same(await reconnected, [agentName])
    t.equal(await agent.send('up'), 'server')
    t.equal(await server.sendTo(agentName, 'down'), 'agent')
    t.same(log, ['agent call up', 'server handle up', 'server call down', 'agent handle down'])
  })

  t.test(`agents (${name}) - drain: calls in flight both ways finish, new ones are refused, agents move to the next server of their list`, async (t) => {
    const first = await startServer(t, secure)
    const second = await startServer(t, secure)
    const fromAgent = gate<string>()
    const fromServer = gate<string>()
    const started: string[] = []
    for (const [label, { server }] of [['first', first], ['second', second]] as const) {
      server.onHook('slow', () => {
        started.push('server hook')
        return fromAgent.promise
      })
      server.onHook('where', () => label)
    }
    const scheme = secure ? 'tls' : 'tcp'
    const moved: string[] = []
    const { agent, name: agentName } = await readyAgent(t, first.port, secure, { host: [`${scheme}://127.0.0.1:${first.port}`, `${scheme}://127.0.0.1:${second.port}`] as never })
    agent.on('reconnected', (name: string) => moved.push(name))
    agent.onHook('slow', () => {
      started.push('agent hook')
      return fromServer.promise
    })
    // The agent starts at a random entry of its list: drain the one it is on.
    const [current, next] = first.server.getAgents().length === 1 ? [first.server, 'second'] : [second.server, 'first']
    const agentCall = agent.send('slow', null, 5000)
    const serverCall = current.sendTo(agentName, 'slow', null, 5000)
    for (let i = 0; i < 200 && started.length < 2; i++) await pause(5)
    const drained = current.drain({ timeout: 5000 })
    t.equal(((await current.sendTo(agentName, 'slow').catch((e: unknown) => e)) as CioError).code, codes.DRAINING, 'new calls from the server are refused')
    await pause(30)
    // The agent heard the notice: a new send waits for the next server instead of going to this one.
    const later = agent.send('where', null, 5000)
    fromAgent.open('a done')
    fromServer.open('s done')
    t.equal(await agentCall, 'a done')
    t.equal(await serverCall, 's done')
    t.same(await drained, { completed: 2, aborted: 0 })
    t.equal(current.getAgents().length, 0)
    t.equal(await later, next, 'the waiting send went to the next server of the list')
    t.same(moved, [agentName], 'the agent reconnected under its name')
  })

  t.test(`agents (${name}) - drain: with one address the agent comes back to the server that replaces the drained one`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const { agent } = await readyAgent(t, port, secure)
    const drained = server.drain({ timeout: 1000 })
    await pause(20)
    const later = agent.send('where', null, 5000)
    t.same(await drained, { completed: 0, aborted: 0 })
    const certs = secure ? await testCerts() : undefined
    const successor = new AgentServer({ secret: SECRET, port, host: '127.0.0.1', ...FAST, ...(certs === undefined ? {} : { key: certs.server.key, cert: certs.server.cert }) })
    t.teardown(() => successor.close())
    successor.onHook('where', () => 'successor')
    t.equal(await later, 'successor')
  })

  t.test(`agents (${name}) - drain: what outlives the timeout is aborted (DRAINING) and the callers told`, async (t) => {
    const { server, port } = await startServer(t, secure)
    let reason: unknown
    const started = gate<void>()
    server.onHook('forever', (_m, _s, _a, call: RpcCall) => {
      call.signal.addEventListener('abort', () => (reason = call.signal.reason))
      started.open()
      return new Promise(() => {})
    })
    const { agent } = await readyAgent(t, port, secure)
    const pending = agent.send('forever', null, 10_000).catch((e: unknown) => e)
    await started.promise
    t.same(await server.drain({ timeout: 50 }), { completed: 0, aborted: 1 })
    t.equal((reason as CioError).code, codes.DRAINING, "the hook's signal aborted with DRAINING")
    t.equal(((await pending) as CioError).code, codes.DRAINING, 'the agent was told DRAINING')
    t.same(await server.drain(), { completed: 0, aborted: 0 }, 'a second drain resolves at once')
    t.equal(((await server.sendTo('A1', 'x').catch((e: unknown) => e)) as CioError).code, codes.DRAINING)
    t.equal(((await server.drain({ timeout: -1 }).catch((e: unknown) => e)) as CioError).code, codes.INVALID_ARGUMENT)
  })

  t.test(`agents (${name}) - agent.drain: its calls finish, new ones are refused, then it closes`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const hold = gate<string>()
    const started = gate<void>()
    server.onHook('slow', () => {
      started.open()
      return hold.promise
    })
    const { agent, name: agentName } = await readyAgent(t, port, secure)
    agent.onHook('x', () => 'x')
    const call = agent.send('slow')
    await started.promise
    const drained = agent.drain({ timeout: 5000 })
    t.equal(((await agent.send('slow').catch((e: unknown) => e)) as CioError).code, codes.DRAINING)
    t.equal(((await server.sendTo(agentName, 'x').catch((e: unknown) => e)) as CioError).code, codes.DRAINING, "the server's new calls are answered DRAINING")
    hold.open('done')
    t.equal(await call, 'done')
    t.same(await drained, { completed: 1, aborted: 0 })
    t.same(await agent.drain(), { completed: 0, aborted: 0 })
    const idle = await makeAgent(t, port, secure, { reconnect: false, host: `${secure ? 'tls' : 'tcp'}://127.0.0.1:1` })
    t.same(await idle.drain({ timeout: 10 }), { completed: 0, aborted: 0 }, 'an agent with no connection drains at once')
  })

  t.test(`agents (${name}) - cio:handshake:admitted names the agent`, async (t) => {
    const admitted: HandshakeMessage[] = []
    const refused: HandshakeMessage[] = []
    const onAdmitted = (m: unknown): void => void admitted.push(m as HandshakeMessage)
    const onRefused = (m: unknown): void => void refused.push(m as HandshakeMessage)
    diagnostics.subscribe(channelNames.admitted, onAdmitted)
    diagnostics.subscribe(channelNames.refused, onRefused)
    t.teardown(() => {
      diagnostics.unsubscribe(channelNames.admitted, onAdmitted)
      diagnostics.unsubscribe(channelNames.refused, onRefused)
    })
    const { server, port } = await startServer(t, secure)
    server.on('error', () => {})
    const { name: agentName } = await readyAgent(t, port, secure)
    t.same(admitted.map((m) => m.agent), [agentName])
    t.equal(typeof admitted[0]?.remoteAddress, 'string')
    t.same(refused, [])
  })
}

t.test('agents - cio:handshake:refused names the code', async (t) => {
  const refused: HandshakeMessage[] = []
  const onRefused = (m: unknown): void => void refused.push(m as HandshakeMessage)
  diagnostics.subscribe(channelNames.refused, onRefused)
  t.teardown(() => diagnostics.unsubscribe(channelNames.refused, onRefused))
  const { port } = await startServer(t, false)
  // A plain RPC client that skips the handshake.
  const { peer } = cioRpcClient(t, port)
  t.equal(((await peer.call('hooks.please').catch((e: unknown) => e)) as CioError).code, codes.NOT_AUTHORIZED)
  t.equal(refused[0]?.code, codes.NOT_AUTHORIZED)
  t.equal(typeof refused[0]?.remoteAddress, 'string')
})
