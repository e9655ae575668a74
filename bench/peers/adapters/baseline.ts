/**
 * The baseline: bench/baseline.ts, the hand-written `net` echo with cio's
 * framing (4-byte length + JSON `{id, action, body}` / `{id, result}`), and
 * the same code over `tls` as the reference for TLS rows.
 */
import net from 'node:net'
import tls from 'node:tls'
import { once } from 'node:events'
import { generateCerts } from '../../../lib/index.js'
import { BaselineClient, serveEcho } from '../../baseline.js'
import { closeServer, HOST, listen, type Adapter, type Client } from '../adapter.js'

function client(socket: net.Socket): Client {
  const caller = new BaselineClient(socket)
  return {
    call: (body) => caller.call('echo', body),
    close: async () => {
      socket.destroy()
    },
  }
}

export const baseline: Adapter = {
  id: 'baseline',
  label: 'raw net (baseline)',
  description: 'bench/baseline.ts: node:net, 4-byte length + JSON, ids and a Map; no validation, no timers',
  memory: true,
  async serve() {
    const server = net.createServer(serveEcho)
    return { info: { port: await listen(server) }, close: () => closeServer(server) }
  },
  async connect(info) {
    const socket = net.connect({ port: info.port, host: HOST })
    await once(socket, 'connect')
    return client(socket)
  },
}

export const baselineTls: Adapter = {
  id: 'baseline-tls',
  label: 'raw tls',
  description: 'the same baseline code over node:tls (reference for the TLS rows)',
  memory: true,
  async serve() {
    const certs = await generateCerts()
    const server = tls.createServer({ key: certs.server.key, cert: certs.server.cert }, serveEcho)
    return { info: { port: await listen(server), ca: certs.ca.cert }, close: () => closeServer(server) }
  },
  async connect(info) {
    const socket = tls.connect({ port: info.port, host: HOST, servername: 'localhost', ca: String(info.ca) })
    await once(socket, 'secureConnect')
    return client(socket)
  },
}

export default [baseline, baselineTls]
