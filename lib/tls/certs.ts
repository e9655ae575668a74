import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generate } from 'selfsigned'
import { CioError, codes } from '../errors.js'

/** A PEM private key and certificate. */
export interface KeyPair {
  key: string
  cert: string
}

/** What `generateCerts()` makes: a CA, a server certificate and client certificates it signed. */
export interface CertSet {
  /** The certificate authority; give `ca.cert` as `ca` (or `root`) to both sides. */
  ca: KeyPair
  /** Server certificate for localhost, 127.0.0.1 and ::1. */
  server: KeyPair
  /** Client certificates by common name, for mutual TLS. */
  clients: Record<string, KeyPair>
}

export interface GenerateCertsOptions {
  /** Common names of the client certificates to make. @default [] */
  clients?: readonly string[]
  /** Common name of the server certificate. @default 'localhost' */
  serverName?: string
  /** Days the certificates stay valid. @default 365 */
  days?: number
}

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * Makes a development CA and the server and client certificates it signs.
 * EC P-256 keys with SHA-256 signatures: quick to make and accepted by
 * OpenSSL 3's default security level.
 */
export async function generateCerts(options: GenerateCertsOptions = {}): Promise<CertSet> {
  const clients = options.clients ?? []
  const serverName = options.serverName ?? 'localhost'
  const days = options.days ?? 365
  if (!Number.isFinite(days) || days <= 0) {
    throw new CioError(codes.INVALID_OPTION, `The "days" option must be a positive number of days, got ${String(days)}.`, { details: { option: 'days' } })
  }
  const seen = new Set<string>()
  for (const name of clients) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new CioError(codes.INVALID_OPTION, 'Every client certificate name must be a non-empty string.', { details: { option: 'clients' } })
    }
    if (seen.has(name)) {
      throw new CioError(codes.INVALID_OPTION, `The client certificate name "${name}" is given twice.`, { details: { option: 'clients', name } })
    }
    seen.add(name)
  }

  const notBeforeDate = new Date(Date.now() - 60_000)
  const notAfterDate = new Date(notBeforeDate.getTime() + days * DAY_MS)
  const base = { keyType: 'ec', algorithm: 'sha256', notBeforeDate, notAfterDate } as const

  const caPems = await generate([{ name: 'commonName', value: 'cio development CA' }], {
    ...base,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  })
  const ca: KeyPair = { key: caPems.private, cert: caPems.cert }

  const serverPems = await generate([{ name: 'commonName', value: serverName }], {
    ...base,
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: serverName },
          ...(serverName === 'localhost' ? [] : [{ type: 2 as const, value: 'localhost' }]),
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  })

  const clientPairs: Record<string, KeyPair> = Object.create(null) as Record<string, KeyPair>
  for (const name of clients) {
    const pems = await generate([{ name: 'commonName', value: name }], {
      ...base,
      ca,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', clientAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: name }] },
      ],
    })
    clientPairs[name] = { key: pems.private, cert: pems.cert }
  }

  return { ca, server: { key: serverPems.private, cert: serverPems.cert }, clients: clientPairs }
}

/** File names `writeCerts()` uses, relative to its directory. */
export interface CertFiles {
  caCert: string
  caKey: string
  serverCert: string
  serverKey: string
  clients: Record<string, { cert: string; key: string }>
}

/**
 * Writes a certificate set as PEM files into `dir`: `ca.pem`, `ca-key.pem`,
 * `server.pem`, `server-key.pem`, `<client>.pem`, `<client>-key.pem`.
 * Private keys are written with mode 0600. Returns the paths written.
 */
export async function writeCerts(dir: string, set: CertSet): Promise<CertFiles> {
  await mkdir(dir, { recursive: true })
  const put = async (name: string, text: string, secret: boolean): Promise<string> => {
    const path = join(dir, name)
    const mode = secret ? 0o600 : 0o644
    await writeFile(path, text, { mode })
    // `mode` applies only to a file writeFile creates: an existing key file keeps its old mode without this.
    await chmod(path, mode)
    return path
  }
  const files: CertFiles = {
    caCert: await put('ca.pem', set.ca.cert, false),
    caKey: await put('ca-key.pem', set.ca.key, true),
    serverCert: await put('server.pem', set.server.cert, false),
    serverKey: await put('server-key.pem', set.server.key, true),
    clients: Object.create(null) as CertFiles['clients'],
  }
  for (const [name, pair] of Object.entries(set.clients)) {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) {
      throw new CioError(codes.INVALID_ARGUMENT, `The client name "${name}" cannot be used as a file name; use letters, digits, dot, dash and underscore.`, { details: { name } })
    }
    files.clients[name] = { cert: await put(`${name}.pem`, pair.cert, false), key: await put(`${name}-key.pem`, pair.key, true) }
  }
  return files
}
