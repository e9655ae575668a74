/**
 * Child process of bench/builds: one side of an RPC echo, made with the
 * cio build found in `<checkout>/dist`, driven by lines on stdin.
 *
 *   server <checkout>         prints its port; each line in: prints the process's CPU µs so far
 *   client <checkout> <port>  prints `ready`; each `{ inFlight, ms }` in: calls for ms, prints
 *                             `{ calls, elapsed, clientCpu }`
 *
 * Only the API every build since 0.1 has is used (`buildCio`, the `cio/rpc`
 * listeners, `RpcHandlers`, `peerOf`), typed here by hand: the builds are
 * loaded from paths known at run time.
 */
import { once } from 'node:events'
import type { AddressInfo, Server, Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { small } from './method.js'
import { measure } from './stats.js'

interface BuildCio {
  onServerClient(listeners: unknown): unknown
  onClient(listeners: unknown): unknown
  server(options: object): Server
  client(options: object): Socket
}
interface Registry {
  on(action: string, handler: (body: unknown) => unknown): Registry
}

const [role, root, port] = process.argv.slice(2)
if (root === undefined) throw new Error('usage: builds-peer.ts server|client <checkout> [port]')
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(`${root}/dist/${path}`).href)) as T
const { default: buildCio } = await load<{ default: () => BuildCio }>('lib/index.js')
const { default: rpcListeners } = await load<{ default: unknown }>('listeners/rpc.js')
const cio = buildCio()
const lines = createInterface({ input: process.stdin })

if (role === 'server') {
  const { RpcHandlers } = await load<{ RpcHandlers: new () => Registry }>('lib/rpc/handlers.js')
  cio.onServerClient(rpcListeners)
  const echo = process.env.BENCH_ASYNC === '1' ? async (body: unknown) => body : (body: unknown) => body
  const server = cio.server({ handlers: new RpcHandlers().on('echo', echo) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`)
  lines.on('line', () => {
    const used = process.cpuUsage()
    process.stdout.write(`${used.user + used.system}\n`)
  })
  lines.on('close', () => process.exit(0))
} else {
  const { peerOf } = await load<{ peerOf(socket: Socket): { call(action: string, body: unknown): Promise<unknown> } | undefined }>('lib/rpc/peer.js')
  cio.onClient(rpcListeners)
  const socket = cio.client({ port: Number(port), host: '127.0.0.1' })
  await once(socket, 'connect')
  const peer = peerOf(socket)
  if (peer === undefined) throw new Error('this build made no peer')
  process.stdout.write('ready\n')
  for await (const line of lines) {
    const { inFlight, ms } = JSON.parse(line) as { inFlight: number; ms: number }
    const before = process.cpuUsage()
    const run = await measure((body) => peer.call('echo', body), inFlight, small, ms)
    const used = process.cpuUsage(before)
    process.stdout.write(`${JSON.stringify({ ...run, clientCpu: used.user + used.system })}\n`)
  }
  socket.destroy()
}
