/**
 * Parses an agent's `host` option into where to connect and whether to use
 * TLS. Accepted forms:
 *
 *   host             host:port          [::1]          [::1]:7788
 *   tcp://host:port  tls://host:port    http://host:port (TCP)  https://host:port (TLS)
 *
 * websocket-agent's `http://`/`https://` URLs keep working; a trailing `/` is
 * allowed, but paths, queries, credentials and fragments are refused rather
 * than silently dropped.
 */
import { isIP } from 'node:net'
import { CioError, codes } from '../errors.js'
import { LEGACY_SCHEMES } from './compat.js'

/** The port agents use when none is given. */
export const DEFAULT_AGENT_PORT = 7788

/** Where an agent connects. */
export interface AgentAddress {
  /** Host name or IP address (IPv6 without brackets, as `net.connect` wants it). */
  host: string
  port: number
  /** True for TLS (`tls://`, `https://`). */
  secure: boolean
}

const CIO_SCHEMES = { tcp: false, tls: true } as const
/** Scheme name to "is TLS", websocket-agent's schemes included. */
const SCHEMES: Readonly<Record<string, boolean>> = {
  ...CIO_SCHEMES,
  ...Object.fromEntries(Object.entries(LEGACY_SCHEMES).map(([name, cio]) => [name, CIO_SCHEMES[cio]])),
}

// Each dot-separated label: letters, digits, '_' and inner '-', 1 to 63 long.
const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/

/**
 * Parses `value` (the option named `option`). `secure` is the default when
 * the value has no scheme. Throws `INVALID_OPTION` naming the option and the
 * value when it is not one of the accepted forms.
 */
export function parseAgentHost(value: unknown, option = 'host', secure = false): AgentAddress {
  const invalid = (why: string): CioError =>
    new CioError(codes.INVALID_OPTION, `The "${option}" option ${why}, got ${JSON.stringify(value) ?? String(value)}.`, { details: { option, value } })
  if (typeof value !== 'string' || value === '') throw invalid('must be a string such as "localhost:7788" or "tls://example.com:7788"')

  let rest = value
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)
  if (scheme) {
    const name = (scheme[1] as string).toLowerCase()
    if (!Object.hasOwn(SCHEMES, name)) throw invalid('must use tcp://, tls://, http:// or https://')
    secure = SCHEMES[name] as boolean
    rest = value.slice(scheme[0].length)
    if (rest.endsWith('/')) rest = rest.slice(0, -1)
  }
  if (/[/?#@\s]/.test(rest)) throw invalid('must be only a host and a port (no path, query, credentials or spaces)')

  let host: string
  let port: string | undefined
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']')
    host = rest.slice(1, close)
    const after = rest.slice(close + 1)
    if (close < 0 || isIP(host) !== 6) throw invalid('must hold an IPv6 address between the brackets')
    if (after !== '' && !after.startsWith(':')) throw invalid('must have ":port" after "]"')
    if (after !== '') port = after.slice(1)
  } else {
    const parts = rest.split(':')
    if (parts.length > 2) throw invalid('must put an IPv6 address in brackets, as in "[::1]:7788"')
    host = parts[0] as string
    port = parts[1]
    if (!isHostName(host)) throw invalid('must name a valid host')
  }
  return { host, port: port === undefined ? DEFAULT_AGENT_PORT : parsePort(port, invalid), secure }
}

function isHostName(host: string): boolean {
  return host.length > 0 && host.length <= 253 && (isIP(host) === 4 || host.split('.').every((label) => HOST_LABEL.test(label)))
}

function parsePort(port: string, invalid: (why: string) => CioError): number {
  const n = /^\d{1,5}$/.test(port) ? Number(port) : NaN
  if (!(n >= 1 && n <= 65535)) throw invalid('must have a port from 1 to 65535')
  return n
}
