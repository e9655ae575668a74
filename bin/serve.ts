import { parseArgs } from 'node:util'
import { AgentServer, FileStore } from '../lib/agent/index.js'
import { loadHooks } from './hooks.js'
import { loadRedisEntry } from './redis.js'
import type { Output } from './output.js'
import { readSecret } from './secret.js'
import { certOptions, secretFlags, tlsFlags } from './tls-flags.js'
import { UsageError } from './usage.js'
import { drainAndReport, drainTimeout } from './drain.js'

export const serveUsage = 'usage: cio serve [--port N] [--host H] [--tls --cert F --key F [--ca F --client-certs]] [--name-format A#] [--store FILE] [--hooks MODULE] [--redis URL [--namespace NAME]] [--drain-timeout MS] [--json]'

export const serveHelp = `${serveUsage}

Runs an agent server until interrupted: on SIGTERM or SIGINT (Ctrl-C) it drains
(agents are told to move, calls in flight finish) and closes.
  --port N          port to listen on (default 7788; 0 picks a free one)
  --host H          address to listen on (default 127.0.0.1)
  --tls             use TLS; needs --cert and --key (PEM files)
  --ca F            CA file; with --client-certs, agents must present a certificate it signed
  --name-format F   agent names, a run of # is the counter (default A#)
  --store FILE      file data store: keeps the name counter across restarts
  --hooks MODULE    module whose default export is { action: handler } or a function given the server
  --redis URL       join the cluster of agent servers sharing this Redis (redis://, rediss:// or a socket path)
  --namespace NAME  the cluster's namespace in Redis (default cio)
  --drain-timeout MS on SIGTERM or SIGINT, time the calls in flight get to finish (default 10000)
  --json            one JSON object per line instead of text
The secret comes from $CIO_SECRET (or --secret-env NAME, or --secret-file FILE).`

/** `cio serve`: an AgentServer with hooks from a module; prints agents joining and leaving. */
export async function serveCommand(argv: string[], out: Output, stop: Promise<void>): Promise<void> {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, host: { type: 'string' }, tls: { type: 'boolean' }, 'client-certs': { type: 'boolean' }, 'name-format': { type: 'string' }, store: { type: 'string' }, hooks: { type: 'string' }, redis: { type: 'string' }, namespace: { type: 'string' }, 'drain-timeout': { type: 'string' }, json: { type: 'boolean' }, ...tlsFlags, ...secretFlags },
      strict: true,
    }))
  } catch (error) {
    throw new UsageError((error as Error).message, serveUsage)
  }
  const port = values.port === undefined ? 7788 : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got "${values.port}"`, serveUsage)
  if (values.tls === true && (values.cert === undefined || values.key === undefined)) throw new UsageError('--tls needs --cert and --key', serveUsage)
  if (values['client-certs'] === true && values.ca === undefined) throw new UsageError('--client-certs needs --ca', serveUsage)
  const drainMs = drainTimeout(values['drain-timeout'], serveUsage)
  const secret = readSecret(values, serveUsage, out.warn)
  const hooks = values.hooks === undefined ? undefined : await loadHooks(values.hooks, serveUsage)
  if (values.namespace !== undefined && values.redis === undefined) throw new UsageError('--namespace needs --redis', serveUsage)
  const cluster = values.redis === undefined ? undefined : (await loadRedisEntry()).redisCluster({ redis: values.redis, ...(values.namespace === undefined ? {} : { namespace: values.namespace }) })

  const server = new AgentServer({
    secret,
    port,
    host: values.host ?? '127.0.0.1',
    protocol: values.tls === true ? AgentServer.TLS : AgentServer.TCP,
    ...certOptions(values),
    ...(values['client-certs'] === true ? { requestCert: true, rejectUnauthorized: true } : {}),
    ...(values['name-format'] === undefined ? {} : { agentNameFormat: values['name-format'] }),
    ...(values.store === undefined ? {} : { dataStore: FileStore({ file: values.store }) }),
    ...(cluster === undefined ? {} : { cluster }),
  })
  if (typeof hooks === 'function') hooks(server)
  else if (hooks !== undefined) server.onHook(hooks as never)
  server.on('error', (error) => out.warn(`cio serve: ${String((error as { code?: string }).code ?? 'ERROR')}: ${error.message}`))
  server.on('agentConnected', (agent) => out.record({ event: 'agentConnected', name: agent.name, firstTime: agent.firstTime, address: agent.socket.remoteAddress }, `+ ${agent.name}${agent.firstTime ? ' (new)' : ''} joined from ${agent.socket.remoteAddress ?? '?'}`))
  server.on('agentDisconnected', (agent) => out.record({ event: 'agentDisconnected', name: agent.name }, `- ${agent.name} left`))
  server.on('nodeJoined', (node) => out.record({ event: 'nodeJoined', node }, `node ${node} joined the cluster`))
  server.on('nodeLost', (node) => out.record({ event: 'nodeLost', node }, `node ${node} was lost`))
  server.on('clusterDown', () => out.record({ event: 'clusterDown' }, 'Redis cannot be reached: local agents keep working'))
  server.on('clusterUp', () => out.record({ event: 'clusterUp' }, 'Redis is reachable again'))
  try {
    const address = await server.ready()
    out.record({ event: 'listening', host: address.address, port: address.port, tls: values.tls === true, node: server.nodeId }, `agent server listening on ${address.address}:${address.port} (${values.tls === true ? 'TLS' : 'TCP'})${server.nodeId === undefined ? '' : `, cluster node ${server.nodeId}`}`)
    await stop
    await drainAndReport(server, drainMs, out)
  } finally {
    await server.close()
  }
  out.say('agent server closed')
}
