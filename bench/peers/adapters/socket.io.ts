/**
 * socket.io 4 with acknowledgements (the transport websocket-agent used),
 * websocket transport only (no long-polling start), default options.
 */
import { createServer } from 'node:http'
import { Server } from 'socket.io'
import { io } from 'socket.io-client'
import { closeServer, HOST, listen, type Adapter } from '../adapter.js'

const adapter: Adapter = {
  id: 'socket.io',
  label: 'socket.io 4',
  description: "socket.io server and socket.io-client, transports ['websocket']; emitWithAck('echo', body), the handler acks the body",
  memory: true,
  async serve() {
    const http = createServer()
    const server = new Server(http, { transports: ['websocket'] })
    server.on('connection', (socket) => {
      socket.on('echo', (body: unknown, ack: (value: unknown) => void) => ack(body))
    })
    const port = await listen(http)
    return {
      info: { port },
      close: async () => {
        server.disconnectSockets(true)
        await closeServer(http)
      },
    }
  },
  async connect(info) {
    const socket = io(`http://${HOST}:${info.port}`, { transports: ['websocket'], reconnection: false })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('connect_error', reject)
    })
    return {
      call: (body) => socket.emitWithAck('echo', body),
      close: async () => {
        socket.disconnect()
      },
    }
  },
}

export default adapter
