import { spawn } from 'node:child_process';
import { childScript } from './child-scripts.ts';
import type { WireReport } from './postgres-wire.ts';

export interface WireRecorder {
  /** The recorder's loopback port: point a client here instead of at the target. */
  port: number;
  /** Everything the clients sent through it so far. */
  report(): Promise<WireReport>;
  stop(): Promise<void>;
}

/** A proxy to `target`, in its own process, reading what PostgreSQL clients send through it. */
export async function startWireRecorder(target: { host: string; port: number }): Promise<WireRecorder> {
  const child = spawn(process.execPath, [childScript('wire-recorder'), target.host, String(target.port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  /** The next complete stdout line after `from` characters. */
  const lineAfter = (from: number) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const end = out.indexOf('\n', from);
        if (end < 0) return;
        child.stdout!.off('data', check);
        resolve(out.slice(from, end));
      };
      child.stdout!.on('data', check);
      exited.then(() => reject(new Error(`the wire recorder exited:\n${out}`)));
      check();
    });
  const port = Number(/^LISTENING (\d+)$/.exec(await lineAfter(0))?.[1]);
  return {
    port,
    async report() {
      const from = out.length;
      child.stdin!.write('report\n');
      return JSON.parse(await lineAfter(from)) as WireReport;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
