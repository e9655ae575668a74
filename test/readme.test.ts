import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { needRedis, startRedis } from './helpers/redis.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** The README's runnable blocks: fenced as ```js example, or ```js example redis for those that need a Redis (the test starts one). */
const examples = [...readme.matchAll(/```js example( redis)?\n([\s\S]*?)```/g)].map((match) => ({ code: match[2]!, redis: match[1] !== undefined }))

function run(code: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '--eval', code], { cwd: root, timeout: 30_000, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr })
    })
  })
}

t.ok(examples.length >= 3, 'the README has runnable examples')

examples.forEach(({ code, redis }, index) => {
  const firstLine = code.split('\n').find((line) => line.trim() !== '' && !line.startsWith('import')) ?? ''
  t.test(`readme - example ${index + 1} runs and prints what it says (${firstLine.trim().slice(0, 40)})`, async (t) => {
    const expected = [...code.matchAll(/\/\/ prints: (.*)$/gm)].map((match) => match[1]!.trim())
    let env: NodeJS.ProcessEnv = {}
    if (redis) {
      if (!needRedis(t)) return
      env = { REDIS_URL: (await startRedis(t)).path }
    }
    const result = await run(code, env)
    t.equal(result.code, 0, `exits 0 by itself${result.stderr === '' ? '' : `; stderr: ${result.stderr}`}`)
    const lines = result.stdout.split('\n').map((line) => line.trim())
    for (const line of expected) t.ok(lines.includes(line), `prints "${line}"`)
  })
})
