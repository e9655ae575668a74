import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import { codes, CioError } from '../../lib/errors.js'
import { keyPrefix } from '../../lib/redis/index.js'
import { batchJson, clusterKey, encodeMessage, signJson } from '../../lib/cluster/wire.js'
import { handshakeKey } from '../../lib/agent/handshake.js'
import { SECRET } from '../helpers/agents.js'
import { needRedis, redisCommand, startRedis } from '../helpers/redis.js'
import { thrown } from '../helpers/errors.js'
import { AgentServer } from '../../lib/agent/server/agent-server.js'
import { redisCluster } from '../../lib/redis/index.js'
import { CLUSTER_TIMING, clusterAgent, startNode, until, type TestNode } from './nodes.js'

function settledAll(nodes: TestNode[]): boolean {
  return nodes.every((node) => node.link.stats().pending === 0 && node.link.stats().serving === 0)
}

t.test('cluster - names unique across three nodes, sendTo both ways, listAgents', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const nodes = [await startNode(t, redis.path, 'n1'), await startNode(t, redis.path, 'n2'), await startNode(t, redis.path, 'n3')]
  const names: string[] = []
  const agents = await Promise.all(Array.from({ length: 9 }, (_, i) => clusterAgent(t, (nodes[i % 3] as TestNode).port)))
  for (const { name } of agents) names.push(name)
  t.same([...names].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))), ['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8', 'A9'], 'nine names from one counter, none twice')
  for (const [i, node] of nodes.entries()) {
    for (const [j, { name }] of agents.entries()) {
      if (j % 3 === i) continue
      t.equal(await node.server.sendTo(name, 'who'), name, `node ${i + 1} reaches ${name} on node ${(j % 3) + 1}`)
    }
  }
  const listed = await nodes[0]!.server.listAgents()
  t.equal(listed.length, 9, 'listAgents covers the cluster')
  t.equal(listed.find((a) => a.name === agents[1]!.name)?.node, nodes[1]!.server.nodeId, 'with the node of each')
  t.equal(nodes[0]!.server.getAgents().length, 3, 'getAgents stays local')
  const unknown = await nodes[0]!.server.sendTo('A999', 'who').catch((e: unknown) => e)
  t.equal((unknown as CioError).code, codes.UNKNOWN_AGENT, 'a name never given out: UNKNOWN_AGENT')
  await agents[4]!.agent.close()
  await until(async () => (await nodes[0]!.server.listAgents()).length === 8, 3000, 'the release')
  const gone = await nodes[0]!.server.sendTo(agents[4]!.name, 'who').catch((e: unknown) => e)
  t.equal((gone as CioError).code, codes.AGENT_NOT_CONNECTED, 'a closed agent: AGENT_NOT_CONNECTED')
  t.ok(settledAll(nodes), 'nothing pending')
})

t.test('cluster - DUPLICATE_ID across nodes names the holder; the first keeps it', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const [a, b] = [await startNode(t, redis.path, 'a'), await startNode(t, redis.path, 'b')]
  const first = await clusterAgent(t, a.port)
  const refused = new Promise<CioError>((resolve) => b.server.once('error', resolve))
  const { Agent } = await import('../../lib/agent/client/agent.js')
  const second = new Agent({ host: `127.0.0.1:${b.port}`, secret: SECRET, heartbeatInterval: 0, reconnect: { initialDelay: 50, maxDelay: 100 }, dataStore: { save: async () => {}, load: async () => ({ name: first.name }) } })
  second.on('error', () => {})
  t.teardown(() => second.close())
  const error = await refused
  t.equal(error.code, codes.DUPLICATE_ID)
  t.equal(error.details.node, a.server.nodeId, `details.node says where the name is held (${error.message})`)
  t.equal(await b.server.sendTo(first.name, 'who'), first.name, 'the first connection keeps the name')
  await second.close()
  await first.agent.close()
  // Once the first leaves, the name is free for the one coming back.
  const back = await clusterAgent(t, b.port, first.name)
  t.equal(back.name, first.name, 'the name is taken over once its holder left')
})

