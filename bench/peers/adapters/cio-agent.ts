/**
 * cio's agent layer (AgentServer and Agent) over TCP and over TLS: the
 * agent calls the server's `echo` hook with `send`. The agent layer is
 * imported at run time from lib/agent/index.js; while that module is absent
 * or broken, importing this adapter fails and the runner skips it with the
 * reason. Only the API used here is assumed (a local, loose type), so small
 * changes elsewhere in the agent API do not stop the benchmark compiling.
 */
import { generateCerts } from '../../../lib/index.js'
import { HOST, within, type Adapter, type Client, type RunningServer, type ServerInfo } from '../adapter.js'

interface AgentServerLike {
  onHook(action: string, handler: (message: unknown) => unknown): unknown
  ready(): Promise<{ port: number }>
  close(): Promise<void>
}
interface AgentLike {
  once(event: string, listener: (...args: unknown[]) => void): unknown
  send(action: string, message?: unknown, timeout?: number): Promise<unknown>
  close(): Promise<void>
}
interface AgentModule {
  AgentServer: (new (options: Record<string, unknown>) => AgentServerLike) & { TCP: unknown; TLS: unknown }
  Agent: new (options: Record<string, unknown>) => AgentLike
}

// A specifier held in a variable: type-checking does not need the module to
// exist. BENCH_AGENT_MODULE (a file URL) points the adapter at another build.
const specifier: string = process.env.BENCH_AGENT_MODULE ?? '../../../lib/agent/index.js'
const agents = (await import(specifier)) as Partial<AgentModule>
if (typeof agents.AgentServer !== 'function' || typeof agents.Agent !== 'function') {
  throw new Error('lib/agent/index.js exports no AgentServer and Agent')
}
const { AgentServer, Agent } = agents as AgentModule

const SECRET = 'bench/peers shared secret'

async function serve(tls: boolean): Promise<RunningServer> {
  const certs = tls ? await generateCerts() : undefined
  const server = new AgentServer({
    secret: SECRET,
    port: 0,
    host: HOST,
    protocol: tls ? AgentServer.TLS : AgentServer.TCP,
    ...(certs === undefined ? {} : { key: certs.server.key, cert: certs.server.cert }),
  })
  server.onHook('echo', (message) => message)
  const { port } = await server.ready()
  const info: ServerInfo = certs === undefined ? { port } : { port, ca: certs.ca.cert }
  return { info, close: () => server.close() }
}

async function connect(info: ServerInfo, tls: boolean): Promise<Client> {
  const agent = new Agent({
    host: tls ? `tls://localhost:${info.port}` : `tcp://${HOST}:${info.port}`,
    secret: SECRET,
    reconnect: false,
    ...(tls ? { ca: String(info.ca) } : {}),
  })
  try {
    await within(
      new Promise<void>((resolve, reject) => {
        agent.once('ready', () => resolve())
        agent.once('error', (error) => reject(error instanceof Error ? error : new Error(String(error))))
      }),
      10_000,
      'agent ready',
    )
  } catch (error) {
    await agent.close().catch(() => undefined)
    throw error
  }
  return { call: (body) => agent.send('echo', body), close: () => agent.close() }
}

const tcp: Adapter = {
  id: 'cio-agent',
  label: 'cio agent (TCP)',
  description: "AgentServer (protocol TCP) with onHook('echo'); Agent over tcp:// after the challenge-response handshake; agent.send('echo', body)",
  memory: true,
  serve: () => serve(false),
  connect: (info) => connect(info, false),
}

const tls: Adapter = {
  id: 'cio-agent-tls',
  label: 'cio agent (TLS)',
  description: "the same over TLS (AgentServer.TLS, certificates from cio's generateCerts(), the agent trusting its CA)",
  memory: true,
  serve: () => serve(true),
  connect: (info) => connect(info, true),
}

export default [tcp, tls]
