/**
 * Every name cio's agents keep from websocket-agent, in one place.
 *
 * websocket-agent (1.2) was the package cio's agents replace: an
 * `AgentServer` and `Agent` pair that authenticated with a shared secret and
 * called each other over socket.io. Its users' code keeps running on cio, so
 * its names are accepted beside cio's own:
 *
 *   - transports `AgentServer.WS` / `AgentServer.WSS` for TCP / TLS (no
 *     WebSocket framing is involved) and URLs `http://` / `https://`;
 *   - the server certificate options `privateKey` / `certificate` and
 *     `wssOptions` for `tlsOptions`;
 *   - `onTunnel` for `onHook` and `tunnel` for `send` (methods of the
 *     classes, one line each);
 *   - `Agent.conf(conf).connect(url)`, options given as a promise (in
 *     `client/agent.ts`);
 *   - `FileStore(...)` callable without `new`;
 *   - its data store documents, an agent's `{ id }` and a server's
 *     `{ lastName }`, read when no cio document is there (and rewritten
 *     in cio's format: `{ name }`, `{ counter }`);
 *   - the error codes as static constants (`err == Agent.TIMEOUT`, through
 *     `CioError#toString()`) and as named exports.
 *
 * The tables here are read by the option parsers; nothing here runs on the
 * per-message path.
 */
import { AtomicFileStore, type FileStoreOptions, type StoreDoc } from './store.js'
import { codes } from '../errors.js'

/** websocket-agent's transport names, and the cio transport each stands for. */
export const LEGACY_PROTOCOLS = { ws: 'tcp', wss: 'tls' } as const

/** websocket-agent's URL schemes, and the cio scheme each stands for. */
export const LEGACY_SCHEMES = { http: 'tcp', https: 'tls' } as const

/** websocket-agent's certificate option names on a server, and the Node names they stand for. */
export const LEGACY_CERT_OPTIONS = { privateKey: 'key', certificate: 'cert' } as const

/** websocket-agent's name for `tlsOptions`. */
export const LEGACY_TLS_OPTIONS = 'wssOptions'

/** The key of an agent's name in a websocket-agent data store document (cio's is `name`). */
export const LEGACY_AGENT_NAME_KEY = 'id'

/** The key of the last name given out in a websocket-agent server's data store document (cio keeps `counter`). */
export const LEGACY_LAST_NAME_KEY = 'lastName'

/** `FileStore` works with and without `new`, as websocket-agent code calls it both ways. */
export interface FileStoreConstructor {
  /** Creates a file store; see `AtomicFileStore`. */
  new <Doc = StoreDoc>(options: FileStoreOptions): AtomicFileStore<Doc>
  /** Creates a file store without `new`, as in `FileStore({ file: 'store.json' })`. */
  <Doc = StoreDoc>(options: FileStoreOptions): AtomicFileStore<Doc>
  readonly prototype: AtomicFileStore
}

/** A file store: `AtomicFileStore`, callable with or without `new`. */
export type FileStore<Doc = StoreDoc> = AtomicFileStore<Doc>

/**
 * Creates an atomic JSON file store. `FileStore({ file })` and
 * `new FileStore({ file })` give the same thing, and `instanceof FileStore`
 * holds for both.
 */
export const FileStore = function FileStore(options: FileStoreOptions) {
  // Returning an object from a function called with `new` makes that object the result.
  return new AtomicFileStore(options)
} as FileStoreConstructor
Object.defineProperty(FileStore, 'prototype', { value: AtomicFileStore.prototype })

// The agent codes as named exports of `cio/agent` (`import { TIMEOUT } from 'cio/agent'`).
// ES modules need each name written out; this list is frozen: codes added
// later are reached through `codes` or the classes' static constants.
export const {
  TIMEOUT, UNKNOWN_ACTION, OFFLINE, UNKNOWN_AGENT, NO_CONNECTED_AGENTS, AGENT_NOT_CONNECTED, WRONG_SECRET, DUPLICATE_ID, NOT_AUTHORIZED,
  INVALID_MESSAGE, INTERNAL_ERROR, DISCONNECTED, HANDSHAKE_TIMEOUT, HEARTBEAT_TIMEOUT, SEND_ALL_FAILED, STORE_FAILED, CLOSED, LISTEN_FAILED,
} = codes
