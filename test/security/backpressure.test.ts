/**
 * Hostile peers with the secret: an agent that pipelines calls and never
 * reads the answers, one that calls a slow hook without end, one that
 * floods pings. The server (a child process, measured after gc) must hold
 * memory bounded by its caps, tell handlers their caller left, and keep
 * serving a second agent.
 */
import { once } from 'node:events'
import type net from 'node:net'
import t, { type Test } from 'tap'
import { Agent } from '../../lib/agent/index.js'
import { encodeFrame } from '../../lib/frame/encoder.js'
import { SECRET } from '../helpers/agents.js'
import { Child } from '../faults/children.js'
import { connectRaw, figure, handshake, SCALE } from './helpers.js'

type Stats = { memory: NodeJS.MemoryUsage; holding: number }

async function serverChild(t: Test, heartbeatInterval = 0) {
  const server = new Child('agent-server', { secret: SECRET, quiet: true, heartbeatInterval }, t.teardown.bind(t), ['--expose-gc'])
  const { port } = (await server.wait('listening', 20_000)) as unknown as { port: number }
  const stats = async (): Promise<Stats> => (await server.ask({ cmd: 'stats' }, 'stats', 20_000)) as unknown as Stats
  return { server, port, stats }
}

/** Writes `frame` `count` times in batches, waiting for drain; stops early when the socket stays full for `stallMs`. */
async function pipeline(socket: net.Socket, frame: Buffer, count: number, stallMs = 1000): Promise<number> {
  const batch = 512
  const chunk = Buffer.concat(Array.from({ length: batch }, () => frame))
  let sent = 0
  while (sent < count) {
    const ok = socket.write(count - sent >= batch ? chunk : chunk.subarray(0, (count - sent) * frame.length))
    sent += Math.min(batch, count - sent)
    if (!ok) {
      const drained = await Promise.race([once(socket, 'drain').then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, stallMs, false))])
      if (!drained) break
    }
  }
  return sent
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)

t.test('backpressure - an agent that pipelines calls and never reads: the server stops reading it, memory bounded', async (t) => {
  const { server, port, stats } = await serverChild(t)
  const socket = await connectRaw(port)
  t.teardown(() => socket.destroy())
  await handshake(socket, SECRET)
  socket.pause()
  const before = await stats()
  const target = 100_000 * SCALE
  const frame = encodeFrame({ id: 7, action: 'echo', body: 'x'.repeat(100) })
  const sent = await pipeline(socket, frame, target)
  const after = await stats()
  const held = after.memory.heapUsed + after.memory.external - before.memory.heapUsed - before.memory.external
  figure(t, `unread flood: ${sent} of ${target} calls (${frame.length} B each) got into the socket before TCP stopped the sender; server heap + external +${mib(held)} MiB, RSS +${mib(after.memory.rss - before.memory.rss)} MiB`)
  t.ok(sent < target, 'the sender was stopped: the server no longer reads it')
  t.ok(held < 64 * 1024 * 1024, `server memory bounded (${mib(held)} MiB)`)
  socket.destroy()
  await server.stop()
})

t.test('backpressure - calls to a slow hook: at most maxIncomingCalls run, each told through call.signal when the caller leaves', async (t) => {
  // The heartbeat's ping is how a connection that stopped being read learns its peer left.
  const { server, port, stats } = await serverChild(t, 500)
  const socket = await connectRaw(port)
  t.teardown(() => socket.destroy())
  await handshake(socket, SECRET)
  const before = await stats()
  const count = 5000 * SCALE
  const frames = Buffer.concat(Array.from({ length: count }, (_, i) => encodeFrame({ id: 10 + i, action: 'hold', body: 'y'.repeat(100) })))
  socket.write(frames)
  let during = await stats()
  for (let i = 0; i < 50 && during.holding < 1024; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    during = await stats()
  }
  const held = during.memory.heapUsed + during.memory.external - before.memory.heapUsed - before.memory.external
  t.equal(during.holding, 1024, `maxIncomingCalls (1024) handlers running, not ${count}`)
  figure(t, `${count} calls to a hook that never answers: ${during.holding} running, server heap + external +${mib(held)} MiB`)
  socket.destroy()
  let after = await stats()
  for (let i = 0; i < 100 && after.holding > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    after = await stats()
  }
  t.equal(after.holding, 0, 'every running handler saw call.signal abort when the connection closed')
  await server.stop()
})

t.test("backpressure - a second agent's calls/s while another floods pings", async (t) => {
  const { server, port } = await serverChild(t)
  const agent = new Agent({ host: `127.0.0.1:${port}`, secret: SECRET })
  t.teardown(() => agent.close())
  await once(agent, 'ready')
  const rate = async (ms: number): Promise<number> => {
    const end = performance.now() + ms
    let calls = 0
    while (performance.now() < end) {
      await agent.send('echo', 'ping?')
      calls++
    }
    return calls / (ms / 1000)
  }
  await rate(300)
  const quiet = await rate(1500)
  const results: string[] = [`alone ${Math.round(quiet)} calls/s`]
  for (const reading of [true, false]) {
    const flooder = new Child('flooder', { port, secret: SECRET, reading }, t.teardown.bind(t))
    await flooder.wait('flooding', 20_000)
    await rate(200)
    const during = await rate(1500)
    await flooder.stop()
    results.push(`${reading ? 'reading' : 'unread'} ping flood: ${Math.round(during)} calls/s (${(during / quiet).toFixed(2)} x alone)`)
    t.ok(during > 0, `the second agent is answered during a ${reading ? 'reading' : 'unread'} flood`)
  }
  figure(t, `second agent, 1 call in flight: ${results.join('; ')}`)
  await agent.close()
  await server.stop()
})
