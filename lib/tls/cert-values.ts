import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { CioError, codes } from '../errors.js'
import type { CertSource, CertValue, CioOptions } from '../core/options.js'

/** The options whose values may be certificate or key material. */
export const CERT_OPTIONS = ['key', 'cert', 'ca', 'pfx'] as const

const PEM_HEADER = '-----BEGIN'

/** True when the string is PEM text rather than a file path. */
export function isPem(value: string): boolean {
  return value.trimStart().startsWith(PEM_HEADER)
}

function readOne(option: string, value: unknown, cwd: string): Buffer {
  if (Buffer.isBuffer(value)) return value
  if (typeof value !== 'string' || value.length === 0) {
    throw new CioError(codes.INVALID_OPTION, `The "${option}" option must be a file path, a PEM string, a Buffer or an array of these.`, { details: { option } })
  }
  if (isPem(value)) return Buffer.from(value)
  const path = resolve(cwd, value)
  try {
    return readFileSync(path)
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new CioError(codes.CERT_READ, `Cannot read the "${option}" option's file ${path} (${reason}).`, { cause, details: { option, path } })
  }
}

/** Reads one certificate option's value: paths become file contents, PEM text and Buffers become Buffers. */
export function readCertValue(option: string, value: CertSource, cwd = process.cwd()): CertValue {
  if (Array.isArray(value)) return value.map((item) => readOne(option, item, cwd))
  return readOne(option, value, cwd)
}

/** Replaces every certificate option in `options` with its Buffer value, in place. */
export function readCertOptions(options: CioOptions, cwd = process.cwd()): CioOptions {
  for (const option of CERT_OPTIONS) {
    const value = options[option]
    if (value !== undefined) options[option] = readCertValue(option, value, cwd)
  }
  return options
}
