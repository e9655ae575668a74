import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, AgentServer } from '../lib/agent/index.js'
import { generateCerts, writeCerts } from '../lib/tls/certs.js'
import type { Output } from './output.js'

export const demoHelp = `usage: cio demo [--json]

The main job, no arguments needed: makes throwaway certificates in a
temporary directory, starts a TLS agent server on a free loopback port,
connects three agents, shows agent-to-server calls, server-to-agent calls
and a sendAll, prints a summary, removes everything and exits 0.`

const AGENTS = 3

/** `cio demo`: the whole agent story on loopback, cleaned up afterwards. */
export async function demoCommand(out: Output): Promise<void> {
  const started = performance.now()
  const dir = await mkdtemp(join(tmpdir(), 'cio-demo-'))
  const closers: Array<() => Promise<void>> = []
  try {
    out.say('[1/5] making a CA and a server certificate in a temporary directory...')
    const files = await writeCerts(dir, await generateCerts())
    // A throwaway secret: real deployments read theirs from CIO_SECRET or a file.
    const secret = `demo-${process.pid}-${Date.now()}`

    out.say('[2/5] starting a TLS agent server on a free loopback port...')
    const server = new AgentServer({ secret, port: 0, host: '127.0.0.1', protocol: AgentServer.TLS, key: files.serverKey, cert: files.serverCert })
    closers.push(() => server.close())
    server.onHook('add', (message: { a: number; b: number }, _socket, agent) => ({ sum: message.a + message.b, by: agent.name }))
    const { port } = await server.ready()
    out.record({ event: 'listening', port }, `      listening on 127.0.0.1:${port}`)

    out.say(`[3/5] connecting ${AGENTS} agents (mutual proof of the shared secret, which never travels)...`)
    const agents: Agent[] = []
    // One after another: names are given in the order handshakes finish, and the demo's output should not depend on the machine's load.
    for (let i = 0; i < AGENTS; i++) {
      const agent = new Agent({ host: `tls://localhost:${port}`, secret, ca: files.caCert })
      closers.push(() => agent.close())
      agent.onHook('whoami', () => ({ name: agent.name, pid: process.pid }))
      agents.push(agent)
      await new Promise<void>((resolve, reject) => {
        agent.once('ready', () => resolve())
        agent.once('error', reject)
      })
    }
    out.record({ event: 'agents', names: agents.map((agent) => agent.name) }, `      agents ready: ${agents.map((agent) => agent.name).join(', ')}`)

    out.say('[4/5] agent -> server calls and server -> agent calls...')
    for (const [index, agent] of agents.entries()) {
      const answer = (await agent.send('add', { a: index, b: 10 })) as { sum: number; by: string }
      out.record({ event: 'agentCall', agent: agent.name, answer }, `      ${agent.name} asked the server add(${index}, 10) = ${answer.sum}`)
    }
    const first = agents[0]?.name ?? 'A1'
    const whoami = (await server.sendTo(first, 'whoami')) as { name: string }
    out.record({ event: 'serverCall', agent: first, answer: whoami }, `      the server asked ${first} whoami: ${JSON.stringify(whoami)}`)

    out.say('[5/5] sendAll from the server to every agent...')
    const all = await server.sendAll('whoami')
    out.record({ event: 'sendAll', answers: all }, `      ${Object.keys(all).length} answers: ${Object.keys(all).join(', ')}`)

    const elapsed = Math.round(performance.now() - started)
    out.record({ event: 'summary', agents: AGENTS, tls: true, ms: elapsed }, `demo done: ${AGENTS} agents over TLS, ${AGENTS} agent calls, 1 server call, 1 sendAll, in ${elapsed} ms`)
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
}