t.test('cluster - sendAllSettled names each outcome across nodes, slow agents as TIMEOUT with details.node', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const nodes = [await startNode(t, redis.path, 'a'), await startNode(t, redis.path, 'b')]
  const agents = await Promise.all([0, 1, 0, 1, 1].map((i) => clusterAgent(t, nodes[i]!.port)))
  const slow = agents[4]!
  // Deadlines with room for a loaded machine: the answering node keeps back a tenth of 1500 ms for the way back.
  slow.agent.onHook('who', () => new Promise((resolve) => setTimeout(resolve, 3000, 'late')))
  const thrower = agents[1]!
  thrower.agent.onHook('who', () => {
    throw { plain: 'value' }
  })
  const results = await nodes[0]!.server.sendAllSettled('who', undefined, 1500)
  t.same(Object.keys(results).slice(0, 2).sort(), [agents[0]!.name, agents[2]!.name].sort(), 'local agents first')
  t.equal(Object.keys(results).length, 5, 'every agent of every node named')
  t.same(results[agents[3]!.name], { ok: true, value: agents[3]!.name }, 'a remote answer')
  const timedOut = results[slow.name] as { ok: false; error: CioError }
  t.equal(timedOut.error.code, codes.TIMEOUT, 'the slow one: TIMEOUT')
  t.equal(timedOut.error.details.node, nodes[1]!.server.nodeId, 'with details.node')
  t.same((results[thrower.name] as { error: unknown }).error, { plain: 'value' }, 'a thrown plain value arrives unchanged')
  const failure = await nodes[0]!.server.sendAll('who', undefined, 1500).catch((e: unknown) => e as CioError)
  t.equal((failure as CioError).code, codes.SEND_ALL_FAILED)
  t.equal(Object.keys((failure as CioError).details.results as object).length, 5, 'SEND_ALL_FAILED holds every outcome')
  await until(() => settledAll(nodes), 6000, 'the late answer')
  t.ok(settledAll(nodes), 'nothing pending')
})

t.test('cluster - hostile messages on a node inbox are dropped and counted', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const [a, b] = [await startNode(t, redis.path, 'a'), await startNode(t, redis.path, 'b')]
  const agent = await clusterAgent(t, a.port)
  let calls = 0
  agent.agent.onHook('steal', () => ++calls)
  const raw = new Redis({ path: redis.path, lazyConnect: true })
  t.teardown(() => raw.disconnect())
  await raw.connect()
  const inbox = `${keyPrefix('cio')}inbox:${a.server.nodeId}`
  const good = encodeMessage(clusterKey(handshakeKey(SECRET)), { v: 1, t: 'call', id: 1_000_000, from: 'evil~x', name: agent.name, action: 'steal', ttl: 1000 })
  const wrongKey = encodeMessage(clusterKey(handshakeKey('another secret entirely')), { v: 1, t: 'call', id: 1, from: 'evil~y', name: agent.name, action: 'steal', ttl: 1000 })
  const hostile = [
    'not a message',
    `${'A'.repeat(43)}.{}`,
    wrongKey,
    good.slice(0, 44) + good.slice(44).replace('steal', 'steaL'),
    `${good.slice(0, 43)}.${'x'.repeat(2 * 1024 * 1024)}`,
    encodeMessage(clusterKey(handshakeKey(SECRET)), { v: 1, t: 'reply', id: 424242, node: 'x', outcome: { ok: true, value: 1 }, delivered: true }),
    encodeMessage(clusterKey(handshakeKey(SECRET)), { v: 2, t: 'call' } as never),
    encodeMessage(clusterKey(handshakeKey(SECRET)), { v: 1, t: 'allReply', id: 3, node: 'x', part: 5, parts: 2, results: { __proto__: { ok: true } } } as never),
    encodeMessage(clusterKey(handshakeKey(SECRET)), { v: 1, t: 'call', id: 2, from: 'evil~z', name: agent.name, action: 'steal', ttl: -5 }),
  ]
  for (const text of hostile) t.equal(await raw.publish(inbox, text), 1, 'published to the node')
  await until(() => a.link.stats().dropped >= hostile.length, 3000, 'the drops')
  t.equal(a.link.stats().dropped, hostile.length, 'each hostile message dropped and counted')
  t.equal(calls, 0, 'none reached an agent')
  // A correctly signed call replayed: the first runs (whoever holds the key may call), the replay does not.
  await raw.publish(inbox, good)
  await until(() => calls === 1, 3000, 'the signed call')
  await raw.publish(inbox, good)
  await until(() => a.link.stats().dropped === hostile.length + 1, 3000, 'the replay drop')
  t.equal(calls, 1, 'a replayed message is refused')
  // In a batch each item is judged alone: the replayed call is dropped, the fresh one runs.
  const item = (id: number): string => JSON.stringify({ v: 1, t: 'call', id, from: 'evil~x', name: agent.name, action: 'steal', ttl: 1000 })
  await raw.publish(inbox, signJson(clusterKey(handshakeKey(SECRET)), batchJson([item(1_000_000), item(1_000_001)])))
  await until(() => calls === 2 && a.link.stats().dropped === hostile.length + 2, 3000, 'the batch')
  t.equal(calls, 2, 'in a batch, the replayed call is refused and the fresh one runs')
  t.equal(await b.server.sendTo(agent.name, 'who'), agent.name, 'the node keeps working')
  t.ok(settledAll([a, b]), 'nothing pending')
})

