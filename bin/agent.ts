import { parseArgs } from 'node:util'
import { Agent, FileStore } from '../lib/agent/index.js'
import { loadHooks } from './hooks.js'
import type { Output } from './output.js'
import { readSecret } from './secret.js'
import { certOptions, secretFlags, tlsFlags } from './tls-flags.js'
import { UsageError } from './usage.js'
import { drainAndReport, drainTimeout } from './drain.js'

export const agentUsage = 'usage: cio agent --server URL [--ca F] [--cert F --key F] [--store FILE] [--hooks MODULE] [--drain-timeout MS] [--json]'

export const agentHelp = `${agentUsage}

Runs an agent until interrupted; it reconnects by itself. On SIGTERM or SIGINT it
drains (its calls in flight finish, new ones are refused) and closes.
  --server URL    host:port, tcp://host:port or tls://host:port (default port 7788)
  --ca F          CA file to verify a TLS server with
  --cert/--key F  client certificate for servers that ask for one
  --store FILE    file data store: the agent keeps its name across restarts
  --hooks MODULE  module whose default export is { action: handler } or a function given the agent
  --drain-timeout MS  on SIGTERM or SIGINT, time the calls in flight get to finish (default 10000)
  --json          one JSON object per line instead of text
The secret comes from $CIO_SECRET (or --secret-env NAME, or --secret-file FILE).`

/** `cio agent`: an Agent with hooks from a module, reconnecting until stopped. */
export async function agentCommand(argv: string[], out: Output, stop: Promise<void>): Promise<void> {
  let values
  try {
    ;({ values } = parseArgs({ args: argv, options: { server: { type: 'string' }, store: { type: 'string' }, hooks: { type: 'string' }, 'drain-timeout': { type: 'string' }, json: { type: 'boolean' }, ...tlsFlags, ...secretFlags }, strict: true }))
  } catch (error) {
    throw new UsageError((error as Error).message, agentUsage)
  }
  if (values.server === undefined) throw new UsageError('--server URL is required', agentUsage)
  const drainMs = drainTimeout(values['drain-timeout'], agentUsage)
  const secret = readSecret(values, agentUsage, out.warn)
  const hooks = values.hooks === undefined ? undefined : await loadHooks(values.hooks, agentUsage)
  const agent = new Agent({
    host: values.server,
    secret,
    ...certOptions(values),
    ...(values.store === undefined ? {} : { dataStore: FileStore({ file: values.store }) }),
  })
  if (typeof hooks === 'function') hooks(agent)
  else if (hooks !== undefined) agent.onHook(hooks as never)
  agent.on('ready', () => out.record({ event: 'ready', name: agent.name }, `agent ${agent.name ?? '?'} ready`))
  agent.on('reconnected', () => out.record({ event: 'reconnected', name: agent.name }, `agent ${agent.name ?? '?'} reconnected`))
  agent.on('disconnected', () => out.record({ event: 'disconnected', name: agent.name }, `agent ${agent.name ?? '?'} disconnected; reconnecting`))
  const fatal = new Promise<never>((_resolve, reject) => {
    agent.on('error', (error: Error & { code?: string }) => {
      out.warn(`cio agent: ${error.code ?? 'ERROR'}: ${error.message}`)
      if (error.code === Agent.WRONG_SECRET) reject(error)
    })
  })
  try {
    await Promise.race([stop, fatal])
    await drainAndReport(agent, drainMs, out)
  } finally {
    await agent.close()
  }
}
