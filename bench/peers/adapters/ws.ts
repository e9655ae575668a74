/** ws 8 with id correlation: JSON `{id, body}` out, the same JSON echoed back (parsed and re-serialised). */
import { createServer } from 'node:http'
import { once } from 'node:events'
import { WebSocket, WebSocketServer } from 'ws'
import { closeServer, HOST, listen, Pending, type Adapter } from '../adapter.js'

const adapter: Adapter = {
  id: 'ws',
  label: 'ws 8',
  description: 'ws WebSocketServer and WebSocket, default options; text frames of JSON {id, body}, a Map of ids on the client',
  memory: true,
  async serve() {
    const http = createServer()
    const server = new WebSocketServer({ server: http })
    server.on('connection', (socket) => {
      socket.on('message', (data) => {
        const { id, body } = JSON.parse(String(data)) as { id: number; body: unknown }
        socket.send(JSON.stringify({ id, body }))
      })
    })
    const port = await listen(http)
    return {
      info: { port },
      close: async () => {
        for (const socket of server.clients) socket.terminate()
        server.close()
        await closeServer(http)
      },
    }
  },
  async connect(info) {
    const socket = new WebSocket(`ws://${HOST}:${info.port}`)
    const pending = new Pending()
    socket.on('message', (data) => {
      const { id, body } = JSON.parse(String(data)) as { id: number; body: unknown }
      pending.settle(id, body)
    })
    await once(socket, 'open')
    return {
      call: (body) => pending.call((id) => socket.send(JSON.stringify({ id, body }))),
      close: async () => {
        socket.terminate()
      },
    }
  },
}

export default adapter
