/**
 * jayson 5 over TCP: JSON-RPC 2.0, newline-delimited. Its TCP client opens a
 * new connection for every request (that is how jayson's TCP transport
 * works), so the calls/s include a TCP connect each; with 64 in flight it
 * has 64 connections open at once.
 */
import jayson from 'jayson'
import type { Server } from 'node:net'
import { closeServer, HOST, listen, type Adapter } from '../adapter.js'

const adapter: Adapter = {
  id: 'jayson',
  label: 'jayson (TCP)',
  description: "jayson.Server({ echo }).tcp() and jayson.Client.tcp(); request('echo', [body]); a new TCP connection per request (jayson's TCP client)",
  async serve() {
    const rpc = new jayson.Server({
      echo: (params: unknown[], callback: (error: null, result: unknown) => void) => callback(null, params[0]),
    })
    const server: Server = rpc.tcp()
    return { info: { port: await listen(server) }, close: () => closeServer(server) }
  },
  async connect(info) {
    const client = jayson.Client.tcp({ port: info.port, host: HOST })
    const call = (body: unknown): Promise<unknown> =>
      new Promise((resolve, reject) => {
        client.request('echo', [body], (error: unknown, response: { result?: unknown; error?: unknown } | undefined) => {
          if (error !== null && error !== undefined) reject(error instanceof Error ? error : new Error(String(error)))
          else if (response?.error !== undefined) reject(new Error(JSON.stringify(response.error)))
          else resolve(response?.result)
        })
      })
    // The transport connects per request: check the server answers at all.
    await call('ready')
    return { call, close: async () => undefined }
  },
}

export default adapter
