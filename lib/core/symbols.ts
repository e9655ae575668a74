/**
 * Every key under which cio keeps state on a socket, in one place (undici
 * keeps `lib/core/symbols.js` the same way). Per-connection state lives as
 * a property of the socket, an object that exists anyway, under a symbol no
 * user code can name by accident: no WeakMap entry per connection, and the
 * state goes with the socket. Each module reads and writes its own key
 * through a typed view of the socket (`SocketWithFramed` is `Socket & { [kFramed]?: FramedSocket }`),
 * so its hot paths are one property load.
 *
 * Per-server state (the relistener's, the server-client chain's) is kept in
 * WeakMaps keyed by the server: one entry per server, not per connection.
 */

/** The socket's `FramedSocket` (`lib/frame/framed-socket.ts`). */
export const kFramed = Symbol('cio.framed')
/** The socket's `RpcPeer` (`lib/rpc/peer.ts`). */
export const kPeer = Symbol('cio.rpcPeer')
/** The server a guarded socket's errors are reported to, or null for a client (`lib/core/socket-guard.ts`). */
export const kGuardServer = Symbol('cio.guardServer')
/** The first error a guarded socket emitted without setting `socket.errored` (`lib/core/socket-guard.ts`). */
export const kSocketError = Symbol('cio.socketError')
/** The socket's agent connection on the accepting side (`lib/agent/server/connection.ts`). */
export const kServerConnection = Symbol('cio.agentServerConnection')
/** The socket's agent connection on the agent's side (`lib/agent/client/connection.ts`). */
export const kClientConnection = Symbol('cio.agentClientConnection')
/** On an agent server's raw accepted sockets until admission: the deadline and the gate (`lib/agent/server/admission.ts`). */
export const kAdmission = Symbol('cio.agentAdmission')
