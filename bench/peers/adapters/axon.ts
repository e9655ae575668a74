/**
 * axon 2 req/rep: amp framing, axon's own message ids on one connection.
 * The body travels wrapped as `{ body }`, so axon JSON-encodes it as every
 * other library does: a bare string argument would go out as raw UTF-8
 * without JSON, which skips the work that dominates the 64 KiB scenario.
 */
import axon from 'axon'
import { once } from 'node:events'
import type { Server } from 'node:net'
import { HOST, type Adapter } from '../adapter.js'

const adapter: Adapter = {
  id: 'axon',
  label: 'axon (req/rep)',
  description: "axon.socket('rep').bind() and axon.socket('req').connect(); send({ body }, callback), the rep replies with the message it got (JSON both ways)",
  async serve() {
    const rep = axon.socket('rep')
    rep.on('message', (message: unknown, reply: (value: unknown) => void) => reply(message))
    rep.bind(0, HOST)
    const server = (rep as unknown as { server: Server }).server
    if (!server.listening) await once(server, 'listening')
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('axon: no TCP address')
    return {
      info: { port: address.port },
      close: async () => {
        const closed = once(server, 'close')
        rep.close()
        await closed
      },
    }
  },
  async connect(info) {
    const req = axon.socket('req')
    req.connect(info.port, HOST)
    await once(req, 'connect')
    return {
      call: (body) => new Promise((resolve) => req.send({ body }, (message: { body: unknown }) => resolve(message.body))),
      close: async () => {
        req.close()
      },
    }
  },
}

export default adapter
