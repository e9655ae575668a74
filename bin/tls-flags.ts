import type { ParseArgsConfig } from 'node:util'

/** Certificate flags shared by serve, agent and call: file paths, read by cio. */
export const tlsFlags = {
  cert: { type: 'string' },
  key: { type: 'string' },
  ca: { type: 'string' },
} as const satisfies ParseArgsConfig['options']

/** Secret flags shared by every command that joins or runs an agent server. */
export const secretFlags = {
  secret: { type: 'string' },
  'secret-file': { type: 'string' },
  'secret-env': { type: 'string' },
} as const satisfies ParseArgsConfig['options']

export interface TlsFiles {
  cert?: string | undefined
  key?: string | undefined
  ca?: string | undefined
}

/** Only the flags given, so absent ones do not override defaults with undefined. */
export function certOptions(flags: TlsFiles): { cert?: string; key?: string; ca?: string } {
  const options: { cert?: string; key?: string; ca?: string } = {}
  if (flags.cert !== undefined) options.cert = flags.cert
  if (flags.key !== undefined) options.key = flags.key
  if (flags.ca !== undefined) options.ca = flags.ca
  return options
}
