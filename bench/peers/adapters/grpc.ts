/**
 * @grpc/grpc-js unary calls over plaintext HTTP/2. The body travels as JSON
 * text in a one-field message (`echo.proto`); both sides parse and
 * stringify it, so the JSON work per call is the same as the other
 * libraries'.
 */
import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { HOST, within, type Adapter } from '../adapter.js'

interface Body {
  json: string
}
type EchoClient = grpc.Client & {
  Call(request: Body, callback: (error: grpc.ServiceError | null, response?: Body) => void): grpc.ClientUnaryCall
}
interface EchoPackage {
  bench: { Echo: grpc.ServiceClientConstructor & { service: grpc.ServiceDefinition } }
}

function load(): EchoPackage['bench']['Echo'] {
  const definition = protoLoader.loadSync(fileURLToPath(new URL('../echo.proto', import.meta.url)), { keepCase: true })
  return (grpc.loadPackageDefinition(definition) as unknown as EchoPackage).bench.Echo
}

const adapter: Adapter = {
  id: 'grpc',
  label: '@grpc/grpc-js',
  description: 'grpc-js Server and client from echo.proto via proto-loader, insecure credentials; unary Call({ json }), JSON parsed and re-stringified by the server',
  async serve() {
    const Echo = load()
    const server = new grpc.Server()
    server.addService(Echo.service, {
      Call: (call: grpc.ServerUnaryCall<Body, Body>, callback: grpc.sendUnaryData<Body>) => callback(null, { json: JSON.stringify(JSON.parse(call.request.json)) }),
    })
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${HOST}:0`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error)))
    })
    return {
      info: { port },
      close: () => within(new Promise<void>((resolve) => server.tryShutdown(() => resolve())), 2000, 'grpc shutdown').catch(() => server.forceShutdown()),
    }
  },
  async connect(info) {
    const Echo = load()
    const client = new Echo(`${HOST}:${info.port}`, grpc.credentials.createInsecure()) as unknown as EchoClient
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (error) => (error === undefined || error === null ? resolve() : reject(error))))
    const call = (body: unknown): Promise<unknown> =>
      new Promise((resolve, reject) => {
        client.Call({ json: JSON.stringify(body) }, (error, response) => {
          if (error !== null) reject(error)
          else resolve(JSON.parse(response?.json ?? 'null'))
        })
      })
    return {
      call,
      close: async () => {
        client.close()
      },
    }
  },
}

export default adapter