t.test('cluster - Redis killed: local calls go on, remote ones fail at once; restarted empty: counter re-seeded, no name twice', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const [a, b] = [await startNode(t, redis.path, 'a'), await startNode(t, redis.path, 'b')]
  const onA = await clusterAgent(t, a.port)
  const onB = await clusterAgent(t, b.port)
  const before = [onA.name, onB.name]
  const down = once(a.server, 'clusterDown')
  await redis.kill('SIGKILL')
  await down
  t.equal(await a.server.sendTo(onA.name, 'who'), onA.name, 'a local agent still answers')
  const started = performance.now()
  const remote = await a.server.sendTo(onB.name, 'who').catch((e: unknown) => e as CioError)
  t.equal((remote as CioError).code, codes.CLUSTER_UNAVAILABLE, 'a remote call: CLUSTER_UNAVAILABLE')
  const all = await a.server.sendAllSettled('who').catch((e: unknown) => e as CioError)
  t.equal((all as CioError).code, codes.CLUSTER_UNAVAILABLE, 'sendAllSettled: CLUSTER_UNAVAILABLE')
  t.same(Object.keys((all as CioError).details.results as object), [onA.name], 'with the local outcomes')
  t.ok(performance.now() - started < 1000, 'at once, not after a queue')
  const lost = once(a.server, 'clusterDataLost')
  const up = once(a.server, 'clusterUp')
  await redis.start()
  await up
  await lost
  const fresh = await clusterAgent(t, b.port)
  t.ok(Number(fresh.name.slice(1)) > Math.max(...before.map((name) => Number(name.slice(1)))), `the new name ${fresh.name} comes after every earlier one`)
  await until(async () => (await a.server.listAgents()).length === 3, 3000, 'names re-claimed')
  t.equal(await a.server.sendTo(onB.name, 'who'), onB.name, 'cross-node calls work again')
  t.ok(settledAll([a, b]), 'nothing pending')
})

t.test('cluster - message size: big calls refused, big fan-out answers split, an oversized answer becomes a fault', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const small = { maxMessageBytes: 4096 }
  const [a, b] = [await startNode(t, redis.path, 'a', small), await startNode(t, redis.path, 'b', small)]
  const remote = await Promise.all(Array.from({ length: 12 }, () => clusterAgent(t, b.port)))
  for (const { agent } of remote) agent.onHook('big', (size) => 'x'.repeat(size as number))
  const tooBig = (await a.server.sendTo(remote[0]!.name, 'who', 'y'.repeat(5000)).catch((e: unknown) => e)) as CioError
  t.equal(tooBig.code, codes.INVALID_ARGUMENT, 'a call over maxMessageBytes is refused before it is sent')
  const refusedAll = (await a.server.sendAllSettled('who', 'y'.repeat(5000)).catch((e: unknown) => e)) as CioError
  t.equal(refusedAll.code, codes.INVALID_ARGUMENT, 'a fan-out too')
  const results = await a.server.sendAllSettled('big', 700)
  t.equal(Object.keys(results).length, 12, 'twelve answers of 700 B arrive in several parts under 4 KiB')
  t.ok(Object.values(results).every((outcome) => outcome.ok && (outcome.value as string).length === 700))
  const huge = (await a.server.sendTo(remote[0]!.name, 'big', 10_000).catch((e: unknown) => e)) as CioError
  t.equal(huge.code, codes.INVALID_MESSAGE, 'an answer over the limit comes back as a fault')
  const hugeAll = await a.server.sendAllSettled('big', 10_000)
  t.equal(((hugeAll[remote[1]!.name] as { error: CioError }).error).code, codes.INVALID_MESSAGE, 'in a fan-out too')
  const nodes = await a.link.listNodes()
  t.same(nodes.map((node) => node.name).sort(), ['a', 'b'], 'listNodes names the live nodes')
  t.equal(nodes[0]?.pid, process.pid)
  t.ok(settledAll([a, b]), 'nothing pending')
})

