/**
 * How an agent classifies a failed connection attempt, so that failures a
 * person must fix (a certificate the agent does not trust, a wrong secret)
 * are reported on every attempt instead of vanishing into the reconnect loop.
 */
import { CioError, codes, describeError } from '../../errors.js'

/** Node and OpenSSL codes of a TLS handshake or certificate check that failed. */
const TLS_FAILURE_CODE = /^(ERR_TLS_|ERR_SSL_)|CERT|ISSUER|SIGNATURE/

/**
 * `TLS_FAILED` for a failure caused by TLS (wrong CA, wrong name, expired
 * certificate, no common protocol version), else undefined.
 */
export function tlsFailure(failure: CioError): CioError | undefined {
  const cause = failure.cause as { code?: unknown } | undefined
  const code = cause?.code
  if (typeof code !== 'string' || !TLS_FAILURE_CODE.test(code)) return undefined
  return new CioError(codes.TLS_FAILED, `The TLS connection to the server failed (${code}): ${describeError(cause)}`, { cause, details: { tlsCode: code } })
}
