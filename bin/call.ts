import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { Agent } from '../lib/agent/index.js'
import { describeFailure, type Output } from './output.js'
import { readSecret } from './secret.js'
import { certOptions, secretFlags, tlsFlags } from './tls-flags.js'
import { UsageError } from './usage.js'

export const callUsage = 'usage: cio call ACTION [JSON] --server URL [--ca F] [--cert F --key F] [--timeout MS] [--json]'

export const callHelp = `${callUsage}

Connects as an agent, sends ACTION with the JSON body to the server, prints
the answer as JSON and exits 0; on failure prints the error code and exits 1.
  --server URL   host:port, tcp://host:port or tls://host:port
  --timeout MS   how long to wait for the connection and the answer (default 10000)
The secret comes from $CIO_SECRET (or --secret-env NAME, or --secret-file FILE).`

/** `cio call`: one action, one answer. Returns the exit code. */
export async function callCommand(argv: string[], out: Output): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { server: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' }, ...tlsFlags, ...secretFlags }, strict: true, allowPositionals: true })
  } catch (error) {
    throw new UsageError((error as Error).message, callUsage)
  }
  const { values, positionals } = parsed
  const [action, json, ...extra] = positionals
  if (action === undefined || action === '') throw new UsageError('ACTION is required', callUsage)
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`, callUsage)
  if (values.server === undefined) throw new UsageError('--server URL is required', callUsage)
  const timeout = values.timeout === undefined ? 10_000 : Number(values.timeout)
  if (!(timeout > 0)) throw new UsageError(`--timeout must be a positive number of ms, got "${values.timeout}"`, callUsage)
  let body: unknown
  if (json !== undefined) {
    try {
      body = JSON.parse(json)
    } catch {
      throw new UsageError(`the body is not JSON: ${json}`, callUsage)
    }
  }
  const secret = readSecret(values, callUsage, out.warn)
  const agent = new Agent({ host: values.server, secret, timeout, reconnect: false, ...certOptions(values) })
  const deadline = AbortSignal.timeout(timeout)
  try {
    await once(agent, 'ready', { signal: deadline })
    const answer = await agent.send(action, body, timeout)
    out.record({ ok: true, result: answer ?? null }, JSON.stringify(answer ?? null))
    return 0
  } catch (error) {
    const failure = deadline.aborted && (error as Error).name === 'AbortError' ? { code: 'TIMEOUT', message: `no connection within ${timeout} ms` } : describeFailure(error)
    if (values.json === true) out.record({ ok: false, error: failure }, '')
    else out.warn(`${failure.code}: ${failure.message}`)
    return 1
  } finally {
    await agent.close()
  }
}
