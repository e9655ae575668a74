import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { generateCerts, writeCerts } from '../lib/tls/certs.js'
import { UsageError } from './usage.js'

export const certsUsage = 'usage: cio certs --out DIR [--client NAME ...] [--days N]'

export const certsHelp = `${certsUsage}

Makes a development CA, a server certificate for localhost (127.0.0.1, ::1)
and one client certificate per --client NAME, all signed by that CA, and
writes them as PEM files into DIR. Private keys get mode 0600.`

/** `cio certs`: writes a CA, a server certificate and client certificates. */
export async function certsCommand(argv: string[], print: (line: string) => void): Promise<void> {
  let values
  try {
    ;({ values } = parseArgs({ args: argv, options: { out: { type: 'string' }, client: { type: 'string', multiple: true }, days: { type: 'string' } }, strict: true, allowPositionals: false }))
  } catch (error) {
    throw new UsageError((error as Error).message, certsUsage)
  }
  if (values.out === undefined || values.out === '') throw new UsageError('--out DIR is required', certsUsage)
  const days = values.days === undefined ? undefined : Number(values.days)
  if (days !== undefined && !(days > 0)) throw new UsageError('--days must be a positive number', certsUsage)
  const dir = resolve(values.out)
  const set = await generateCerts({ clients: values.client ?? [], ...(days === undefined ? {} : { days }) })
  const files = await writeCerts(dir, set)
  print(`wrote certificates to ${dir}`)
  print(`  CA      ${files.caCert}`)
  print(`  server  ${files.serverCert} (key ${files.serverKey})`)
  for (const [name, pair] of Object.entries(files.clients)) print(`  client  ${name}: ${pair.cert} (key ${pair.key})`)
}
