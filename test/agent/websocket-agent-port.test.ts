import { readFileSync } from 'node:fs'
import t from 'tap'
import { runInstalled } from '../helpers/installed.js'

// websocket-agent code, ported by changing its require lines only.
const port = readFileSync(new URL('../fixtures/websocket-agent/port.cjs', import.meta.url), 'utf8')

t.test('websocket-agent port - the document\'s server and agent, its hook signatures, err == Agent.TIMEOUT, agentNameFormat and its store files run on cio', async (t) => {
  const { code, stdout, stderr } = await runInstalled(t, 'port.cjs', port, {
    // store files left by websocket-agent 1.2
    'serverStore.json': JSON.stringify({ lastName: 'A0007' }),
    'clientStore.json': JSON.stringify({ id: 'A0003' }),
  })
  t.equal(code, 0, `exits 0 by itself; stderr: ${stderr}`)
  const report = JSON.parse(stdout) as Record<string, unknown>
  t.same(report, {
    someCommand: { message: 'received', hello: 'world', from: 'A0003', socket: true },
    otherCommand: 'MYERRCODE: refused on purpose',
    slowCommand: 'timed out',
    whoAmI: { name: 'A0008', firstTime: true },
    welcome: { thanks: 'Welcome A0003', socket: true },
    sendAll: { A0003: { healthy: true }, A0008: { healthy: 'too' } },
    sendToUnknown: 'unknown agent',
    afterClose: 'offline',
    serverStore: { counter: 8 },
    clientStore: { name: 'A0003' },
  })
})
