import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { buildCio } from '../lib/builder.js'
import { generateCerts } from '../lib/certs.js'

export const demoHelp = `usage: cio demo

Makes throwaway certificates, starts a TLS server on a free loopback port,
connects a client that checks the server's certificate, exchanges a
message, and exits. Needs no arguments and leaves nothing behind.`

/** `cio demo`: the main job, a whole TLS round trip on loopback. */
export async function demoCommand(print: (line: string) => void): Promise<void> {
  const started = performance.now()
  print('making a CA and a server certificate for localhost...')
  const certs = await generateCerts()
  const cio = buildCio({ root: certs.ca.cert })
  cio.onServerClient((_control, context) => {
    context.serverClient.once('data', (data: Buffer) => context.serverClient.end(`hello ${data.toString()}, you reached a TLS server`))
  })
  const server = cio.server({ private: certs.server.key, public: certs.server.cert })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  print(`TLS server listening on 127.0.0.1:${port}`)
  try {
    const client = cio.client({ port, host: '127.0.0.1' }) as TLSSocket
    await once(client, 'secureConnect')
    print(`client connected, server certificate verified: ${client.authorized}, ${client.getProtocol() ?? 'unknown protocol'}`)
    client.end('demo client')
    const chunks: Buffer[] = []
    client.on('data', (chunk: Buffer) => chunks.push(chunk))
    await once(client, 'close')
    print(`server said: ${Buffer.concat(chunks).toString()}`)
  } finally {
    server.close()
  }
  print(`done in ${Math.round(performance.now() - started)} ms`)
}
