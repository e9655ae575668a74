/**
 * Certificate and TLS options of agents and agent servers, gathered into
 * the options cio's chains expect. Certificates may be given under Node's
 * names (`key`, `cert`, `ca`), cio's aliases (`private`, `public`, `root`)
 * or, on a server, websocket-agent's (`privateKey`, `certificate`); anything else
 * for Node's `tls` goes in `tlsOptions` (alias `wssOptions`). Files are read
 * here, so a wrong path throws `CERT_READ` from the constructor.
 */
import { readCertOptions } from '../tls/cert-values.js'
import { CioError, codes } from '../errors.js'
import { LEGACY_CERT_OPTIONS, LEGACY_TLS_OPTIONS } from './compat.js'
import { moveCertAliases } from '../core/aliases.js'
import type { CertSource, CioOptions } from '../core/options.js'


/** Options that carry key or certificate material, whatever their name. */
const MATERIAL = ['key', 'cert', 'ca', 'pfx'] as const

/**
 * Collects the TLS options named in `keys` (plus `tlsOptions`/`wssOptions`)
 * from `options` into one object with Node's names and file contents read.
 * Throws `INVALID_OPTION` when two names of one thing are both given.
 */
export function collectTls(options: Record<string, unknown>, keys: readonly string[]): CioOptions {
  const tlsOptions = options.tlsOptions
  const legacy = options[LEGACY_TLS_OPTIONS]
  if (tlsOptions !== undefined && legacy !== undefined) {
    throw new CioError(codes.INVALID_OPTION, `The options "tlsOptions" and "${LEGACY_TLS_OPTIONS}" name the same thing; give only one of them.`, {
      details: { option: LEGACY_TLS_OPTIONS, conflictsWith: 'tlsOptions' },
    })
  }
  const extra = tlsOptions ?? legacy
  const extraName = tlsOptions !== undefined ? 'tlsOptions' : LEGACY_TLS_OPTIONS
  if (extra !== undefined && (typeof extra !== 'object' || extra === null || Array.isArray(extra))) {
    throw new CioError(codes.INVALID_OPTION, `The "${extraName}" option must be an object of options for Node's tls module.`, { details: { option: extraName } })
  }
  // Keyed by any name until the aliases are resolved: these are the user's options, not yet checked.
  const merged: Record<string, unknown> = { ...(extra as Record<string, unknown> | undefined) }
  for (const key of keys) if (options[key] !== undefined) merged[key] = options[key]
  for (const [alias, name] of Object.entries(LEGACY_CERT_OPTIONS)) {
    if (merged[alias] === undefined) continue
    if (merged[name] !== undefined || merged[name === 'key' ? 'private' : 'public'] !== undefined) {
      throw new CioError(codes.INVALID_OPTION, `The option "${alias}" names the same thing as "${name}"; give only one of them.`, { details: { option: alias, conflictsWith: name } })
    }
    merged[name] = merged[alias]
    delete merged[alias]
  }
  return readCertOptions(moveCertAliases(merged as CioOptions))
}

/**
 * True when the collected options hold material that only makes sense over
 * TLS: a key or certificate of one's own, plus, for an agent (`withCa`),
 * CAs to check the server with.
 */
export function hasTlsMaterial(options: CioOptions, withCa: boolean): boolean {
  return MATERIAL.some((name) => options[name] !== undefined && (withCa || name !== 'ca'))
}

/**
 * Throws `INVALID_OPTION` for option names not in `known`: a misspelt
 * option would otherwise be ignored in silence (a `heartbeatIntervall`
 * leaving the default in force, say).
 */
export function rejectUnknown(options: Record<string, unknown>, known: ReadonlySet<string>, owner: string): void {
  for (const name of Object.keys(options)) {
    if (!known.has(name)) {
      throw new CioError(codes.INVALID_OPTION, `${owner} has no "${name}" option (known: ${[...known].sort().join(', ')}).`, { details: { option: name } })
    }
  }
}
