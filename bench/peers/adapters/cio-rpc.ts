/** cio's RPC listeners (`cio/frame` + `cio/rpc`) on a plain TCP server and client. */
import { once } from 'node:events'
import { buildCio, peerOf, rpcListeners, RpcHandlers } from '../../../lib/index.js'
import { closeServer, HOST, listen, type Adapter } from '../adapter.js'

const adapter: Adapter = {
  id: 'cio-rpc',
  label: 'cio RPC',
  description: 'buildCio() with rpcListeners on both chains; RpcHandlers echo; peerOf(socket).call()',
  memory: true,
  async serve() {
    const cio = buildCio()
    cio.onServerClient(rpcListeners)
    const server = cio.server({ handlers: new RpcHandlers().on('echo', (body) => body) })
    return { info: { port: await listen(server) }, close: () => closeServer(server) }
  },
  async connect(info) {
    const cio = buildCio()
    cio.onClient(rpcListeners)
    const socket = cio.client({ port: info.port, host: HOST })
    const peer = peerOf(socket)
    if (peer === undefined) throw new Error('cio/rpc made no peer')
    await once(socket, 'connect')
    return {
      call: (body) => peer.call('echo', body),
      close: async () => {
        socket.destroy()
      },
    }
  },
}

export default adapter