t.test('cluster - sendAll with no agent anywhere: NO_CONNECTED_AGENTS; close leaves the cluster at once', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const [a, b] = [await startNode(t, redis.path, 'a'), await startNode(t, redis.path, 'b')]
  const none = (await a.server.sendAll('who').catch((e: unknown) => e)) as CioError
  t.equal(none.code, codes.NO_CONNECTED_AGENTS, String(none.message ?? none))
  const onB = await clusterAgent(t, b.port)
  const lost = once(a.server, 'nodeLost')
  onB.agent.onHook('slow', () => new Promise((resolve) => setTimeout(resolve, 5000)))
  const pending = a.server.sendTo(onB.name, 'slow', undefined, 10_000).catch((e: unknown) => e as CioError)
  await new Promise((resolve) => setTimeout(resolve, 100))
  await b.server.close()
  const error = await pending
  t.equal((error as CioError).code, codes.DISCONNECTED, `a call pending on a node that closes fails (${(error as CioError).message})`)
  await lost
  t.same(await a.server.listAgents(), [], 'the closed node left with its names')
  t.equal(((await a.server.sendTo(onB.name, 'who').catch((e: unknown) => e)) as CioError).code, codes.AGENT_NOT_CONNECTED)
  t.ok(settledAll([a]), 'nothing pending')
})

t.test('cluster - a stale name left to a node (a release that never arrived) is freed by its periodic reconcile', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const [a, b] = [await startNode(t, redis.path, 'a'), await startNode(t, redis.path, 'b')]
  const raw = new Redis({ path: redis.path })
  t.teardown(() => raw.disconnect())
  // Once node a has joined (a fan-out waits for that), as if it had named A5 and its release had been lost.
  await a.server.sendAllSettled('who')
  await raw.hset(`${keyPrefix('cio')}owners`, 'A5', a.server.nodeId as string)
  await raw.sadd(`${keyPrefix('cio')}agents:${a.server.nodeId}`, 'A5')
  const refused = once(b.server, 'error')
  const back = clusterAgent(t, b.port, 'A5')
  t.equal(((await refused) as [CioError])[0].code, codes.DUPLICATE_ID, 'refused while node a still holds the name')
  const { name } = await back
  t.equal(name, 'A5', 'taken once node a reconciled its names with its connections')
  t.same((await a.server.listAgents()).map((agent) => agent.node), [b.server.nodeId])
})

t.test('cluster - a hook calling an agent on another node passes on its deadline (sendTo and sendAll)', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const [a, b] = [await startNode(t, redis.path, 'a'), await startNode(t, redis.path, 'b')]
  const caller = await clusterAgent(t, a.port)
  const far = await clusterAgent(t, b.port)
  far.agent.onHook('given', (_message, _socket, call) => call.deadline - Date.now())
  caller.agent.onHook('given', () => 'near')
  a.server.onHook('relay', async () => {
    await new Promise((resolve) => setImmediate(resolve))
    return a.server.sendTo(far.name, 'given', null, { timeout: 60_000 })
  })
  a.server.onHook('relay-all', async () => {
    await new Promise((resolve) => setImmediate(resolve))
    return a.server.sendAll('given', null, { timeout: 60_000 })
  })
  const given = (await caller.agent.send('relay', null, { timeout: 5000 })) as number
  t.ok(given > 0 && given <= 5000, `the agent on the other node was given ${Math.round(given)} ms, not 60 s`)
  const all = (await caller.agent.send('relay-all', null, { timeout: 5000 })) as Record<string, unknown>
  const farGiven = all[far.name] as number
  t.ok(farGiven > 0 && farGiven <= 5000, `sendAll: the far agent was given ${Math.round(farGiven)} ms`)
  t.equal(all[caller.name], 'near')
})

t.test('cluster - a node remembered for an agent goes stale: the agent moved, then its node closed; repeated calls skip the lookup', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const [a, b, c] = [await startNode(t, redis.path, 'a'), await startNode(t, redis.path, 'b'), await startNode(t, redis.path, 'c')]
  const raw = new Redis({ path: redis.path })
  t.teardown(() => raw.disconnect())
  const lookups = async (): Promise<number> => Number((await raw.info('commandstats')).match(/^cmdstat_evalsha:calls=(\d+)/m)?.[1] ?? 0)
  const moving = await clusterAgent(t, b.port)
  t.equal(await a.server.sendTo(moving.name, 'who'), moving.name, 'reached on b')
  const before = await lookups()
  for (let i = 0; i < 20; i++) await a.server.sendTo(moving.name, 'who')
  t.ok((await lookups()) - before < 10, 'calls to a remembered agent publish without the lookup script (heartbeats aside)')
  await moving.agent.close()
  const moved = await clusterAgent(t, c.port, moving.name)
  await until(async () => (await a.server.listAgents()).some((x) => x.name === moving.name && x.node === c.server.nodeId), 3000, 'the move')
  t.equal(await a.server.sendTo(moved.name, 'who'), moving.name, 'reached on c after b answered that it no longer has it')
  t.equal(await a.server.sendTo(moved.name, 'who'), moving.name, 'and again')
  const staying = await clusterAgent(t, b.port)
  t.equal(await a.server.sendTo(staying.name, 'who'), staying.name, 'reached on b')
  await b.server.close()
  const error = (await a.server.sendTo(staying.name, 'who').catch((e: unknown) => e)) as CioError
  t.equal(error.code, codes.AGENT_NOT_CONNECTED, `its node closed: nobody listens there, Redis is asked, AGENT_NOT_CONNECTED (${error.message})`)
  t.equal(await c.server.sendTo(moved.name, 'who').catch(() => 'local'), moved.name, 'local agents stay local')
  t.ok(settledAll([a, c]), 'nothing pending')
})

