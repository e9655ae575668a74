/**
 * A node cut from Redis without a FIN (a proxy that stops forwarding), then
 * healed: every call settles with a code, the other nodes free its names
 * after its lease, and it re-claims them when it is back.
 */
import { once } from 'node:events'
import { createConnection, createServer, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { codes, type CioError } from '../../lib/errors.js'
import { needRedis, startRedis } from '../helpers/redis.js'
import { listenLocal } from '../helpers/net.js'
import { clusterAgent, startNode, until } from './nodes.js'

/** A TCP proxy to a unix socket that can stop forwarding (a partition) and then drop its connections (the heal). */
async function pausableProxy(t: Test, target: string): Promise<{ port: number; cut(): void; heal(): void }> {
  let cut = false
  const pairs = new Set<[Socket, Socket]>()
  const server = createServer((client) => {
    const upstream = createConnection(target)
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const close = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (chunk: Buffer) => void (cut || upstream.write(chunk)))
    upstream.on('data', (chunk: Buffer) => void (cut || client.write(chunk)))
    client.on('close', close).on('error', close)
    upstream.on('close', close).on('error', close)
  })
  t.teardown(() => {
    for (const pair of pairs) for (const socket of pair) socket.destroy()
  })
  const port = await listenLocal(t, server)
  return {
    port,
    cut: () => void (cut = true),
    heal: () => {
      for (const pair of [...pairs]) for (const socket of pair) socket.destroy()
      cut = false
    },
  }
}

t.test('cluster partition - a node cut from Redis without a FIN, then healed', async (t) => {
  if (!needRedis(t)) return
  const redis = await startRedis(t)
  const proxy = await pausableProxy(t, redis.path)
  const a = await startNode(t, redis.path, 'a')
  const b = await startNode(t, `redis://127.0.0.1:${proxy.port}`, 'b')
  const onA = await clusterAgent(t, a.port)
  const onB = await clusterAgent(t, b.port)
  t.equal(await a.server.sendTo(onB.name, 'who'), onB.name, 'cross-node call before the cut')
  const lost = once(a.server, 'nodeLost')
  proxy.cut()
  const [node] = (await lost) as [string]
  t.equal(node, b.server.nodeId, 'the other node reports the cut node lost after its lease')
  const fromA = (await a.server.sendTo(onB.name, 'who', undefined, 3000).catch((e: unknown) => e)) as CioError
  t.equal(fromA.code, codes.AGENT_NOT_CONNECTED, 'its agents are not reachable from the rest')
  t.equal(await b.server.sendTo(onB.name, 'who'), onB.name, 'the cut node still serves its own agents')
  const fromB = (await b.server.sendTo(onA.name, 'who', undefined, 3000).catch((e: unknown) => e)) as CioError
  t.equal(fromB.code, codes.CLUSTER_UNAVAILABLE, 'its remote calls fail with CLUSTER_UNAVAILABLE within redisTimeout')
  const allFromB = (await b.server.sendAllSettled('who', undefined, 3000).catch((e: unknown) => e)) as CioError
  t.equal(allFromB.code, codes.CLUSTER_UNAVAILABLE, 'and its fan-outs')
  proxy.heal()
  await until(async () => {
    try {
      return (await a.server.sendTo(onB.name, 'who', undefined, 1000)) === onB.name
    } catch {
      return false
    }
  }, 10_000, 'the healed node to re-claim its agent')
  t.pass('after the heal the node re-claims its names and is reachable again')
  t.equal(await b.server.sendTo(onA.name, 'who'), onA.name, 'and reaches the others')
  t.equal(a.link.stats().pending + b.link.stats().pending, 0, 'nothing pending')
})
