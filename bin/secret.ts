import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { UsageError } from './usage.js'

/** Environment variable read for the shared secret unless --secret-env names another. */
export const DEFAULT_SECRET_ENV = 'CIO_SECRET'

export interface SecretSources {
  secret?: string | undefined
  'secret-file'?: string | undefined
  'secret-env'?: string | undefined
}

/**
 * Finds the shared secret: a file (trailing newline trimmed), else an
 * environment variable. Inline `--secret` works but is visible to every
 * user of the machine through the process list, so it earns a warning.
 */
export function readSecret(sources: SecretSources, usage: string, warn: (line: string) => void, env: NodeJS.ProcessEnv = process.env): string {
  if (sources['secret-file'] !== undefined) {
    const path = resolve(sources['secret-file'])
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (error) {
      throw new UsageError(`cannot read --secret-file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, usage)
    }
    const secret = text.replace(/\r?\n$/, '')
    if (secret === '') throw new UsageError(`--secret-file ${path} is empty`, usage)
    return secret
  }
  if (sources.secret !== undefined) {
    warn('cio: warning: --secret puts the secret in the process list; prefer CIO_SECRET or --secret-file')
    if (sources.secret === '') throw new UsageError('--secret is empty', usage)
    return sources.secret
  }
  const name = sources['secret-env'] ?? DEFAULT_SECRET_ENV
  const value = env[name]
  if (value === undefined || value === '') throw new UsageError(`no secret: set ${name}, or give --secret-file FILE`, usage)
  return value
}