t.test('cluster - calls and answers made in the same turn travel as one message per node, split under maxMessageBytes', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const [a, b] = [await startNode(t, redis.path, 'a', { maxMessageBytes: 4096 }), await startNode(t, redis.path, 'b', { maxMessageBytes: 4096 })]
  const raw = new Redis({ path: redis.path })
  t.teardown(() => raw.disconnect())
  const publishes = async (): Promise<number> => Number((await raw.info('commandstats')).match(/^cmdstat_publish:calls=(\d+)/m)?.[1] ?? 0)
  const far = await clusterAgent(t, b.port)
  far.agent.onHook('echo', (message) => message)
  t.equal(await a.server.sendTo(far.name, 'who'), far.name, 'reached once: its node is remembered')
  const before = await publishes()
  const bodies = Array.from({ length: 200 }, (_, i) => ({ i, pad: 'p'.repeat(300) }))
  const answers = await Promise.all(bodies.map((body) => a.server.sendTo(far.name, 'echo', body)))
  t.same(answers, bodies, 'every call answered with its own body')
  const used = (await publishes()) - before
  t.ok(used >= 2 * Math.ceil((200 * 380) / 4096), `split to fit 4096 bytes (${used} PUBLISH for 200 calls and their answers)`)
  t.ok(used < 100, 'far fewer PUBLISH than messages')
  t.ok(settledAll([a, b]), 'nothing pending')
})

t.test('cluster - a server closed while its handshake key is derived never joins; a link serving a server is refused at once', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const a = await startNode(t, redis.path, 'a')
  const clients = async (): Promise<number> => (await redisCommand(redis.path, 'CLIENT LIST')).split('\n').filter((line) => line.includes('id=')).length
  const before = await clients()
  // A secret no other test derived: the key is not there when close() is called.
  const secret = randomBytes(24).toString('base64')
  const link = redisCluster({ redis: redis.path, nodeName: 'late', ...CLUSTER_TIMING })
  const server = new AgentServer({ secret, port: 0, host: '127.0.0.1', heartbeatInterval: 0, cluster: link })
  server.ready().catch(() => {})
  await server.close()
  await new Promise((resolve) => setTimeout(resolve, 3 * CLUSTER_TIMING.heartbeatInterval))
  t.same((await a.link.listNodes()).map((node) => node.name), ['a'], 'the closed server never joined')
  t.ok((await clients()) <= before, 'and opened no Redis connection')
  const error = thrown(() => new AgentServer({ secret, port: 0, host: '127.0.0.1', cluster: a.link }))
  t.equal(error.code, codes.INVALID_OPTION, 'a link already serving a server: thrown by the constructor, not later')
})

t.test('cluster - an action too long for the wire is refused at the call; the calls sent with it in the same turn are answered', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const [a, b] = [await startNode(t, redis.path, 'a'), await startNode(t, redis.path, 'b')]
  const far = await clusterAgent(t, b.port)
  t.equal(await a.server.sendTo(far.name, 'who'), far.name, 'the first call: its node is remembered')
  const long = 'x'.repeat(1100)
  const [good, bad] = await Promise.all([a.server.sendTo(far.name, 'who', undefined, 3000), a.server.sendTo(far.name, long, undefined, 3000).catch((e: unknown) => e as CioError)])
  t.equal(good, far.name, 'the call sent in the same turn is answered')
  t.equal((bad as CioError).code, codes.INVALID_ARGUMENT, 'the long action is refused at once')
  const all = await a.server.sendAll(long, undefined, 3000).catch((e: unknown) => e as CioError)
  t.equal((all as CioError).code, codes.INVALID_ARGUMENT, 'sendAll too')
  t.equal(b.link.stats().dropped, 0, 'node b dropped nothing')
})
